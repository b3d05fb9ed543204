"""The webviews' memory under searches, WebKit's default against the app's limit, one run.

    python -m buckaroo_tauri_dev.bench_webview_memory [--searches 200] [--json out/bench/webview-memory.json]

One window of the debug app shows the 100k sample; the search box is set and cleared
`--searches` times (buckaroo's widget re-renders on each, which is what grows a webview).
The web process's RSS is read before, every 25 searches, right after, and 10 s later,
for `BUCKAROO_WEBVIEW_MEMORY=off` (WebKit's own limit) and for the app's default
(`limit_webview_memory`, 768 MiB checked every 30 s), interleaved `--runs` times. Reported, never failed on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import psutil

from . import e2e, e2e_page, e2e_procs, soak
from .sample_data import DEFAULT_DIR, write_all

# Set or clear the search through the model, as the search box does; resolves once the
# new state came back (df_meta changed).
TOGGLE_JS = """
const [on, done] = [arguments[0], arguments[arguments.length - 1]];
const m = window.__buckaroo.model;
const h = () => { m.off('change:df_meta', h); done(true); };
m.on('change:df_meta', h);
m.set('buckaroo_state', {...m.get('buckaroo_state'), quick_command_args: on ? {search: ['Tokyo']} : {}});
m.save_changes();
"""

LIMITS = {"WebKit's default": "off", "the app's limit (768 MiB, every 30 s)": ""}


def web_process() -> psutil.Process:
    """The WebKitWebProcess of the app just started."""
    _, _, web = soak.processes()
    return next(psutil.Process(p) for p in web if "WebProc" in psutil.Process(p).name())


def one(display: str, limit: str, searches: int) -> dict:
    """RSS (MB) of the window's web process across `searches` searches."""
    samples = write_all(DEFAULT_DIR)
    env = e2e.app_env(scope=[DEFAULT_DIR], **({"BUCKAROO_WEBVIEW_MEMORY": limit} if limit else {}))
    with e2e.running_app(display, env) as (d, _):
        d.set_window_size(1000, 700)
        soak.attached(d)
        d.execute_script("window.__buckarooApp.load(arguments[0])", str(samples["small_100k.parquet"]))
        e2e_procs.wait_until(lambda: d.execute_script(e2e_page.ROWS_PAINTED_JS), timeout=120, what="rows")
        web = web_process()
        mb = lambda: round(web.memory_info().rss / 2**20)  # noqa: E731
        time.sleep(3)
        trail = [mb()]
        for i in range(searches):
            d.execute_async_script(TOGGLE_JS, i % 2 == 0)
            if (i + 1) % 25 == 0:
                trail.append(mb())
        after = mb()
        time.sleep(10)
        return {"before": trail[0], "trail": trail, "after": after, "idle_10s": mb()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    x = e2e.Xvfb().start()
    results: dict[str, list[dict]] = {name: [] for name in LIMITS}
    try:
        for _ in range(args.runs):
            for name, limit in LIMITS.items():
                results[name].append(one(x.display, limit, args.searches))
                print(f"[webview-memory] {name}: {results[name][-1]}", flush=True)
    finally:
        x.stop()
    lines = [f"#### One window, {args.searches} searches: the web process's RSS, MB (median of {args.runs})", "",
             "| limit | before | after | 10 s later | per search |", "|---|---|---|---|---|"]
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("before", "after", "idle_10s")}
        per = (med["after"] - med["before"]) / args.searches
        lines.append(f"| {name} | {med['before']:.0f} | {med['after']:.0f} | {med['idle_10s']:.0f} | {per:+.2f} |")
    print("\n".join(lines))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"searches": args.searches, "runs": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
