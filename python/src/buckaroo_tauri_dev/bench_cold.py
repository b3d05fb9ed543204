"""Bench sections `cold` and `restart`: launch → first rows painted (app and browser), and
sidecar kill -9 → rows asked for after it painted (the grid kept), each split into phases read from the app's log
(env_logger timestamps) and the page's User Timing marks."""

from __future__ import annotations

import os
import re
import signal
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import urllib3

from . import bench_scroll, e2e, e2e_page, e2e_procs
from .bench_common import BENCH_BINARY, stats
from .bench_js import PAGE_MARKS_JS, ROW_PAINTED_JS, SCROLL_TO_ROW_JS


def log_times(log: Path, marks: dict[str, str]) -> dict[str, float]:
    """Epoch seconds of the first log line holding each needle (env_logger, ms timestamps)."""
    out: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        m = re.match(r"\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z)", line)
        if not m:
            continue
        for key, needle in marks.items():
            if key not in out and needle in line:
                out[key] = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    return out


STATS_SHOWN_JS = "return performance.getEntriesByName('buckaroo-tauri:stats-shown').length > 0"

START_LOG = {"start": "sidecar start attempt=1", "probe": "probe ok", "listening": "sidecar listening",
             "loaded": "autoload /load ok"}


def ms_between(a: float, b: float) -> float:
    """Milliseconds from epoch seconds `a` to `b`."""
    return (b - a) * 1000


def median_phases(phases: list[dict[str, float]]) -> dict[str, float]:
    """Each phase's median over the runs that logged every phase."""
    return {k: statistics.median(p[k] for p in phases) for k in phases[0]} if phases else {}


def start_phases(t0: float, t_rows: float, lt: dict[str, float], page: dict[str, float]) -> dict[str, float] | None:
    """Where one cold start's time went, ms, in order along the critical path."""
    if not (START_LOG.keys() <= lt.keys() and {"state", "rows-requested", "rows-arrived"} <= page.keys()):
        return None
    return {
        "launch → plugin setup": ms_between(t0, lt["start"]),
        "python probe": ms_between(lt["start"], lt["probe"]),
        "sidecar spawn + handshake": ms_between(lt["probe"], lt["listening"]),
        "/load (100k, buckaroo mode)": ms_between(lt["listening"], lt["loaded"]),
        "initial_state in the page after /load ok": ms_between(lt["loaded"], page["state"]),
        "grid's first row request after initial_state": ms_between(page["state"], page["rows-requested"]),
        "first rows arrived after the request": ms_between(page["rows-requested"], page["rows-arrived"]),
        "rows painted after they arrived": ms_between(page["rows-arrived"], t_rows),
        # Off the critical path while Python starts:
        "(page start after launch)": ms_between(t0, page["origin"]),
        "(widget.js ready after launch)": ms_between(t0, page["widget-ready"]) if "widget-ready" in page else float("nan"),
        # The summary stats (pinned rows) are held until the first rows are painted (summary.ts):
        "(summary stats shown after the rows painted)": (ms_between(page["rows-painted"], page["stats-shown"])
                                                         if {"rows-painted", "stats-shown"} <= page.keys() else float("nan")),
    }


def cold_start_app(display: str, sample: Path, runs: int) -> tuple[list[float], list[dict]]:
    totals, phases = [], []
    for _ in range(runs):
        for attempt in (1, 2):
            try:
                t0, t_rows, page, log = one_cold_start(display, sample)
                break
            except (TimeoutError, urllib3.exceptions.ReadTimeoutError) as exc:
                # WebKitWebDriver now and then never answers a new session: once is bad luck.
                if attempt == 2:
                    raise
                print(f"[bench] cold start: the WebDriver session hung ({exc}); once more", flush=True)
        totals.append(ms_between(t0, t_rows))
        p = start_phases(t0, t_rows, log_times(log, START_LOG), page)
        if p:
            phases.append(p)
    return totals, phases


def one_cold_start(display: str, sample: Path) -> tuple[float, float, dict, Path]:
    """Launch → rows painted once: (launch time, painted time, the page's marks, the app's log)."""
    env = e2e.app_env(autoload=sample, scope=[sample.parent], RUST_LOG="info")
    drv = e2e.TauriDriver(display, env).start()
    try:
        t0 = time.time()
        d = drv.session(binary=BENCH_BINARY)
        try:
            e2e_procs.wait_until(lambda: d.execute_script(e2e_page.ROWS_PAINTED_JS), timeout=90, interval=0.02, what="rows painted")
            t_rows = time.time()
            # The summary stats come right after the rows (summary.ts): their mark too.
            e2e_procs.wait_until(lambda: d.execute_script(STATS_SHOWN_JS), timeout=30, what="summary stats shown")
            page = d.execute_script(PAGE_MARKS_JS)
        finally:
            d.quit()
    finally:
        drv.stop()
    return t0, t_rows, page, drv.log_path


def cold_start_browser(sample: Path, runs: int) -> list[float]:
    totals = []
    with bench_scroll.chromium() as browser:
        for _ in range(runs):
            t0 = time.time()
            with bench_scroll.buckaroo_page(browser, sample):
                totals.append((time.time() - t0) * 1000)
    return totals


def cold_start(display: str, sample: Path, runs: int) -> dict:
    print("[bench] cold start: app", flush=True)
    app_cold, phases = cold_start_app(display, sample, runs)
    print("[bench] cold start: browser", flush=True)
    browser_cold = cold_start_browser(sample, runs)
    return {"app": stats(app_cold), "browser": stats(browser_cold),
            "app_phases": median_phases(phases)}


RESTART_LOG = {"down": "sidecar down", "listening": "generation=2", "replayed": "replayed /load"}
# A row of the 100k sample no window has fetched when the sidecar is killed.
RESTART_ROW = 60_000


def restarts(display: str, env: dict[str, str], runs: int) -> dict:
    """kill -9 of the sidecar, then at once a scroll to rows never fetched → those rows
    painted (the page keeps its grid: the user waits only for rows it had not got),
    `runs` times each with a fresh respawn and with a warm standby (BUCKAROO_STANDBY=1),
    interleaved, and where the time went."""
    print("[bench] kill -9 → rows asked for after it painted", flush=True)
    runs_of: dict[str, list[tuple[float, dict | None, float | None]]] = {"respawn": [], "standby": []}
    for _ in range(runs):
        for how in runs_of:
            runs_of[how].append(_one_restart(display, {**env, "BUCKAROO_STANDBY": "1"} if how == "standby" else env))
    out = {}
    for how, done in runs_of.items():
        rss = [r for _, _, r in done if r is not None]
        out[how] = {**stats([ms for ms, _, _ in done]), "phases": median_phases([p for _, p, _ in done if p]),
                    **({"standby_rss_mb": statistics.median(rss)} if rss else {})}
    return out


def _one_restart(display: str, env: dict[str, str]) -> tuple[float, dict | None, float | None]:
    """One app: (kill → the rows asked for after it painted, ms; its phases; the parked standby's RSS, MB)."""
    with e2e.running_app(display, env, binary=BENCH_BINARY) as (d, drv):
        e2e_procs.wait_until(lambda: d.execute_script(e2e_page.ROWS_PAINTED_JS), timeout=90, what="rows painted")
        pid = e2e_page.invoke(d, "buckaroo_status")["ok"]["pid"]
        standby_rss = None
        if env.get("BUCKAROO_STANDBY") == "1":
            app = psutil.Process(pid).parent().pid
            spare = e2e_procs.wait_until(lambda: [p for p in e2e_procs.python_children(app) if p != pid], timeout=60,
                                         what="the standby parked")[0]
            e2e_procs.wait_until(lambda: "standby sidecar parked" in drv.log_path.read_text(errors="replace"), timeout=60,
                                 what="the standby's handshake")
            standby_rss = psutil.Process(spare).memory_info().rss / 2**20
        t0 = time.time()
        os.kill(pid, signal.SIGKILL)
        d.execute_script(SCROLL_TO_ROW_JS, RESTART_ROW)
        e2e_procs.wait_until(lambda: d.execute_script(ROW_PAINTED_JS, RESTART_ROW), timeout=90, interval=0.02,
                             what="rows after restart")
        t_rows = time.time()
        page = d.execute_script(PAGE_MARKS_JS)
        lt = log_times(drv.log_path, RESTART_LOG)
        phases = None
        if RESTART_LOG.keys() <= lt.keys() and "replayed" in page:
            phases = {"kill → the plugin saw the exit": ms_between(t0, lt["down"]),
                      "respawn (or the standby promoted) → listening": ms_between(lt["down"], lt["listening"]),
                      "replayed /load": ms_between(lt["listening"], lt["replayed"]),
                      "replay applied in the page (grid kept)": ms_between(lt["replayed"], page["replayed"]),
                      "rows asked for during the restart painted after that": ms_between(page["replayed"], t_rows)}
        return ms_between(t0, t_rows), phases, standby_rss
