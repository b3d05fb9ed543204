"""buckaroo_desktop's own logic, without a viewer: what each kind of frame becomes on
disk (with the real libraries, xorq included), which leftover folders the next show()
removes, and what is checked before a viewer starts (a stand-in viewer binary, real
probes of real interpreters, real sockets). The viewer itself is tested from the built
wheel (e2e/test_wheel.py)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python" / "buckaroo-desktop" / "src"))
from buckaroo_desktop import _display, _probe, _show, cli, viewer  # noqa: E402

FRAME = pd.DataFrame({"id": range(5), "name": [f"r{i}" for i in range(5)]})


KINDS = {"pandas": FRAME, "polars": pl.from_pandas(FRAME), "polars-lazy": pl.from_pandas(FRAME).lazy(),
         "pyarrow": pa.Table.from_pandas(FRAME, preserve_index=False)}


@pytest.mark.parametrize("data", KINDS.values(), ids=KINDS.keys())
def test_each_kind_of_frame_is_written_as_parquet(data, tmp_path):
    path = tmp_path / "f.parquet"
    _show.write_parquet(data, path)
    assert pd.read_parquet(path).reset_index(drop=True).equals(FRAME)


def test_a_series_and_non_string_column_names_are_made_writable(tmp_path):
    _show.write_parquet(FRAME["name"], tmp_path / "s.parquet")
    assert pd.read_parquet(tmp_path / "s.parquet")["name"].tolist() == FRAME["name"].tolist()
    _show.write_parquet(pd.DataFrame({0: [1, 2], 1: ["a", "b"]}), tmp_path / "n.parquet")
    assert list(pd.read_parquet(tmp_path / "n.parquet").columns) == ["0", "1"]


def test_a_xorq_expression_runs_on_its_engine(tmp_path):
    """In its own process: xorq writes under HOME and reads the cwd's git state."""
    script = (f"import sys; sys.path.insert(0, {str(REPO / 'python' / 'buckaroo-desktop' / 'src')!r})\n"
              "import pandas as pd, xorq.api as xo\n"
              "from buckaroo_desktop import _show\n"
              "t = xo.memtable(pd.DataFrame({'id': range(10)}))\n"
              "_show.write_parquet(t.filter(t.id >= 7), __import__('pathlib').Path('x.parquet'))\n")
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={**os.environ, "HOME": str(tmp_path)}, check=True, timeout=120)
    assert pd.read_parquet(tmp_path / "x.parquet")["id"].tolist() == [7, 8, 9]


def test_other_data_is_a_type_error_that_points_at_the_command():
    with pytest.raises(TypeError, match="buckaroo-desktop FILE"):
        _show.write_parquet([1, 2, 3], Path("unused.parquet"))


def test_titles_become_safe_file_names():
    assert _show.file_stem("Q3 sales / EU") == "Q3_sales_EU"
    assert _show.file_stem("../..") == "frame"
    assert _show.default_title(FRAME) == "pandas DataFrame"


def test_the_next_show_removes_only_folders_whose_viewer_is_gone(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()

    def folder(name: str, owner: int | None, age_s: float = 0) -> Path:
        d = tmp_path / f"{_show.DIR_PREFIX}{name}"
        d.mkdir()
        (d / "f.parquet").write_bytes(b"PAR1")
        if owner is not None:
            (d / _show.OWNER_FILE).write_text(str(owner))
        os.utime(d, (time.time() - age_s, time.time() - age_s))
        return d

    gone = folder("dead", dead.pid)
    alive = folder("alive", os.getpid())
    unclaimed_old = folder("old", None, age_s=_show.UNCLAIMED_AFTER_S + 60)
    unclaimed_new = folder("new", None)  # another show() still starting its viewer
    unrelated = tmp_path / "someone-else"
    unrelated.mkdir()
    _show.sweep()
    assert not gone.exists() and not unclaimed_old.exists()
    assert alive.exists() and unclaimed_new.exists() and unrelated.exists()


def test_a_missing_library_message_names_each_distros_packages():
    text = viewer.missing_libraries_message("libwebkit2gtk-4.1.so.0")
    assert "libwebkit2gtk-4.1.so.0 was not found" in text
    assert all(command in text for command in viewer.OS_PACKAGES.values())
    line = "/x/buckaroo-desktop-viewer: error while loading shared libraries: libgtk-3.so.0: cannot open shared object file: No such file"
    assert viewer.LOADER_ERROR.search(line).group(1) == "libgtk-3.so.0"


def test_a_non_string_name_whose_text_is_taken_gets_its_type(tmp_path):
    """`1` and `"1"` were "Duplicate column names" the user never wrote."""
    frame = pd.DataFrame([[10, 20, 30]], columns=[1, "1", 1.5])
    _show.write_parquet(frame, tmp_path / "c.parquet")
    back = pd.read_parquet(tmp_path / "c.parquet")
    assert list(back.columns) == ["1 (int)", "1", "1.5"] and back.iloc[0].tolist() == [10, 20, 30]
    assert _show.column_names([2, "2", "2 (int)", 2]) == ["2 (int) 2", "2", "2 (int)", "2 (int) 3"]


# -- What runs before the viewer: a fake viewer binary (BUCKAROO_DESKTOP_VIEWER), real
# probes of real interpreters, real sockets for the display. -----------------------------
SRC = REPO / "python" / "buckaroo-desktop" / "src"
FAKE_VIEWER = """#!{python}
import os, subprocess, sys, time
if sys.argv[1:] == ["--version"]:
    print("buckaroo-tauri-example 0.1.0")
    sys.exit(0)
open(os.environ["FAKE_PIDFILE"], "w").write(str(os.getpid()))
print("fake viewer", sys.argv[1:], os.environ.get("BUCKAROO_INSTANCE"), flush=True)
mode = os.environ["FAKE_VIEWER"]
time.sleep(0.3)
if mode == "fail":
    sys.exit("boom: no window")
if mode == "up":
    subprocess.Popen(["sleep", "30"])  # what a first viewer starts as its window opens
    time.sleep(30)
"""


@pytest.fixture
def desktop(tmp_path, monkeypatch):
    """A fake viewer, a display that answers (a Wayland socket), a private log folder,
    and the once-per-process check forgotten. Yields the fake viewer's PID file."""
    fake = tmp_path / "viewer"
    fake.write_text(FAKE_VIEWER.format(python=sys.executable))
    fake.chmod(0o755)
    wayland = socket.socket(socket.AF_UNIX)
    wayland.bind(str(tmp_path / "wl"))
    wayland.listen()
    pidfile = tmp_path / "viewer.pid"
    for name, value in {viewer.BINARY_ENV: str(fake), "WAYLAND_DISPLAY": str(tmp_path / "wl"), "XDG_STATE_HOME": str(tmp_path),
                        "FAKE_PIDFILE": str(pidfile), "FAKE_VIEWER": "up"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(viewer, "_checked", [])

    def execve(path, argv, env):  # the command's last step would replace the test runner
        raise AssertionError(f"the viewer was started: {argv}")
    monkeypatch.setattr(os, "execve", execve)
    yield pidfile
    wayland.close()
    with contextlib.suppress(OSError, ValueError):
        os.killpg(int(pidfile.read_text()), signal.SIGKILL)


@pytest.fixture(scope="module")
def half_installed(tmp_path_factory) -> Path:
    """A venv with pandas 3.1 (its metadata and an empty module) and nothing else:
    what the probe sees in a `pip install buckaroo pandas` today, less buckaroo."""
    root = tmp_path_factory.mktemp("half") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    (site,) = root.glob("lib/python*/site-packages")
    (site / "pandas").mkdir()
    (site / "pandas" / "__init__.py").write_text("")
    (site / "pandas-3.1.0.dist-info").mkdir()
    (site / "pandas-3.1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: pandas\nVersion: 3.1.0\n")
    return root / "bin" / "python"


def test_a_half_installed_python_names_each_problem_and_the_pip_command(half_installed):
    with pytest.raises(viewer.ViewerError) as raised:
        viewer.check_python(str(half_installed))
    text = str(raised.value)
    assert raised.value.code == viewer.NO_BUCKAROO and f"this Python ({half_installed})" in text
    for problem in ("tornado is not installed", "six is not installed", "buckaroo is not installed", "pandas 3.1.0 breaks"):
        assert problem in text
    # From a source tree the wheel's extra is unknown: the probe's own pins (contract.py).
    assert f"{half_installed} -m pip install 'buckaroo[server,polars]==" in text and "'pandas<3'" in text
    viewer.check_python()  # this venv has everything


def test_the_command_and_show_say_so_before_starting_the_viewer(desktop, half_installed):
    """Run by that Python, as its console script would: exit 4, show() raises; no viewer."""
    script = (f"import sys; sys.path.insert(0, {str(SRC)!r})\n"
              "from buckaroo_desktop import cli, show, ViewerError\n"
              "try:\n    show([])\nexcept ViewerError as e:\n    print('show', e.code)\n"
              "sys.exit(cli.main(['--', sys.argv[1]]))\n")
    out = subprocess.run([str(half_installed), "-c", script, str(REPO / "README.md")], capture_output=True, text=True, timeout=60)
    assert out.returncode == viewer.NO_BUCKAROO and out.stdout == "show 4\n", out.stderr
    assert out.stderr.startswith("buckaroo-desktop: this Python") and "tornado is not installed" in out.stderr
    assert not desktop.exists(), "the viewer was started"


def test_a_probe_that_hangs_or_says_nothing_is_a_viewer_error(tmp_path):
    folder = _probe.launcher_folder()
    hangs, mute = tmp_path / "hangs", tmp_path / "mute"
    hangs.write_text("#!/bin/sh\nsleep 5\n")
    mute.write_text("#!/bin/sh\necho 'no such module' >&2\nexit 1\n")
    for f in (hangs, mute):
        f.chmod(0o755)
    with pytest.raises(_probe.ProbeFailed, match=r"did not answer the viewer's probe within 0.5 s"):
        _probe.run(str(hangs), folder, timeout=0.5)
    with pytest.raises(_probe.ProbeFailed, match="not a working Python 3.*no such module"):
        _probe.run(str(mute), folder)


def free_display() -> int:
    """An X display number nothing answers on (no socket file, no abstract one, no TCP)."""
    for n in range(400, 500):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not _display.answers(socket.AF_UNIX, f"\0/tmp/.X11-unix/X{n}") \
                and not _display.answers(socket.AF_INET, ("localhost", 6000 + n)):
            return n
    raise LookupError("no free X display number")


def test_an_x_display_that_does_not_answer_is_named(monkeypatch):
    n = free_display()
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", f":{n}")
    assert _display.problem().startswith(f"cannot reach the display: DISPLAY=:{n} does not answer (no X server at /tmp/.X11-unix/X{n})")
    with socket.socket(socket.AF_UNIX) as x:  # an X server on the abstract socket only
        x.bind(f"\0/tmp/.X11-unix/X{n}")
        x.listen()
        assert _display.problem() is None
    with socket.create_server(("127.0.0.1", 6000 + n)):  # a live SSH forwarding
        monkeypatch.setenv("DISPLAY", f"127.0.0.1:{n}.0")
        assert _display.problem() is None
    assert f"DISPLAY=127.0.0.1:{n}.0 does not answer (no X server on 127.0.0.1 port {6000 + n})" in _display.problem()
    monkeypatch.setenv("DISPLAY", "/private/tmp/launchd/org.xquartz:0")  # a form it does not know: GTK's to judge
    assert _display.problem() is None


def test_wayland_is_found_in_the_runtime_dir_and_either_display_is_enough(tmp_path, monkeypatch):
    monkeypatch.setenv("DISPLAY", f":{free_display()}")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-7")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert f"WAYLAND_DISPLAY=wayland-7 does not answer (no compositor at {tmp_path / 'wayland-7'})" in _display.problem()
    with socket.socket(socket.AF_UNIX) as compositor:
        compositor.bind(str(tmp_path / "wayland-7"))
        compositor.listen()
        assert _display.problem() is None
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert "XDG_RUNTIME_DIR is not set" in _display.problem()


def test_the_command_and_show_refuse_an_unreachable_display(desktop, monkeypatch, capsys):
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.setenv("DISPLAY", f"localhost:{free_display()}")
    display = os.environ["DISPLAY"]
    assert cli.main([str(REPO / "README.md")]) == viewer.CANNOT_RUN_HERE
    assert capsys.readouterr().err.startswith(f"buckaroo-desktop: cannot reach the display: DISPLAY={display} does not answer")
    with pytest.raises(viewer.ViewerError, match=f"DISPLAY={display}") as raised:
        _show.show(FRAME)
    assert raised.value.code == viewer.CANNOT_RUN_HERE and not desktop.exists()


def test_missing_and_unreadable_files_fail_in_the_shell(desktop, tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(SystemExit):  # usage errors first, as argparse has them
        cli.main(["--frobnicate"])
    capsys.readouterr()
    assert cli.main(["missing.parquet", str(tmp_path), str(fifo), "gone/dir"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: buckaroo-desktop")
    assert "buckaroo-desktop: error: missing.parquet: no such file or directory\n" in err
    assert f"buckaroo-desktop: error: {fifo}: not a file or folder\n" in err and "error: gone/dir: no such file" in err
    assert str(tmp_path) + ":" not in err, "a readable folder (a parquet dataset) is fine"
    assert not desktop.exists(), "the viewer was started"


def test_an_unreadable_file_is_named():
    """Root reads any file: as root (CI), the check runs as `nobody`, in a folder it may enter."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="unreadable-"))
    try:
        folder.chmod(0o755)
        secret = folder / "secret.csv"
        secret.write_text("a\n1\n")
        secret.chmod(0)
        check = "import sys; from buckaroo_desktop import cli; print(cli.unopenable(sys.argv[1]))"
        # The venv's interpreter lives under /root (pyenv), which `nobody` cannot enter: the system's.
        python = sys.executable if os.geteuid() else "/usr/bin/python3"
        out = subprocess.run([python, "-c", check, str(secret)], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYTHONPATH": str(REPO / "python" / "buckaroo-desktop" / "src")},
                             user=65534 if os.geteuid() == 0 else None)
        assert out.stdout.strip() == "permission denied", out.stderr
    finally:
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()


def test_detach_returns_once_the_viewer_is_up(desktop, capsys):
    """Not a fixed 2 s: as soon as the viewer started its first process (a first viewer) ..."""
    started = time.monotonic()
    assert cli.main(["--detach", str(REPO / "README.md")]) == 0
    took = time.monotonic() - started
    pid = int(desktop.read_text())
    assert _show._alive(pid) and viewer.children(pid), "returned before the viewer was up"
    assert took < 1.5, f"--detach took {took:.2f} s"
    assert f"fake viewer ['--', '{REPO / 'README.md'}'] py" in viewer.log_path().read_text()


def test_detach_returns_when_the_files_were_handed_over_and_reports_a_failure(desktop, monkeypatch, capsys):
    """... or as soon as it exited: 0, the running viewer took the files; else its log."""
    monkeypatch.setenv("FAKE_VIEWER", "handoff")
    assert cli.main(["--detach", str(REPO / "README.md")]) == 0
    monkeypatch.setenv("FAKE_VIEWER", "fail")
    assert cli.main(["--detach", str(REPO / "README.md")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("buckaroo-desktop: the viewer exited (1):") and "boom: no window" in err


def test_one_viewer_per_python_environment(half_installed):
    """Named after the environment, not the interpreter's real path: a venv's python is
    a link to the same base interpreter as every other venv's."""
    here = viewer.environment()[viewer.INSTANCE_ENV]
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{8,}", here) and here == viewer.instance()
    script = f"import sys; sys.path.insert(0, {str(SRC)!r})\nfrom buckaroo_desktop import viewer\nprint(viewer.instance())"
    other = subprocess.run([str(half_installed), "-c", script], capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    again = subprocess.run([str(Path(sys.prefix) / "bin" / "python3"), "-c", script], capture_output=True, text=True, check=True,
                           timeout=60).stdout.strip()
    assert other != here and again == here
