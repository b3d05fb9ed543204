"""The example as a desktop viewer, on the real built app under Xvfb: files from the
command line, one instance, the native menu and its shortcuts, Compare with…, a real
drag and drop, and what survives a relaunch."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from buckaroo_tauri_dev import bundle, e2e, e2e_desktop, e2e_page, e2e_procs

from . import grid

ROWS_IN_WINDOW_JS = e2e_page.DATA_GRID_JS + """
const root = dataGrid();
if (!root) return null;
const header = Object.fromEntries([...root.querySelectorAll('.ag-header-cell')]
  .map(h => [h.textContent.trim(), h.getAttribute('col-id')]));
return [...root.querySelectorAll('.ag-center-cols-container .ag-row')].map(r => {
  const cell = name => r.querySelector(`.ag-cell[col-id="${header[name]}"]`);
  return Object.fromEntries(arguments[0].map(n => [n, cell(n) && {text: cell(n).textContent.trim(),
    bg: getComputedStyle(cell(n)).backgroundColor}]));
});
"""


def in_each_window(driver, fn):
    """fn(driver) in every window, keyed by the window's title."""
    out = {}
    for handle in driver.window_handles:
        driver.switch_to.window(handle)
        out[driver.title] = fn(driver)
    return out


def settled(driver) -> dict | None:
    """The page once its load ended: a file shown or an error up."""
    s = e2e_page.page_state(driver)
    return s if (s["file"] or s["errorCode"]) else None


@pytest.fixture
def driver_at(display, request):
    """tauri-driver for one test (its app's cwd and env given), stopped after."""
    started: list[e2e.TauriDriver] = []

    def start(env: dict[str, str], cwd: Path | None = None) -> e2e.TauriDriver:
        started.append(e2e.TauriDriver(display, env, cwd=cwd).start())
        return started[-1]

    yield start
    for d in started:
        d.stop()


def test_each_file_on_the_command_line_opens_in_its_own_window(display, data_dir, driver_at, tmp_path):
    """Relative paths resolve against the caller's cwd; the files need no scope; a
    missing and a corrupt file each get a window with a coded error."""
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    driver_proc = driver_at(e2e.app_env(), cwd=data_dir)  # no BUCKAROO_TAURI_SCOPE
    driver = driver_proc.session(args=["tiny.parquet", "csv_plain.csv", "missing.parquet", str(tmp_path / "corrupt.parquet")])
    try:
        e2e_procs.wait_until(lambda: len(driver.window_handles) == 4, 30, what="four windows")
        states = in_each_window(driver, lambda d: e2e_procs.wait_until(lambda: settled(d), 90, what=f"{d.title} to load"))
        assert set(states) == {f"{n} — buckaroo" for n in ("tiny.parquet", "csv_plain.csv", "missing.parquet", "corrupt.parquet")}
        assert states["tiny.parquet — buckaroo"]["file"] == "tiny.parquet · 50 rows"
        assert states["csv_plain.csv — buckaroo"]["file"].startswith("csv_plain.csv · ")
        assert states["missing.parquet — buckaroo"]["errorCode"] == "file_not_found"
        assert "missing.parquet" in states["missing.parquet — buckaroo"]["error"]
        corrupt = states["corrupt.parquet — buckaroo"]
        assert corrupt["errorCode"] and corrupt["errorCode"] != "path_not_allowed", corrupt
        (app,) = e2e_procs.pids_running(e2e.APP_BINARY)
        assert len(e2e_procs.python_children(app)) == 1, "one sidecar for all the windows"
    finally:
        driver.quit()


def test_help_and_version_answer_without_a_window():
    version = bundle.versions()[0]
    out = subprocess.run([str(e2e.APP_BINARY), "--version"], capture_output=True, text=True, timeout=30, env={"DISPLAY": ""})
    assert (out.returncode, out.stdout.strip()) == (0, f"buckaroo-tauri-example {version}")
    out = subprocess.run([str(e2e.APP_BINARY), "--help"], capture_output=True, text=True, timeout=30, env={"DISPLAY": ""})
    assert out.returncode == 0 and "Usage: buckaroo-tauri-example [OPTIONS] [FILES]..." in out.stdout and "--title <TITLE>" in out.stdout
    out = subprocess.run([str(e2e.APP_BINARY), "--frobnicate"], capture_output=True, text=True, timeout=30, env={"DISPLAY": ""})
    assert out.returncode == 2 and "--frobnicate" in out.stderr


@pytest.mark.parametrize("display_value", [":97", "localhost:97", ""])
def test_a_display_that_cannot_be_reached_exits_3_with_a_message(display_value, tmp_path):
    """A stale SSH X forwarding (DISPLAY set, nothing listening), or no display at all:
    exit 3 naming DISPLAY, as docs/python.md says, not Tauri's panic (exit 101)."""
    env = {"DISPLAY": display_value, "HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "BUCKAROO_PYTHON": str(e2e.VENV_PYTHON)}
    out = subprocess.run([str(e2e.APP_BINARY), "some.parquet"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 3, (out.returncode, out.stderr[-2000:])
    assert f"DISPLAY={display_value!r}".replace("'", '"') in out.stderr and "panicked" not in out.stderr, out.stderr[-2000:]


def test_a_second_launch_opens_its_files_in_the_running_app(display, data_dir, driver_at):
    bus = e2e_desktop.SessionBus().start()
    try:
        env = e2e.app_env(DBUS_SESSION_BUS_ADDRESS=bus.address)
        driver = driver_at(env, cwd=data_dir).session(args=["tiny.parquet"])
        try:
            e2e_procs.wait_until(lambda: settled(driver), 90, what="the first window's file")
            apps = e2e_procs.pids_running(e2e.APP_BINARY)
            sidecars = e2e_procs.wait_until(lambda: (c := e2e_procs.python_children(apps[0])) and len(c) == 1 and c, 30, what="one sidecar")
            second = subprocess.run([str(e2e.APP_BINARY), "csv_plain.csv", "csv_tab.tsv"], cwd=data_dir, timeout=60,
                                    env={**os.environ, **e2e.HEADLESS_ENV, **env, "DISPLAY": display},
                                    capture_output=True, text=True)
            assert second.returncode == 0, second.stderr[-2000:]
            e2e_procs.wait_until(lambda: len(driver.window_handles) == 3, 30, what="two more windows in the running app")
            states = in_each_window(driver, lambda d: e2e_procs.wait_until(lambda: settled(d), 90, what=f"{d.title} to load"))
            assert states["csv_plain.csv — buckaroo"]["file"].startswith("csv_plain.csv · ")
            assert states["csv_tab.tsv — buckaroo"]["file"].startswith("csv_tab.tsv · ")
            assert e2e_procs.pids_running(e2e.APP_BINARY) == apps, "a second app process is running"
            assert e2e_procs.python_children(apps[0]) == sidecars, "a second sidecar started"
        finally:
            driver.quit()
    finally:
        bus.stop()


def test_menu_shortcuts_and_about(display, data_dir, driver_at):
    """Ctrl+N and Ctrl+W through GTK's accelerators; Help › About through the menu bar
    (F10, arrows past File and Edit, Enter), as a keyboard user reaches it."""
    driver = driver_at(e2e.app_env(), cwd=data_dir).session(args=["tiny.parquet"])
    try:
        e2e_procs.wait_until(lambda: settled(driver), 90, what="the file")
        e2e_desktop.keys(display, "^tiny.parquet — buckaroo$", "ctrl+n")
        e2e_procs.wait_until(lambda: len(driver.window_handles) == 2, 20, what="Ctrl+N's window")
        e2e_desktop.keys(display, "^buckaroo$", "ctrl+w")
        e2e_procs.wait_until(lambda: len(driver.window_handles) == 1, 20, what="Ctrl+W to close it")
        driver.switch_to.window(driver.window_handles[0])
        e2e_desktop.keys(display, "^tiny.parquet — buckaroo$", "F10", "Right", "Right", "Down", "Down", "Return")
        about = e2e_procs.wait_until(lambda: driver.execute_script(
            "const d = document.getElementById('about'); return d.open && Object.fromEntries("
            "[...d.querySelectorAll('dd')].map(dd => [dd.dataset.key, dd.textContent]))"), 20, what="the About box")
        version = bundle.versions()[0]
        assert about["buckaroo-tauri-example"] == version
        assert about["buckaroo"] == e2e_page.page_state(driver)["sidecarText"].split()[-1]
        assert about["Python"].startswith("3.") and str(e2e.VENV_PYTHON.parent) in about["Python"]
        assert about["buckaroo-tauri"] and about["Tauri"].startswith("2.")
    finally:
        driver.quit()


def test_compare_with_shows_each_rows_diff_status(display, driver_at, tmp_path):
    """One changed value, one row only in the first file, one only in the second:
    buckaroo's diff colours, per row."""
    pd.DataFrame({"id": [1, 2, 3, 4], "name": list("abcd"), "score": [10, 20, 30, 40]}).to_csv(tmp_path / "before.csv", index=False)
    pd.DataFrame({"id": [1, 2, 4, 5], "name": list("abde"), "score": [10, 25, 40, 50]}).to_csv(tmp_path / "after.csv", index=False)
    driver = driver_at(e2e.app_env(scope=[tmp_path])).session(args=[str(tmp_path / "before.csv")])
    try:
        e2e_procs.wait_until(lambda: settled(driver), 90, what="before.csv")
        e2e_procs.wait_until(lambda: driver.execute_script(e2e_page.ROWS_PAINTED_JS), 30, what="rows painted")
        driver.execute_script("window.__buckarooApp.compareWith(arguments[0])", str(tmp_path / "after.csv"))
        checked_js = ("return document.getElementById('compare').open"
                      " && [...document.querySelectorAll('#compare-columns input:checked')].map(i => i.value)")
        checked = e2e_procs.wait_until(lambda: driver.execute_script(checked_js), 20, what="the Compare dialog")
        assert checked == ["id"]  # the key column is guessed
        driver.find_element("id", "compare-go").click()
        e2e_procs.wait_until(lambda: "↔ after.csv · 5 rows" in (e2e_page.page_state(driver)["file"] or ""), 60, what="the diff")

        def by_id():
            rows = driver.execute_script(ROWS_IN_WINDOW_JS, ["id", "name", "score"]) or []
            return {r["id"]["text"]: r for r in rows if r.get("id") and r["score"]} if len(rows) == 5 else None

        rows = e2e_procs.wait_until(by_id, 30, what="five diff rows")
        plain = rows["1"]["score"]["bg"]
        # buckaroo's compare palette (compare.py): changed, only in the first, only in the second.
        changed, removed, added = "rgb(108, 131, 181)", "rgb(115, 174, 128)", "rgb(144, 178, 179)"
        assert rows["2"]["score"]["bg"] == changed and rows["2"]["name"]["bg"] == plain  # 20 → 25, name kept
        assert rows["3"]["score"]["bg"] == removed and rows["3"]["score"]["text"].startswith("30")
        assert rows["5"]["score"]["bg"] == added and rows["5"]["score"]["text"] == ""
        assert rows["4"]["score"]["bg"] == plain and plain not in (changed, removed, added)
        assert e2e_page.page_state(driver)["errorCode"] is None
        # buckaroo's helper columns (name|df2, membership, name|eq) stay in the data, not on screen.
        assert not [h for h in grid.header_names(driver) if "|" in h or h == "membership"], grid.header_names(driver)
        grid.wait_idle(driver)
        # Each load's first window (the file, then the diff) was the one asked for with its data.
        counters = e2e_page.page_state(driver)["counters"]
        assert counters["firstWindowUsed"] == 2 and counters["firstWindowUnused"] == 0, counters
    finally:
        driver.quit()


def test_a_dropped_file_loads(display, data_dir, driver_at):
    """A real XDND drop from another X client: the file joins the scope and loads."""
    driver = driver_at(e2e.app_env()).session()
    try:
        e2e_procs.wait_until(lambda: e2e_page.page_state(driver)["sidecar"] == "ready", 90, what="the sidecar")
        log = e2e_desktop.drag_file(display, data_dir / "tiny.parquet", target=(600, 400))
        assert any("DATA-GET" in line for line in log), log
        state = e2e_procs.wait_until(lambda: settled(driver), 60, what="the dropped file to load")
        assert state["file"] == "tiny.parquet · 50 rows", (state, log)
        assert driver.title == "tiny.parquet — buckaroo"
    finally:
        driver.quit()


def test_recent_files_and_window_geometry_survive_a_relaunch(display, data_dir, driver_at, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = e2e.app_env(HOME=str(home))
    driver = driver_at(env, cwd=data_dir).session(args=["tiny.parquet"])
    try:
        e2e_procs.wait_until(lambda: settled(driver), 90, what="the file")
        driver.set_window_rect(x=40, y=30, width=900, height=640)
        e2e_procs.wait_until(lambda: driver.get_window_rect()["width"] == 900, 10, what="the resize")
        time.sleep(0.5)
        e2e_desktop.keys(display, "^tiny.parquet — buckaroo$", "ctrl+q")
        e2e_procs.wait_until(lambda: not e2e_procs.pids_running(e2e.APP_BINARY), 30, what="Ctrl+Q to quit the app")
    finally:
        driver.quit()
    driver = driver_at(env).session()  # no file this time
    try:
        rect = driver.get_window_rect()
        assert (rect["x"], rect["y"], rect["width"], rect["height"]) == (40, 30, 900, 640)
        e2e_procs.wait_until(lambda: e2e_page.page_state(driver)["sidecar"] == "ready", 90, what="the sidecar")
        # File › Open Recent › the first entry.
        e2e_desktop.keys(display, "^buckaroo$", "F10", "Down", "Down", "Right", "Return")
        state = e2e_procs.wait_until(lambda: settled(driver), 60, what="the recent file to load")
        assert state["file"] == "tiny.parquet · 50 rows"
    finally:
        driver.quit()
