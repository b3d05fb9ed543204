"""The real example app, built with `tauri build --debug --no-bundle`, under Xvfb,
through tauri-driver and WebKitWebDriver, with the real sidecar and real data.
Expectations are computed with pandas from the same files."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest
from selenium.webdriver.common.by import By

from buckaroo_tauri_dev import bundle, contract, e2e, e2e_desktop, e2e_page, e2e_procs
from buckaroo_tauri_dev.bench_js import PAGE_MARKS_JS

from . import grid


def start_env(data_dir, autoload="small_100k.parquet", **kw):
    return e2e.app_env(autoload=data_dir / autoload if autoload else None, scope=[data_dir], **kw)


def ready_pid(driver) -> int:
    status = e2e_page.invoke(driver, "buckaroo_status")["ok"]
    assert status["state"] == "ready", status
    return status["pid"]


def test_page_loads_and_health_is_typed(display, data_dir, shots):
    with e2e.running_app(display, start_env(data_dir, autoload=None)) as (d, _):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=60, what="sidecar ready")
        assert d.find_element(By.ID, "open").is_displayed()
        health = e2e_page.invoke(d, "buckaroo_health")
        assert "err" not in health, health
        h = health["ok"]
        assert h["state"] == "ready" and h["ready"] is True
        assert h["pluginVersion"] == "0.1.0"
        assert isinstance(h["sessionId"], str) and len(h["sessionId"]) == 32
        assert h["connected"] is True
        assert h["server"]["status"] == "ok" and h["server"]["version"] == contract.tested_buckaroo()
        assert "port" not in str(h).lower(), "the port must never reach the page"
        status = e2e_page.invoke(d, "buckaroo_status")["ok"]
        assert status["state"] == "ready" and status["buckarooVersion"] == contract.tested_buckaroo()
        # Disallowed message types are refused with a code, through the real IPC.
        err = e2e_page.invoke(d, "buckaroo_send", {"msg": {"type": "load", "path": "/etc/passwd"}})["err"]
        assert err["code"] == "message_not_allowed"
        err = e2e_page.invoke(d, "buckaroo_load_path", {"args": {"path": "/etc/passwd"}})["err"]
        assert err["code"] == "path_not_allowed" and err["hint"]
        shot = shots / "00-empty.png"
        e2e_page.grab(display, shot)
        assert e2e_page.screenshot_ok(shot, min_colors=3)


def test_autoload_scroll_and_sort(display, data_dir, df100k, shots):
    with e2e.running_app(display, start_env(data_dir)) as (d, _):
        # 1. First rows equal the file's first rows.
        first = grid.wait_ids(d, lambda m: 0 in m and len(m) >= 20, what="first rows")
        assert all(first[i] == int(df100k["id"].iloc[i]) for i in first)
        rows = grid.data_rows(d)
        for i in range(5):
            assert rows[i]["b"].replace(",", "") == str(df100k["count"].iloc[i])
            city = df100k["city"].iloc[i]
            assert rows[i]["f"] == ("" if city != city else city)
        state = e2e_page.page_state(d)
        assert state["file"].startswith("small_100k.parquet · 100,000 rows")
        # Those rows were the window the page asked for with the data, before the grid
        # asked: buckaroo's grid asked for exactly that one (the adapter's FIRST_WINDOW).
        assert state["counters"]["firstWindowUsed"] == 1, state["counters"]
        # The summary stats were shown right after those rows were painted, not with them
        # (the adapter's summary.ts): the pinned rows then show every column's dtype and
        # histogram.
        e2e_procs.wait_until(lambda: grid.histogram_marks(d, "a") > 0, timeout=30, what="id's histogram painted")
        marks = d.execute_script(PAGE_MARKS_JS)
        assert marks["rows-painted"] <= marks["stats-shown"], marks
        counters = e2e_page.page_state(d)["counters"]
        assert (counters["summaryHeld"], counters["summaryLate"]) == (1, 0), counters
        assert grid.pinned_text(d, "dtype", "a") == "int64"
        shot = shots / "01-autoload.png"
        e2e_page.grab(display, shot)
        assert e2e_page.screenshot_ok(shot)

        # 2. Scroll to about row 50,000.
        grid.scroll_to_row(d, 50_000)
        mid = grid.wait_ids(d, lambda m: any(49_900 <= i <= 50_100 for i in m), what="rows near 50,000")
        near = {i: v for i, v in mid.items() if 49_000 <= i <= 51_000}
        assert near, mid
        assert all(v == int(df100k["id"].iloc[i]) for i, v in near.items())

        # 3. Sort by a numeric column (ratio: no nulls, no ties), both directions, then a string one.
        grid.scroll_to_row(d, 0)
        for direction, ascending in (("asc", True), ("desc", False)):
            grid.click_header(d, "e")
            want = df100k.sort_values("ratio", ascending=ascending, kind="stable")["id"].tolist()[:15]
            got = grid.wait_ids(d, lambda m: [m.get(i) for i in range(15)] == want, timeout=30, what=f"ratio {direction}")
            assert [got[i] for i in range(15)] == want
        shot = shots / "03-sorted.png"
        e2e_page.grab(display, shot)
        assert e2e_page.screenshot_ok(shot)

        grid.click_header(d, "e")  # third click: unsorted again
        grid.wait_ids(d, lambda m: [m.get(i) for i in range(5)] == [0, 1, 2, 3, 4], what="unsorted")
        grid.click_header(d, "i")  # code: strings
        want_codes = sorted(df100k["code"].tolist())[:15]
        codes = lambda: [grid.data_rows(d).get(i, {}).get("i") for i in range(15)]  # noqa: E731
        try:
            e2e_procs.wait_until(lambda: codes() == want_codes, timeout=30, what="code asc")
        except TimeoutError:
            assert codes() == want_codes
        e2e_procs.wait_until(lambda: grid.all_answered(d), timeout=30, what="every row request answered")


def test_search_matches_pandas(display, data_dir, df100k):
    term = "kilo lima"
    cols = [c for c in df100k.columns if df100k[c].dtype == object]
    mask = False
    for c in cols:
        mask = mask | df100k[c].astype("string").str.contains(term, regex=False).fillna(False)
    expected = int(mask.sum())
    assert 0 < expected < len(df100k)
    with e2e.running_app(display, start_env(data_dir)) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="first rows")
        grid.search(d, term)
        e2e_procs.wait_until(lambda: grid.status_bar(d).get("filtered_rows", "").replace(",", "") == str(expected), timeout=30,
                             what=f"filtered == {expected}")
        first = grid.wait_ids(d, lambda m: 0 in m and m[0] != 0, what="filtered rows")
        assert first[0] == int(df100k[mask]["id"].iloc[0])


def test_second_file_and_second_window(display, data_dir):
    with e2e.running_app(display, start_env(data_dir)) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="first rows")
        main = d.current_window_handle
        session = e2e_page.page_state(d)["session"]
        d.execute_script("window.__buckarooApp.load(arguments[0])", str(data_dir / "tiny.parquet"))
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["totalRows"] == 50, what="tiny loaded")
        e2e_procs.wait_until(lambda: grid.status_bar(d).get("total_rows") == "50", what="status bar says 50 rows")
        e2e_procs.wait_until(lambda: (m := grid.ids(grid.data_rows(d))) and 0 in m and max(m) < 50, what="tiny's rows shown")
        assert e2e_page.page_state(d)["session"] == session, "same window, same session"

        d.find_element(By.ID, "new-window").click()
        e2e_procs.wait_until(lambda: len(d.window_handles) == 2, timeout=30, what="a second window")
        other = next(h for h in d.window_handles if h != main)
        d.switch_to.window(other)
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["session"], timeout=30, what="second window attached")
        second_session = e2e_page.page_state(d)["session"]
        assert second_session != session
        d.execute_script("window.__buckarooApp.load(arguments[0])", str(data_dir / "small_100k.parquet"))
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["totalRows"] == 100_000, what="100k in the second window")
        e2e_procs.wait_until(lambda: grid.status_bar(d).get("total_rows") == "100,000", what="second window's status bar")
        grid.wait_ids(d, lambda m: 0 in m and len(m) > 10, what="second window rows")
        d.switch_to.window(main)
        assert e2e_page.page_state(d)["totalRows"] == 50
        assert grid.status_bar(d).get("total_rows") == "50"
        assert max(grid.ids(grid.data_rows(d))) < 50


# Every 20 ms from now on: data rows showing a value, the body's scrollTop, and whether
# the grid element is still the one shown when it started; and how many restart replays
# the model applied (initial_state with `replay`).
RECORD_FRAMES_JS = e2e_page.DATA_GRID_JS + """
const first = document.querySelector('.buckaroo-tauri-grid');
window.__frames = []; window.__replays = 0;
window.__buckaroo.model.on('initial_state', (_s, how) => { if (how && how.replay) window.__replays += 1; });
window.__recorder = setInterval(() => {
  const root = dataGrid();
  const painted = root ? [...root.querySelectorAll('.ag-center-cols-container .ag-row .ag-cell[col-id="a"]')]
    .filter(c => c.textContent.trim()).length : 0;
  const vp = root && root.querySelector('.ag-body-viewport');
  window.__frames.push([painted, vp ? vp.scrollTop : -1, document.querySelector('.buckaroo-tauri-grid') === first]);
}, 20);
"""


def _restarted(d, pid: int) -> int:
    """Wait until a sidecar other than `pid` is ready; its pid."""
    def back():
        status = e2e_page.invoke(d, "buckaroo_status")["ok"]
        assert status["state"] != "failed", status
        return status["pid"] if status["state"] == "ready" and status["pid"] != pid else None

    return e2e_procs.wait_until(back, timeout=60, what="a new sidecar ready")


def test_sidecar_kill_9_keeps_the_grid_its_scroll_sort_and_search(display, data_dir, df100k, shots):
    """Issue 33, lever 2: after kill -9 the page keeps its grid (never blank, same
    scroll), the new sidecar serves the same sorted and searched view, and rows asked
    for while no sidecar was up come by themselves."""
    term = "kilo"
    mask = False
    for c in [c for c in df100k.columns if df100k[c].dtype == object]:
        mask = mask | df100k[c].astype("string").str.contains(term, regex=False).fillna(False)
    view = df100k[mask].sort_values("ratio", kind="stable")["id"].tolist()
    assert len(view) > 3_000, len(view)
    rows_right = lambda m: all(v == view[i] for i, v in m.items())  # noqa: E731
    # grid.scroll_to_row scales by the file's rows; the searched grid holds len(view).
    scroll_to = lambda d, row: grid.scroll_to_row(d, round(row * len(df100k) / len(view)))  # noqa: E731
    with e2e.running_app(display, start_env(data_dir)) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="first rows")
        grid.search(d, term)
        e2e_procs.wait_until(lambda: grid.status_bar(d).get("filtered_rows", "").replace(",", "") == str(len(view)), timeout=30,
                             what="searched")
        grid.click_header(d, "e")
        grid.wait_ids(d, lambda m: [m.get(i) for i in range(10)] == view[:10], timeout=30, what="searched, sorted by ratio")
        scroll_to(d, 1_000)
        grid.wait_ids(d, lambda m: any(990 <= i <= 1_010 for i in m) and rows_right(m), what="rows near 1,000")
        d.execute_script(RECORD_FRAMES_JS)

        # 1. Killed while idle: the grid stays as it was through the whole restart.
        pid = ready_pid(d)
        os.kill(pid, signal.SIGKILL)
        pid = _restarted(d, pid)
        e2e_procs.wait_until(lambda: d.execute_script("return window.__replays") == 1, timeout=60, what="the replay applied")
        frames = d.execute_script("clearInterval(window.__recorder); return window.__frames")
        assert len(frames) > 10, frames
        assert all(painted > 0 for painted, _, _ in frames), f"a frame without rows: {frames}"
        assert all(same for _, _, same in frames), "the grid was replaced"
        assert len({top for _, top, _ in frames}) == 1, "the scroll position moved"
        scroll_to(d, 2_000)
        grid.wait_ids(d, lambda m: any(1_990 <= i <= 2_010 for i in m) and rows_right(m), timeout=60,
                      what="the new sidecar's rows, searched and sorted")

        # 2. Rows asked for while no sidecar is up: held, then asked again after the replay.
        os.kill(pid, signal.SIGKILL)
        e2e_procs.wait_until(lambda: e2e_page.invoke(d, "buckaroo_status")["ok"]["state"] != "ready", timeout=30, what="the exit seen")
        scroll_to(d, 3_000)
        _restarted(d, pid)
        grid.wait_ids(d, lambda m: any(2_990 <= i <= 3_010 for i in m) and rows_right(m), timeout=60,
                      what="rows asked for during the restart")
        e2e_procs.wait_until(lambda: grid.all_answered(d), timeout=30, what="no row request left unanswered")
        assert grid.status_bar(d).get("filtered_rows", "").replace(",", "") == str(len(view))
        assert e2e_page.page_state(d)["error"] is None
        assert d.execute_script("return document.querySelectorAll('.buckaroo-tauri-rows-failed').length") == 0
        shot = shots / "06-after-restart.png"
        e2e_page.grab(display, shot)
        assert e2e_page.screenshot_ok(shot)


def test_a_warm_standby_takes_over_and_dies_with_the_app(display, data_dir, df100k):
    """Issue 33, lever 3 (BUCKAROO_STANDBY=1): once idle the app parks a second sidecar;
    kill -9 of the running one promotes it, and killing the app ends every sidecar."""
    with e2e.running_app(display, start_env(data_dir, BUCKAROO_STANDBY="1")) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="first rows")
        sidecar, app = _sidecar_and_app(d)
        standby = e2e_procs.wait_until(lambda: [p for p in e2e_procs.python_children(app.pid) if p != sidecar.pid], timeout=60,
                                       what="a standby started")[0]
        e2e_procs.wait_until(lambda: any(c.status == psutil.CONN_LISTEN for c in psutil.Process(standby).net_connections()),
                             timeout=60, what="the standby listening")
        os.kill(sidecar.pid, signal.SIGKILL)
        grid.scroll_to_row(d, 30_000)
        assert _restarted(d, sidecar.pid) == standby, "the standby took over"
        near = grid.wait_ids(d, lambda m: any(29_980 <= i <= 30_020 for i in m), timeout=60, what="rows from the standby")
        assert all(v == int(df100k["id"].iloc[i]) for i, v in near.items())
        sidecars = [psutil.Process(p) for p in e2e_procs.python_children(app.pid)]
        groups = [p for p in psutil.process_iter() if _pgid(p) in {s.pid for s in sidecars}]
        app.send_signal(signal.SIGKILL)
        gone, alive = psutil.wait_procs(sidecars + groups, timeout=15)
        assert not [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], alive


def _sidecar_and_app(driver) -> tuple[psutil.Process, psutil.Process]:
    sidecar = psutil.Process(ready_pid(driver))
    return sidecar, sidecar.parent()


def test_no_orphans_when_the_app_closes_or_is_killed(display, data_dir):
    with e2e.running_app(display, start_env(data_dir)) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="first rows")
        sidecar, app = _sidecar_and_app(d)
        assert "buckaroo-tauri-example" in app.name()
        d.quit()  # closes the window; the app exits normally
        psutil.wait_procs([app, sidecar], timeout=15)
        assert not sidecar.is_running(), "sidecar outlived a normal exit"

    with e2e.running_app(display, start_env(data_dir)) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="first rows")
        sidecar, app = _sidecar_and_app(d)
        group = [p for p in psutil.process_iter() if _pgid(p) == sidecar.pid]
        app.send_signal(signal.SIGKILL)  # no exit hooks run: only the held-open stdin tells the sidecar
        gone, alive = psutil.wait_procs(group + [sidecar], timeout=15)
        assert not [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], alive


def _pgid(p: psutil.Process) -> int | None:
    try:
        return os.getpgid(p.pid)
    except (ProcessLookupError, psutil.Error):
        return None


@pytest.mark.parametrize(
    "name, code, says",
    [("missing.parquet", "file_not_found", "File not found"), ("corrupt.parquet", "invalid_file", "magic bytes"),
     ("notes.txt", "invalid_file", "Unsupported file format: .txt")],
)
def test_bad_files_show_an_error_and_the_app_stays_usable(display, data_dir, name, code, says):
    with e2e.running_app(display, start_env(data_dir, autoload=None)) as (d, _):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=60, what="ready")
        d.execute_script("window.__buckarooApp.load(arguments[0])", str(data_dir / name))
        state = e2e_procs.wait_until(lambda: (s := e2e_page.page_state(d))["error"] and s, what="error shown")
        assert state["errorCode"] == code
        assert says in state["error"], state["error"]
        el = d.find_element(By.ID, "error")
        assert el.is_displayed()
        assert d.execute_script(  # whole: wrapped, not cut off at the window's edge
            "const e = arguments[0]; return e.scrollWidth <= e.clientWidth + 1 && e.getBoundingClientRect().right <= innerWidth", el)
        d.execute_script("window.__buckarooApp.load(arguments[0])", str(data_dir / "tiny.parquet"))
        grid.wait_ids(d, lambda m: 0 in m, what="good file after the bad one")
        assert e2e_page.page_state(d)["error"] is None


def test_open_dialog_grants_a_file_outside_the_scope(display, data_dir):
    # No scope at all: the page may load only what the user picks.
    with e2e.running_app(display, e2e.app_env(scope=None)) as (d, _):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=60, what="ready")
        tiny = data_dir / "tiny.parquet"
        err = e2e_page.invoke(d, "buckaroo_load_path", {"args": {"path": str(tiny)}})["err"]
        assert err["code"] == "path_not_allowed"
        d.find_element(By.ID, "open").click()  # the page's Open… → buckaroo_pick_file → native dialog
        e2e_desktop.answer_file_dialog(display, tiny)
        e2e_procs.wait_until(lambda: grid.status_bar(d).get("total_rows") == "50", timeout=30, what="picked file shown")
        assert e2e_page.page_state(d)["file"].startswith("tiny.parquet")
        grid.wait_ids(d, lambda m: 0 in m, what="picked file's rows")


@pytest.mark.parametrize("theme, dark", [("Adwaita", False), ("Adwaita:dark", True)])
def test_follows_the_os_theme(display, data_dir, theme, dark):
    with e2e.running_app(display, start_env(data_dir, autoload="tiny.parquet", GTK_THEME=theme)) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="rows")
        matches, body, grid_bg = d.execute_script(
            "return [matchMedia('(prefers-color-scheme: dark)').matches, getComputedStyle(document.body).backgroundColor,"
            " getComputedStyle([...document.querySelectorAll('.ag-root-wrapper')].pop()).backgroundColor]")

        def luminance(css: str) -> float:
            r, g, b = (int(v) for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])
            return 0.2126 * r + 0.7152 * g + 0.0722 * b

        assert matches is dark
        assert (luminance(body) < 80) is dark and (luminance(grid_bg) < 80) is dark, (body, grid_bg)


def launcher_copy(cache: Path) -> Path:
    """The launcher package the app unpacked under XDG_CACHE_HOME=`cache` (one version)."""
    (main,) = (cache / bundle.identifier() / "buckaroo-launcher").glob("*/buckaroo_tauri_sidecar/__main__.py")
    return main.parent


def compiled(package: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (package / "__pycache__").glob("*.pyc")}


def test_the_sidecar_runs_the_launcher_package_from_the_cache(display, data_dir, tmp_path):
    """`python -m buckaroo_tauri_sidecar` from the app's cache: no script in argv, and
    the bytecode written by the first start is what a restart runs."""
    cache = tmp_path / "cache"
    # Bytecode written whatever the caller's shell says (`-m` never caches __main__ itself).
    env = start_env(data_dir, XDG_CACHE_HOME=str(cache), PYTHONDONTWRITEBYTECODE="")
    with e2e.running_app(display, env) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="first rows")
        pid = ready_pid(d)
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        assert argv[1:3] == [b"-m", b"buckaroo_tauri_sidecar"], argv
        assert max(len(a) for a in argv) < 1024, [len(a) for a in argv]
        package = launcher_copy(cache)
        first = compiled(package)
        assert {"cli", "contract", "probe"} <= {name.split(".")[0] for name in first}, first
        os.kill(pid, signal.SIGKILL)

        def restarted() -> bool:
            status = e2e_page.invoke(d, "buckaroo_status")["ok"]
            return status["state"] == "ready" and status["pid"] != pid

        e2e_procs.wait_until(restarted, timeout=60, what="a new sidecar")
        grid.wait_ids(d, lambda m: 0 in m, what="rows after the restart")
        again = compiled(package)
        assert {name: again.get(name) for name in first} == first, "a restart rewrote the launcher's bytecode"
        assert launcher_copy(cache) == package


def test_an_unwritable_launcher_cache_is_named_in_the_window(display, data_dir, tmp_path):
    cache = tmp_path / "read-only-cache"
    cache.mkdir()
    # Immutable: read-only even for root (the suites run as root).
    subprocess.run(["chattr", "+i", str(cache)], check=True)
    try:
        with e2e.running_app(display, start_env(data_dir, autoload=None, XDG_CACHE_HOME=str(cache))) as (d, _):
            state = e2e_procs.wait_until(lambda: (s := e2e_page.page_state(d))["sidecar"] == "failed" and s, timeout=60, what="failed")
            assert state["errorCode"] == "launcher_cache_unwritable", state
            assert str(cache / bundle.identifier()) in state["error"] and "BuckarooConfig::with_launcher_cache" in state["error"], state
    finally:
        subprocess.run(["chattr", "-i", str(cache)], check=True)
