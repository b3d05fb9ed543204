"""The Python wheel (`make wheel`, python/buckaroo-desktop) as a pip user gets it: a
fresh venv, the wheel and buckaroo installed, `buckaroo-desktop FILE` and
`buckaroo_desktop.show(df)` from a plain Python process, under Xvfb."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from buckaroo_tauri_dev import bundle, contract, e2e, e2e_desktop, e2e_page, e2e_procs, wheel

from . import grid

pytestmark = pytest.mark.wheel
ROWS = 10_000
# A frame both sides build the same way: the test compares its first rows with the grid's.
FRAME_PY = f"""
import pandas as pd
frame = pd.DataFrame({{"id": range({ROWS}), "name": [f"row-{{i:05d}}" for i in range({ROWS})]}})
"""


@pytest.fixture(scope="module")
def built() -> dict:
    return e2e.built_manifest(wheel.OUT / "manifest.json", "wheel", "test-wheel")


def fresh_venv(where: Path, *requirements: str, no_deps: bool = False) -> tuple[Path, float]:
    """A new venv with `requirements` pip-installed; its bin/ and the install's seconds."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
    started = time.monotonic()
    subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", *(["--no-deps"] if no_deps else []), *requirements],
                   check=True, timeout=900)
    return where / "bin", time.monotonic() - started


@pytest.fixture(scope="module")
def venv(built, tmp_path_factory) -> Path:
    """The wheel with its `buckaroo` extra, as the README says, next to the tested buckaroo
    (the extra allows its whole minor line; the test stays on the version it checks)."""
    bin_dir, took = fresh_venv(tmp_path_factory.mktemp("venv") / "v", f"{built['wheel']}[buckaroo]",
                               f"buckaroo[server,polars]=={contract.tested_buckaroo()}")
    print(f"\n[wheel] pip install of the wheel + buckaroo into a fresh venv: {took:.1f} s")
    return bin_dir


@functools.cache
def viewer_binary(bin_dir: Path) -> Path:
    out = subprocess.run([str(bin_dir / "python"), "-c", "from buckaroo_desktop import viewer; print(viewer.BINARY)"],
                         capture_output=True, text=True, check=True, timeout=60)
    return Path(out.stdout.strip())


def user_env(display: str, **extra: str) -> dict[str, str]:
    """A desktop user's environment: no BUCKAROO_PYTHON (the wheel sets it), no bus unless given."""
    env = {**os.environ, **e2e.HEADLESS_ENV, **e2e.app_env(), "DISPLAY": display, **extra}
    env.pop("BUCKAROO_PYTHON")
    env.pop("VIRTUAL_ENV", None)
    return env


def viewer_log(env: dict[str, str]) -> Path:
    return Path(env["HOME"]) / ".local" / "state" / "buckaroo-desktop" / "viewer.log"


def painted_rows(driver, n: int = 5) -> list[tuple[int, str]] | None:
    """(id, name) of the grid's first `n` rows, if they are painted."""
    r = grid.data_rows(driver)
    got = [(r[i].get("a", "").replace(",", ""), r[i].get("b", "")) for i in range(n) if i in r]
    return [(int(a), b) for a, b in got] if len(got) == n and all(a.isdigit() and b for a, b in got) else None


def first_rows(driver) -> list[tuple[int, str]]:
    return e2e_procs.wait_until(lambda: painted_rows(driver), 90, what="the first rows painted")


def end(pid: int) -> None:
    """A viewer the test started outside any driver: its process group, by PID."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    e2e_procs.wait_until(lambda: not Path(f"/proc/{pid}").exists(), 20, what=f"viewer {pid} to end")


def test_the_wheel_carries_the_debs_binary_stripped_for_this_platform(built, tmp_path):
    name = Path(built["wheel"]).name
    assert name == f"buckaroo_desktop-{bundle.versions()[0]}-py3-none-linux_x86_64.whl"
    with zipfile.ZipFile(built["wheel"]) as whl:
        info = whl.getinfo("buckaroo_desktop/bin/buckaroo-desktop-viewer")
        entry_points = whl.read(f"buckaroo_desktop-{bundle.versions()[0]}.dist-info/entry_points.txt").decode()
        metadata = whl.read(f"buckaroo_desktop-{bundle.versions()[0]}.dist-info/METADATA").decode()
        inside = Path(whl.extract(info, tmp_path))
        # The plugin's launcher package, as the binary embeds it (every *.py): the command runs its probe.
        launcher = {Path(n).name: whl.read(n) for n in whl.namelist() if n.startswith("buckaroo_desktop/launcher/buckaroo_tauri_sidecar/")}
    assert info.external_attr >> 16 & stat.S_IXUSR, "the viewer must keep its executable bit"
    kind = subprocess.run(["file", "-b", str(inside)], capture_output=True, text=True, check=True).stdout
    assert "ELF 64-bit" in kind and "x86-64" in kind and ", stripped" in kind, kind
    assert "buckaroo-desktop = buckaroo_desktop.cli:main" in entry_points
    # The extra pins the tested buckaroo line and what it needs (the sidecar probe's rule).
    tested = contract.tested_buckaroo()
    major, minor, _ = tested.split(".")
    assert f"Requires-Dist: buckaroo[polars,server]<{major}.{int(minor) + 1},>={tested}; extra == 'buckaroo'" in metadata
    assert "Requires-Dist: pandas<3; extra == 'buckaroo'" in metadata and "Requires-Dist: six; extra == 'buckaroo'" in metadata
    crate = {f.name: f.read_bytes() for f in (e2e.REPO / "crates" / "buckaroo-tauri" / "python" / "buckaroo_tauri_sidecar").glob("*.py")}
    assert launcher == crate
    print(f"\n[wheel] {name}: {built['bytes'] / 1e6:.1f} MB, viewer {built['viewer_bytes'] / 1e6:.1f} MB unpacked")
    assert built["bytes"] < 12e6


def test_the_debian_packages_it_names_are_the_debs_own_dependencies(built):
    """What the wheel tells a user to install is what the Tauri bundler found the binary needs."""
    sys.path.insert(0, str(wheel.PROJECT / "src"))
    try:
        from buckaroo_desktop import viewer
    finally:
        sys.path.pop(0)
    depends = subprocess.run(["dpkg-deb", "-f", built["from_deb"], "Depends"], capture_output=True, text=True, check=True).stdout
    named = viewer.OS_PACKAGES["Debian/Ubuntu"].split("install", 1)[1].split()
    # The .deb's own additions (python3, for the managed environment) are not the
    # binary's: a wheel user runs it from their Python.
    declared = set(json.loads(bundle.CONF.read_text())["bundle"]["linux"]["deb"].get("depends", []))
    assert declared, "tauri.conf.json declares the .deb's python3"
    assert set(named) == {d.strip() for d in depends.split(",")} - declared


def test_the_console_script_opens_a_file_with_rows_painted(display, data_dir, venv, df100k):
    """`buckaroo-desktop small_100k.parquet`, no BUCKAROO_PYTHON: the venv's interpreter runs the sidecar."""
    driver_proc = e2e.TauriDriver(display, user_env(display), cwd=data_dir).start()
    try:
        driver = driver_proc.session(args=["small_100k.parquet"], binary=venv / "buckaroo-desktop")
        try:
            rows = first_rows(driver)
            assert [a for a, _ in rows] == df100k["id"].head(5).tolist()
            assert driver.title == "small_100k.parquet — buckaroo"
            (app,) = e2e_procs.pids_running(viewer_binary(venv))
            (sidecar,) = e2e_procs.python_children(app)
            argv0 = Path(f"/proc/{sidecar}/cmdline").read_bytes().split(b"\0")[0].decode()
            assert Path(argv0).parent == venv, f"the sidecar runs {argv0}, not the venv's Python"
            # pip updates this copy, not the .deb updater.
            update = driver.execute_async_script(
                "const done = arguments[0]; window.__TAURI_INTERNALS__.invoke('app_check_update')"
                ".then(r => done({ok: r}), e => done({err: e}));")
            assert update["err"]["code"] == "update_by_package_manager" and "pip install -U buckaroo-desktop" in update["err"]["message"]
        finally:
            driver.quit()
    finally:
        driver_proc.stop()


def test_help_version_and_detach(display, data_dir, venv):
    script = str(venv / "buckaroo-desktop")
    env = user_env(display)
    out = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0 and out.stdout.startswith("usage: buckaroo-desktop") and "--detach" in out.stdout
    out = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60, env=env)
    lines = out.stdout.splitlines()
    assert out.returncode == 0 and lines[0] == f"buckaroo-desktop {bundle.versions()[0]}", out.stdout
    assert lines[2] == f"buckaroo {contract.tested_buckaroo()}" and str(venv) in lines[1]
    out = subprocess.run([script, "--frobnicate"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 2 and "--frobnicate" in out.stderr
    out = subprocess.run([script, "missing.parquet", "tiny.parquet"], capture_output=True, text=True, timeout=60, env=env, cwd=data_dir)
    assert out.returncode == 2 and "buckaroo-desktop: error: missing.parquet: no such file or directory" in out.stderr, out.stderr
    assert "tiny.parquet" not in out.stderr and not e2e_procs.pids_running(viewer_binary(venv))

    started = time.monotonic()
    out = subprocess.run([script, "--detach", "tiny.parquet"], capture_output=True, text=True, timeout=60, env=env, cwd=data_dir)
    took = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    viewers = e2e_procs.wait_until(lambda: e2e_procs.pids_running(viewer_binary(venv)), 20, what="the detached viewer")
    try:
        assert len(viewers) == 1, viewers
        viewer = viewers[0]
        assert took < 2.0, f"--detach took {took:.2f} s: a fixed 2 s wait, not for the viewer to be up"
        assert os.getsid(viewer) == viewer, "the detached viewer leads its own session"
        e2e_procs.wait_until(lambda: "autoload /load ok" in viewer_log(env).read_text(errors="replace"), 90, what="its log's /load ok")
    finally:
        for pid in viewers:  # every one found, so a failure here leaves none for the next test
            end(pid)
    e2e_procs.wait_until(lambda: not e2e_procs.python_children(viewer), 20, what="its sidecar to end")


def test_without_webkitgtk_it_names_the_os_packages(venv, tmp_path):
    """A private mount namespace where the WebKitGTK library is an empty file: what a
    machine without the package shows."""
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout.splitlines()
    lib = next(line.split("=>")[1].strip() for line in cache if line.strip().startswith("libwebkit2gtk-4.1.so.0 ") and "x86-64" in line)
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    hide = f"mount --bind {empty} {lib} && exec \"$@\""
    data = tmp_path / "tiny.parquet"  # a file that exists: a missing one is exit 2, before the libraries
    data.write_bytes(b"PAR1")
    out = subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", hide, "sh", str(venv / "buckaroo-desktop"), str(data)],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "DISPLAY": ":0"})
    assert out.returncode == 3, out.stderr
    assert "libwebkit2gtk-4.1.so.0 was not found" in out.stderr
    assert "sudo apt install libwebkit2gtk-4.1-0 libgtk-3-0" in out.stderr and "sudo dnf install" in out.stderr
    assert "error while loading shared libraries" not in out.stderr


PYTHONS = {"bare": ([], ["buckaroo is not installed"]),
           "half": (["buckaroo=={tested}", "pandas>=3"], ["tornado is not installed", "pandas 3."])}


@pytest.mark.parametrize("kind", PYTHONS)
def test_a_python_that_cannot_run_buckaroo_is_named_before_any_window(built, display, data_dir, tmp_path, kind):
    """No buckaroo, or what `pip install buckaroo pandas` gives today (pandas 3, no tornado):
    the command and show() run the plugin's own probe first: each problem named, the
    `buckaroo` extra's pip command, exit 4 or ViewerError; no viewer starts."""
    packages, problems = PYTHONS[kind]
    tested = contract.tested_buckaroo()
    bin_dir, _ = fresh_venv(tmp_path / kind, built["wheel"], *(p.format(tested=tested) for p in packages), no_deps=not packages)
    env = user_env(display)
    out = subprocess.run([str(bin_dir / "buckaroo-desktop"), "tiny.parquet"], capture_output=True, text=True, timeout=60, env=env,
                         cwd=data_dir)
    assert out.returncode == 4 and all(p in out.stderr for p in problems), out.stderr
    major, minor, _ = tested.split(".")
    assert f"{bin_dir / 'python'} -m pip install 'buckaroo[polars,server]<{major}.{int(minor) + 1},>={tested}' 'pandas<3' six" in out.stderr
    shown = subprocess.run([str(bin_dir / "python"), "-c", "import buckaroo_desktop\ntry:\n    buckaroo_desktop.show([])\n"
                            "except buckaroo_desktop.ViewerError as e:\n    print(e.code, e)"],
                           capture_output=True, text=True, timeout=60, env=env)
    assert shown.stdout.startswith("4 this Python") and all(p in shown.stdout for p in problems), shown.stderr
    assert not e2e_procs.pids_running(viewer_binary(bin_dir))


def dead_display() -> int:
    """An X display number nothing answers on: no socket file, no abstract socket, no TCP."""
    def answers(family: int, address: object) -> bool:
        with socket.socket(family) as s:
            return s.connect_ex(address) == 0
    return next(n for n in range(400, 500) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                and not answers(socket.AF_UNIX, f"\0/tmp/.X11-unix/X{n}") and not answers(socket.AF_INET, ("127.0.0.1", 6000 + n)))


def test_an_unreachable_display_exits_3_before_any_window(venv, data_dir):
    """A DISPLAY nobody answers (a stale SSH X forwarding's `localhost:n`): exit 3 naming it, before the viewer starts."""
    n = dead_display()
    for display in (f":{n}", f"localhost:{n}.0"):
        out = subprocess.run([str(venv / "buckaroo-desktop"), "tiny.parquet"], capture_output=True, text=True, timeout=60,
                             env=user_env(display), cwd=data_dir)
        said = f"buckaroo-desktop: cannot reach the display: DISPLAY={display} does not answer"
        assert out.returncode == 3 and out.stderr.startswith(said), out.stderr
        assert not e2e_procs.pids_running(viewer_binary(venv))


def viewer_python(app: int) -> Path:
    """The interpreter the viewer `app` runs for the data (BUCKAROO_PYTHON, set by the wheel)."""
    return Path(dict(v.split("=", 1) for v in Path(f"/proc/{app}/environ").read_text().split("\0") if "=" in v)["BUCKAROO_PYTHON"])


def test_each_python_environment_has_its_own_viewer(display, venv, tmp_path):
    """With a session bus, show() from a second environment opens its own viewer (so its
    Python computes), and show() again from the first joins the first's viewer."""
    other = tmp_path / "other"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(other)], check=True, timeout=120)
    # The first venv's packages seen from the second environment (a .pth): no second install.
    ((site,), (other_site,)) = venv.parent.glob("lib/python*/site-packages"), other.glob("lib/python*/site-packages")
    (other_site / "first-venv.pth").write_text(f"{site}\n")
    env = user_env(display, DBUS_SESSION_BUS_ADDRESS=(bus := e2e_desktop.SessionBus().start()).address)
    script = FRAME_PY + "import sys, buckaroo_desktop\nprint(buckaroo_desktop.show(frame, title=sys.argv[1]).viewer_pid)\n"

    def show(python: Path, title: str) -> int:
        out = subprocess.run([str(python), "-c", script, title], capture_output=True, text=True, timeout=120, env=env)
        assert out.returncode == 0, out.stderr
        return int(out.stdout)
    try:
        first, second = show(venv / "python", "first"), show(other / "bin" / "python", "second")
        assert show(venv / "python", "first again") == first
        assert second != first, "the second environment's frame went to the first's viewer"
        assert viewer_python(first).parent == venv and viewer_python(second).parent == other / "bin"
    finally:
        for pid in e2e_procs.pids_running(viewer_binary(venv)):
            end(pid)
        bus.stop()


def grid_on_screen(display: str, window: str, path: Path, min_rows: int = 15) -> bool:
    """At least `min_rows` lines of text where the window's data rows are (below the menu,
    the toolbar, the grid's header and stats rows; above the status bar), read from the
    X display's pixels: rows painted, as a user sees them. (An empty window's one-line
    hint, or the header alone, is not enough.)"""
    from PIL import Image

    geometry = e2e_desktop.xdo(display, "getwindowgeometry", window)
    x, y = map(int, re.search(r"Position: (-?\d+),(-?\d+)", geometry).groups())
    w, h = map(int, re.search(r"Geometry: (\d+)x(\d+)", geometry).groups())
    e2e_page.grab(display, path)
    with Image.open(path) as shot:
        body = shot.crop((x, y + 240, x + w, y + h - 60)).convert("L")
    body.save(path)
    inked = [any(body.getpixel((c, r)) < 110 for c in range(0, body.width, 2)) for r in range(body.height)]
    lines = sum(1 for r in range(1, len(inked)) if inked[r] and not inked[r - 1])
    return lines >= min_rows


def timestamp(line: str) -> float:
    return datetime.fromisoformat(line[1:25].replace("Z", "+00:00")).timestamp()


def test_show_opens_each_frame_in_the_running_viewer(display, venv):
    """Two show() calls from a plain Python process: two windows of the viewer already
    running (one app, one sidecar), the rows equal to the frames', the temporary files
    private while open and gone as each window closes and the app quits."""
    bus = e2e_desktop.SessionBus().start()
    env = user_env(display, DBUS_SESSION_BUS_ADDRESS=bus.address)
    driver_proc = e2e.TauriDriver(display, env).start()
    try:
        driver = driver_proc.session(binary=venv / "buckaroo-desktop")
        e2e_procs.wait_until(lambda: e2e_page.page_state(driver)["sidecar"] == "ready", 90, what="the viewer's sidecar")
        (app,) = e2e_procs.pids_running(viewer_binary(venv))
        script = FRAME_PY + textwrap.dedent("""
            import json, time
            import polars as pl
            import buckaroo_desktop
            called = time.time()
            a = buckaroo_desktop.show(frame, title="pandas frame")
            b = buckaroo_desktop.show(pl.from_pandas(frame).reverse(), title="polars frame")
            print(json.dumps({"called": called, "returned": time.time(), "paths": [str(a.path), str(b.path)],
                              "pids": [a.viewer_pid, b.viewer_pid]}))
        """)
        out = subprocess.run([str(venv / "python"), "-c", script], capture_output=True, text=True, timeout=120, env=env)
        assert out.returncode == 0, out.stderr
        shown = json.loads(out.stdout)
        assert shown["pids"] == [app, app]
        e2e_procs.wait_until(lambda: len(driver.window_handles) == 3, 30, what="two more windows")
        rows, titles = {}, {"pandas frame — buckaroo", "polars frame — buckaroo"}

        def both_painted():
            for handle in driver.window_handles:
                driver.switch_to.window(handle)
                if driver.title in titles and driver.title not in rows and (got := painted_rows(driver)):
                    rows[driver.title] = got
            return rows.keys() == titles or {h: e2e_page.page_state(driver) for h in driver.window_handles}
        e2e_procs.wait_until(lambda: both_painted() is True, 90, interval=0.3, what=f"both frames' rows (so far {rows})")
        painted = time.time()
        print(f"\n[wheel] two show() calls returned in {shown['returned'] - shown['called']:.2f} s; "
              f"call → both windows' rows painted {painted - shown['called']:.2f} s (viewer running)")
        assert rows["pandas frame — buckaroo"] == [(i, f"row-{i:05d}") for i in range(5)]
        assert rows["polars frame — buckaroo"] == [(i, f"row-{i:05d}") for i in range(ROWS - 1, ROWS - 6, -1)]
        assert e2e_procs.pids_running(viewer_binary(venv)) == [app] and len(e2e_procs.python_children(app)) == 1

        a, b = map(Path, shown["paths"])
        for p in (a, b):
            assert stat.S_IMODE(p.stat().st_mode) == 0o600 and stat.S_IMODE(p.parent.stat().st_mode) == 0o700
        e2e_desktop.keys(display, "^pandas frame — buckaroo$", "ctrl+w")
        e2e_procs.wait_until(lambda: not a.parent.exists(), 20, what="the closed window's temporary folder to go")
        assert b.exists(), "the other window's file went too"
        e2e_desktop.keys(display, "^polars frame — buckaroo$", "ctrl+q")
        e2e_procs.wait_until(lambda: not e2e_procs.pids_running(viewer_binary(venv)), 30, what="the viewer to quit")
        assert not b.parent.exists(), "the app exited and left its temporary file"
    finally:
        driver_proc.stop()
        bus.stop()


def test_show_block_starts_the_viewer_and_waits_for_its_window(display, venv):
    """No viewer running: show() starts one (its window, rows painted, seen on the X
    display and in its log), `block=True` returns when the window closes."""
    env = user_env(display)
    script = FRAME_PY + textwrap.dedent("""
        import sys, time
        import buckaroo_desktop
        print(time.time(), flush=True)
        shown = buckaroo_desktop.show(frame, title="blocking", block=True)
        print(shown.path, time.time(), flush=True)
    """)
    proc = subprocess.Popen([str(venv / "python"), "-c", script], stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        called = float(proc.stdout.readline())
        (window,) = e2e_procs.wait_until(lambda: e2e_desktop.x_windows(display, "^blocking — buckaroo$"), 60, what="the window")
        shot = e2e.REPO / "out" / "e2e" / "wheel-show-grid.png"
        e2e_procs.wait_until(lambda: grid_on_screen(display, window, shot), 90, interval=0.2, what=f"rows painted on the display ({shot})")
        painted = time.time()
        ok = [line for line in viewer_log(env).read_text(errors="replace").splitlines() if "autoload /load ok" in line]
        assert ok and f"rows={ROWS}" in ok[-1], ok
        (viewer,) = e2e_procs.pids_running(viewer_binary(venv))
        print(f"\n[wheel] show() with no viewer running → its /load ok {timestamp(ok[-1]) - called:.2f} s, "
              f"→ rows on the display {painted - called:.2f} s")
        assert proc.poll() is None, "block=True returned with the window open"
        e2e_desktop.keys(display, "^blocking — buckaroo$", "ctrl+w")
        path, _ = proc.communicate(timeout=30)[0].split()
        assert proc.returncode == 0 and not Path(path).parent.exists()
        e2e_procs.wait_until(lambda: not Path(f"/proc/{viewer}").exists(), 20, what="the viewer to exit with its last window")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for leftover in e2e_procs.pids_running(viewer_binary(venv)):
            end(leftover)
