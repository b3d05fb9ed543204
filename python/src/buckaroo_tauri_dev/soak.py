"""Soak: 8 windows of the real app scrolling, sorting and searching for a while.

    python -m buckaroo_tauri_dev.soak --minutes 60 --big-rows 20000000 --json out/soak/soak.json

Two windows each of: a 100k-row Parquet file (pandas), a big Parquet file on xorq's
engine (`--big-rows`; 1M, the sample, by default), one `xorq build` of the 100k file, and
a 100k-row CSV. Each window runs soak_js on the grid's own path (2 windows in flight, 100
or 1000 rows, a sort column or none, a search). Per minute: p50/p99 window latency over
all windows and the RSS of the app, its webviews and the sidecar; in total: windows sent,
answered, never answered, failed (by code), answered with a wrong row count. Exit 1 when
any window went unanswered, failed, or counted wrong. `make soak` runs the hour (not in
CI); tests/e2e/test_soak.py runs 2 minutes in `make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from . import big_files, e2e, e2e_page, e2e_procs, xorq_builds
from .sample_data import DEFAULT_DIR, write_all
from .soak_js import RESULT_JS, START_JS

# Page-side pacing: a user scrolling steadily, not a benchmark's burst.
PAUSE_MS = 150
# A window unanswered this long is counted as never answered (the plugin's row deadline
# answers well before).
WAIT_MS = 120_000
SIZES = [100, 1000]


@dataclass
class WindowPlan:
    """One window: what it opens and how its soak loop behaves."""

    name: str
    path: Path
    rows: int
    expr: bool = False
    terms: tuple[str, ...] = ("Tokyo", "pending")  # sample_data's values

    def config(self, duration_s: float, seed: int, sort_columns: list[str]) -> dict:
        return {"durationMs": int(duration_s * 1000), "seed": seed, "rows": self.rows, "sizes": SIZES,
                "inFlight": 2, "sortColumns": sort_columns, "terms": list(self.terms), "searchShare": 0.04,
                "sortShare": 0.08, "pauseMs": PAUSE_MS, "waitMs": WAIT_MS}


def plans(work: Path, big_rows: int) -> list[WindowPlan]:
    """The 8 windows' files, made if missing (the build in `work`, outside the repository)."""
    samples = write_all(DEFAULT_DIR)
    if big_rows == 1_000_000:
        big = samples["big_1m.parquet"]
    else:
        big = e2e.REPO / "out" / "big" / f"rows_{big_rows // 1_000_000}m.parquet"
        if not big.exists():
            big_files.write_parquet(big, big_rows)
    build = xorq_builds.build(work / "project", xorq_builds.parquet_pipeline(samples["small_100k.parquet"]))
    four = [WindowPlan("pandas parquet", samples["small_100k.parquet"], 100_000),
            # big_files' cities differ from sample_data's.
            WindowPlan("engine file", big, big_rows, terms=("Tokyo",) if big_rows == 1_000_000 else ("Kyoto",)),
            WindowPlan("xorq build", build, 100_000, expr=True),
            WindowPlan("csv", samples["small_100k.csv"], 100_000)]
    return [p for p in four for _ in range(2)]


def attached(d) -> None:
    e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=120, what="sidecar ready")
    e2e_procs.wait_until(lambda: d.execute_script("return !!(window.__buckaroo && window.__buckaroo.sessionId)"),
                         what="attach")


def open_windows(d, windows: list[WindowPlan]) -> list[str]:
    """Each plan in its own app window, rows painted; their WebDriver handles."""
    handles = [d.current_window_handle]
    attached(d)  # the page's controls are wired
    for _ in windows[1:]:
        d.switch_to.window(handles[0])
        d.execute_script("document.getElementById('new-window').click()")
        want = len(handles) + 1
        e2e_procs.wait_until(lambda n=want: len(d.window_handles) == n, timeout=30, what="a new window")
        handles.append(next(h for h in d.window_handles if h not in handles))
    for handle, plan in zip(handles, windows, strict=True):
        d.switch_to.window(handle)
        attached(d)
        call = "loadExpr" if plan.expr else "load"
        d.execute_script(f"window.__buckarooApp.{call}(arguments[0])", str(plan.path))
        e2e_procs.wait_until(lambda: d.execute_script(e2e_page.ROWS_PAINTED_JS), timeout=300, what=f"{plan.name} rows")
    return handles


SORT_COLUMNS_JS = """
const args = window.__buckaroo.model.get('df_display_args') || {};
const main = args.main || Object.values(args)[0];
return main.df_viewer_config.column_config.map((c) => c.col_name).filter((n) => n !== 'index');
"""


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return round(total / 2**20, 1)


def processes() -> tuple[int, int, list[int]]:
    """The app's pid, its sidecar's, and its webview processes'."""
    app = e2e_procs.wait_until(lambda: e2e_procs.pids_running(e2e.APP_BINARY), what="the app's pid")[0]
    sidecar = e2e_procs.wait_until(lambda: e2e_procs.python_children(app), what="the sidecar's pid")[0]
    web = [c.pid for c in psutil.Process(app).children(recursive=True) if c.pid != sidecar
           and c.pid not in {p.pid for p in psutil.Process(sidecar).children(recursive=True)}]
    return app, sidecar, web


def memory(app: int, sidecar: int, web: list[int]) -> dict:
    return {"app": rss_mb([app]), "webviews": rss_mb(web), "sidecar": rss_mb([sidecar])}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def summary(results: list[dict], windows: list[WindowPlan], rss: list[dict], minutes: float) -> dict:
    """Per minute latency and RSS, and the totals the soak is judged by."""
    # Windows answered after the deadline (the last in flight) count in the last minute.
    n = max(1, math.ceil(minutes))
    by_minute: list[list[float]] = [[] for _ in range(n)]
    for r in results:
        for m, b in enumerate(r["perMinute"]):
            if b:
                by_minute[min(m, n - 1)].extend(b["ms"])
    per_minute = []
    for m, ms in enumerate(by_minute):
        per_minute.append({"minute": m + 1, "windows": len(ms), "p50_ms": percentile(ms, 0.5),
                           "p99_ms": percentile(ms, 0.99), "rss_mb": rss[min(m + 1, len(rss) - 1)]})
    errors: dict[str, list[str]] = {}
    for r in results:
        for code, samples in r["errors"].items():
            errors.setdefault(code, []).extend(samples)
    all_ms = [v for r in results for b in r["perMinute"] if b for v in b["ms"]]
    return {
        "windows": [w.name for w in windows],
        "per_window": [{"name": w.name, "answered": r["answered"], "actions": r["actions"]}
                       for w, r in zip(windows, results, strict=True)],
        "sent": sum(r["sent"] for r in results),
        "answered": sum(r["answered"] for r in results),
        "unanswered": sum(r["unanswered"] for r in results),
        "failed": sum(b["errors"] for r in results for b in r["perMinute"] if b),
        "wrong_rows": sum(r["wrongRows"] for r in results),
        "errors": errors,
        "actions": {k: sum(r["actions"][k] for r in results) for k in ("scroll", "sort", "search")},
        "search_ms_median": round(statistics.median(s), 1) if (s := [v for r in results for v in r["searchMs"]]) else None,
        "p50_ms": percentile(all_ms, 0.5),
        "p99_ms": percentile(all_ms, 0.99),
        "rss_start_mb": rss[0],
        "rss_end_mb": rss[-1],
        "per_minute": per_minute,
        "crashes": [r["crash"] for r in results if r["crash"]],
    }


def drive(d, windows: list[WindowPlan], handles: list[str], minutes: float) -> dict:
    """Start every window's loop, sample RSS each minute, collect when all are done."""
    app, sidecar, web = processes()
    rss = [memory(app, sidecar, web)]
    for i, (handle, plan) in enumerate(zip(handles, windows, strict=True)):
        d.switch_to.window(handle)
        columns = d.execute_script(SORT_COLUMNS_JS)
        d.execute_script(START_JS, plan.config(minutes * 60, 1000 + i, columns[:3]))
    started = time.monotonic()
    print(f"[soak] {len(windows)} windows running for {minutes:g} min", flush=True)
    end = started + minutes * 60
    while time.monotonic() < end:
        time.sleep(min(60.0, max(0.0, end - time.monotonic())))
        rss.append(memory(app, sidecar, web))
        print(f"[soak] minute {len(rss) - 1}: rss {rss[-1]}", flush=True)
    # Loops end at their deadline; a window still in flight gets its wait.
    results = []
    for handle in handles:
        d.switch_to.window(handle)
        results.append(e2e_procs.wait_until(lambda: (r := d.execute_script(RESULT_JS)) and r["done"] and r,
                                            timeout=WAIT_MS / 1000 + 30, interval=1, what="the window's loop to end"))
    return summary(results, windows, rss, minutes)


def run(display: str, minutes: float, big_rows: int, work: Path) -> dict:
    windows = plans(work, big_rows)
    env = e2e.app_env(scope=[DEFAULT_DIR, work, e2e.REPO / "out"], HOME=str(xorq_builds.scratch_env(work)["HOME"]))
    with e2e.running_app(display, env) as (d, _):
        d.set_window_size(1000, 700)
        handles = open_windows(d, windows)
        out = drive(d, windows, handles, minutes)
    out.update(minutes=minutes, big_rows=big_rows)
    return out


def report(out: dict) -> str:
    lines = [f"# Soak: {len(out['windows'])} windows, {out['minutes']:g} min, engine file {out['big_rows']:,} rows", "",
             f"windows sent {out['sent']:,}, answered {out['answered']:,}, unanswered {out['unanswered']}, "
             f"failed {out['failed']}, wrong row counts {out['wrong_rows']}; actions {out['actions']}; "
             f"p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms; search median {out['search_ms_median']} ms", "",
             "| minute | windows | p50 ms | p99 ms | app MB | webviews MB | sidecar MB |", "|---|---|---|---|---|---|---|"]
    for m in out["per_minute"]:
        r = m["rss_mb"]
        lines.append(f"| {m['minute']} | {m['windows']} | {m['p50_ms']} | {m['p99_ms']} | {r['app']} | {r['webviews']} | {r['sidecar']} |")
    if out["errors"]:
        lines += ["", "errors: " + json.dumps(out["errors"])[:2000]]
    return "\n".join(lines)


def failures(out: dict) -> list[str]:
    """What makes a soak fail (never its speed)."""
    found = [f"{k}: {out[k]}" for k in ("unanswered", "failed", "wrong_rows") if out[k]]
    return found + [f"a window's loop crashed: {c}" for c in out["crashes"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    x = e2e.Xvfb().start()
    try:
        with tempfile.TemporaryDirectory(prefix="buckaroo-soak-") as work:
            out = run(x.display, args.minutes, args.big_rows, Path(work))
    finally:
        x.stop()
    print(report(out))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    bad = failures(out)
    for b in bad:
        print(f"[soak] FAILED {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    import signal

    # `make soak` interrupted: end through the finally blocks (app, Xvfb, temp dirs).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
