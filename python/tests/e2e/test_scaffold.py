"""An outside user's path, from nothing: create-tauri-app (vanilla-ts) → npm install the
adapter tarball → `buckaroo-tauri-adapter init` → `tauri build` and `tauri dev` → the
real grid painting the 100k sample. Nothing here knows the example app."""

from __future__ import annotations

import contextlib
import time

import psutil
import pytest

from buckaroo_tauri_dev import e2e, scaffold

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


def test_built_app_paints_the_sample_and_shows_a_bad_file(app, display, data_dir, df100k, shots):
    _, binary = app
    env = e2e.app_env()
    driver_proc = e2e.TauriDriver(display, env).start()
    try:
        d = driver_proc.session(args=[str(data_dir / "small_100k.parquet")], binary=binary)
        try:
            assert_sample_painted(d, df100k)
            shot = e2e.grab(display, shots / "scaffold-build.png")
            assert e2e.screenshot_ok(shot)
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


def test_tauri_dev_paints_the_sample(app, display, data_dir, df100k):
    """`tauri dev` as the scaffold's README says: Vite's dev server + `cargo run`. The
    driver starts it through a launcher script and attaches to the app it runs."""
    app_dir, _ = app
    launcher = scaffold.dev_launcher(app_dir)
    driver_proc = e2e.TauriDriver(display, e2e.app_env()).start()
    tree: list[psutil.Process] = []
    try:
        d = driver_proc.session(args=[str(data_dir / "small_100k.parquet")], binary=launcher, timeout=900)
        try:
            tree = psutil.Process(driver_proc.proc.pid).children(recursive=True)
            assert any(p.name() == "node" for p in tree), [p.name() for p in tree]
            assert_sample_painted(d, df100k)
            # Served by the dev server, not from a build: the page's origin is Vite's.
            assert d.execute_script("return location.origin") == "http://localhost:1420"
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
