"""An outside user's path, from nothing: create-tauri-app (react-ts, StrictMode on) → npm
install the adapter tarball → `buckaroo-tauri-adapter init` → `tauri build` and `tauri
dev` → the real grid painting the 100k sample, and painting it again after every kind of
remount a React page goes through (issue 28). Nothing here knows the example app."""

from __future__ import annotations

import contextlib
import statistics
import time

import psutil
import pytest

from buckaroo_tauri_dev import e2e, remounts, scaffold

from . import grid

pytestmark = pytest.mark.scaffold

# The page `init` writes: its status, error banner and file label, and the grid.
PAGE_JS = """
const $ = (id) => document.getElementById(id);
return {sidecar: $('sidecar')?.dataset.state, error: $('error')?.hidden ? null : $('error')?.textContent,
        errorCode: $('error')?.dataset.code || null, file: $('file')?.textContent, title: document.title};
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("scaffold")
    started = time.monotonic()
    app = scaffold.scaffold(root)
    first = scaffold.init(app)
    assert "changed src-tauri/src/lib.rs" in first.stdout, first.stdout
    assert "changed src/App.tsx: page: <BuckarooGrid>" in first.stdout, first.stdout
    again = scaffold.init(app, step="init-again")
    assert "nothing to change" in again.stdout, again.stdout
    scaffold.seed_lockfile(app)
    binary = scaffold.build(app)
    print(f"\n[scaffold] create → wired → built in {time.monotonic() - started:.0f} s")
    return app, binary


def rows_and_page(d) -> tuple[int, dict]:
    return d.execute_script(e2e.ROWS_PAINTED_JS), d.execute_script(PAGE_JS)


def assert_sample_painted(d, df100k) -> None:
    e2e.wait_until(lambda: rows_and_page(d)[0] >= 10, timeout=90, what="rows painted in the scaffolded app")
    first = grid.wait_ids(d, lambda m: 0 in m and len(m) >= 10, what="first rows")
    assert all(first[i] == int(df100k["id"].iloc[i]) for i in first)
    page = rows_and_page(d)[1]
    assert page["sidecar"] == "ready" and page["error"] is None, page
    assert page["file"] == "small_100k.parquet · 100000 rows", page
    assert page["title"] == "small_100k.parquet — buckaroo"
    assert d.execute_script(remounts.HOSTS_JS) == 1


def assert_host_css_does_not_reach_the_grid(d) -> None:
    """The template's App.css styles every `input, button`; buckaroo's search box must
    compute the same with that sheet on as with it off (grid.ts, FORM_RESET_CSS)."""
    r = e2e.wait_until(lambda: d.execute_script(remounts.FORM_STYLE_JS), timeout=30, what="the grid's search box")
    assert r["hostSheets"] >= 1 and r["openRadius"] == "8px", r  # the host's rule is live outside the grid
    assert r["withHost"] == r["withoutHost"], r


def test_built_app_paints_the_sample_and_shows_a_bad_file(app, display, data_dir, df100k, shots):
    _, binary = app
    env = e2e.app_env()
    driver_proc = e2e.TauriDriver(display, env).start()
    try:
        d = driver_proc.session(args=[str(data_dir / "small_100k.parquet")], binary=binary)
        try:
            assert_sample_painted(d, df100k)
            assert_host_css_does_not_reach_the_grid(d)
            shot = e2e.grab(display, shots / "scaffold-build.png")
            assert e2e.screenshot_ok(shot)
            d.execute_script("location.reload()")
            assert_sample_painted(d, df100k)
        finally:
            d.quit()
        # A file that is not parquet: the page's banner names it and carries the server's code.
        d = driver_proc.session(args=[str(data_dir / "corrupt.parquet")], binary=binary)
        try:
            page = e2e.wait_until(lambda: (p := rows_and_page(d)[1])["error"] and p, timeout=60, what="the error banner")
            assert page["errorCode"] == "load_failed", page
            assert "corrupt.parquet" in page["error"] or "magic bytes" in page["error"], page
        finally:
            d.quit()
    finally:
        driver_proc.stop()


def remount_paints_again(d, df100k, what: str) -> float:
    """After a remount: the sample painted again in a fresh grid, no error; seconds taken."""
    started = time.monotonic()
    e2e.wait_until(lambda: d.execute_script(remounts.HOSTS_JS) == 1 and not d.execute_script(remounts.KEPT_HOST_JS),
                   timeout=60, what=f"a fresh grid after {what}")
    assert_sample_painted(d, df100k)
    d.execute_script(remounts.MARK_HOST_JS)
    return time.monotonic() - started


def toggle(d, df100k, what: str) -> float:
    d.execute_script("window.toggleGrid()")
    e2e.wait_until(lambda: d.execute_script(remounts.HOSTS_JS) == 0, timeout=30, what=f"no grid while hidden ({what})")
    d.execute_script("window.toggleGrid()")
    return remount_paints_again(d, df100k, what)


def heap_over_toggles(d, df100k, gc_log, first: int, n: int = 3) -> float:
    """The page's settled JS heap after toggle `first - 1` and after each of the next
    `n - 1` toggles: their median, KiB. One settled heap can land ~15 % off its
    neighbours (a collection's timing); a leak moves all of them."""
    heaps = []
    for i in range(first, first + n):
        if heaps:
            toggle(d, df100k, f"toggle {i - 1}")
        heaps.append(remounts.settled_heap_kib(d, gc_log))
    return statistics.median(heaps)


def remounts_under_dev(d, app_dir, df100k, gc_log) -> None:
    """StrictMode's first mount, a full reload, a hot-reload remount, 5 hide/show toggles,
    then 45 more: the page's JS heap after 50 mount/dispose cycles is within 10 % of
    after 5 (each the median over three cycles: 5–7 and 48–50)."""
    assert_sample_painted(d, df100k)
    d.execute_script(remounts.MARK_HOST_JS)
    d.execute_script("location.reload()")
    print(f"\n[scaffold] full reload: rows again in {remount_paints_again(d, df100k, 'a reload'):.1f} s")
    d.execute_script("window.__beforeEdit = true")
    remounts.add_toggle(app_dir / "src" / "App.tsx")
    e2e.wait_until(lambda: d.execute_script("return typeof window.toggleGrid === 'function'"), timeout=60, what="the hot update")
    assert d.execute_script("return window.__beforeEdit === true"), "the edit reloaded the page instead of hot-updating it"
    print(f"[scaffold] hot-reload remount: rows again in {remount_paints_again(d, df100k, 'the hot update'):.1f} s")
    times = [toggle(d, df100k, f"toggle {i + 1}") for i in range(5)]
    print(f"[scaffold] 5 hide/show toggles: rows again in {max(times):.1f} s at most")
    heap5 = heap_over_toggles(d, df100k, gc_log, first=6)
    for i in range(7, 48):
        toggle(d, df100k, f"toggle {i + 1}")
    heap50 = heap_over_toggles(d, df100k, gc_log, first=49)
    print(f"[scaffold] JS heap after 5 mount/dispose cycles {heap5 / 1024:.1f} MiB, after 50 {heap50 / 1024:.1f} MiB "
          f"({(heap50 / heap5 - 1) * 100:+.1f} %)")
    # buckaroo 0.15.11's render returns no cleanup: the adapter unmounts the root it made.
    assert d.execute_script(remounts.CLEANUP_JS) in ("yes", "root"), "nothing ends the grid's React tree"
    assert heap50 <= heap5 * 1.10, (heap5, heap50)


def test_tauri_dev_paints_the_sample_through_every_remount(app, display, data_dir, df100k):
    """`tauri dev` as the scaffold's README says: Vite's dev server + `cargo run`. The
    driver starts it through a launcher script and attaches to the app it runs."""
    app_dir, _ = app
    gc_log = scaffold.LOGS / "scaffold-dev-stderr.log"
    launcher = scaffold.dev_launcher(app_dir, gc_log)
    driver_proc = e2e.TauriDriver(display, e2e.app_env()).start()
    tree: list[psutil.Process] = []
    try:
        d = driver_proc.session(args=[str(data_dir / "small_100k.parquet")], binary=launcher, timeout=900)
        try:
            tree = psutil.Process(driver_proc.proc.pid).children(recursive=True)
            assert any(p.name() == "node" for p in tree), [p.name() for p in tree]
            # Served by the dev server, not from a build: the page's origin is Vite's.
            assert d.execute_script("return location.origin") == "http://localhost:1420"
            remounts_under_dev(d, app_dir, df100k, gc_log)
        finally:
            with contextlib.suppress(Exception):
                d.quit()
    finally:
        driver_proc.stop()
        gone, alive = psutil.wait_procs(tree, timeout=15)
        for p in alive:
            with contextlib.suppress(psutil.Error):
                p.kill()
        assert not [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], alive
