"""`make bench`: the plugin path measured against the direct WebSocket path, in one run.

Real built app (a bench build: it can tell the page where the sidecar listens, which a
shipped build never does) under Xvfb, real sidecar, the 100k sample; then a 20M-row file
through pandas and through the engine, DuckDB as the floor (bench_big). Prints a markdown
table, writes out/bench/results.json and out/bench/chart.png. It is a benchmark: slow
machines do not fail it, wrong rows and errors do.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from . import bench_big, bench_cold, bench_expr, bench_scroll, bench_windows, e2e
from .bench_common import BENCH_BINARY, OUT
from .bench_report import write_results
from .sample_data import DEFAULT_DIR, write_all


def build_bench_app() -> None:
    """The bench build: a release build, as an app ships (the debug build's unoptimised
    relay cost a 1,000-row window ~6 ms more), with feature `bench` and the CSP off so the
    page may open the direct socket."""
    env = {**os.environ}
    app = e2e.REPO / "examples" / "tauri-app"
    cmd = ["npx", "tauri", "build", "--no-bundle", "--features", "bench",
           "--config", json.dumps({"app": {"security": {"csp": None}}})]
    subprocess.run(cmd, cwd=app, env=env, check=True, stdout=subprocess.DEVNULL)
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy2(e2e.RELEASE_BINARY, BENCH_BINARY)
    # Put the shipped-configuration release binary back (the bundle and wheel are made of it).
    subprocess.run(["npx", "tauri", "build", "--no-bundle"], cwd=app, env=env, check=True, stdout=subprocess.DEVNULL)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="cold starts and restarts per path")
    parser.add_argument("--n", type=int, default=20, help="row windows per size and path")
    parser.add_argument("--scroll-requests", type=int, default=10_000)
    parser.add_argument("--scroll-positions", type=int, default=15, help="rows scrolled to, per path")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--only", metavar="A,B", help=f"run only these sections ({', '.join(SECTIONS)}); default all")
    parser.add_argument("--big-rows", type=int, metavar="N",
                        help="big-file section: also a file of N rows (e.g. 100000000; the 20M-row one always runs)")
    return parser.parse_args()


SECTIONS = ("cold", "windows", "scroll", "restart", "expr", "big")


def main() -> None:
    args = parse_args()
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    if only - set(SECTIONS):
        raise SystemExit(f"--only: unknown sections {sorted(only - set(SECTIONS))}; known: {', '.join(SECTIONS)}")
    t_all = time.monotonic()
    sample = write_all(DEFAULT_DIR, include_big=False)["small_100k.parquet"]
    if not args.no_build or not BENCH_BINARY.exists():
        print("[bench] building the bench variant of the app…", flush=True)
        build_bench_app()
    x = e2e.Xvfb().start()
    # Relative to the repo: committed results must not name the machine that ran them.
    results: dict = {"date": datetime.now(UTC).isoformat(), "sample": str(sample.relative_to(e2e.REPO))}
    env = e2e.app_env(autoload=sample, scope=[sample.parent], RUST_LOG="info")
    try:
        if "cold" in only:
            results["cold_start"] = bench_cold.cold_start(x.display, sample, args.runs)
        if "windows" in only:
            results |= bench_windows.in_one_app(x.display, env, sample, args)
        if "scroll" in only:
            results["scroll"] = bench_scroll.scrolling(x.display, env, sample, args.scroll_positions)
        if "restart" in only:
            results["restart_ms"] = bench_cold.restarts(x.display, env, args.runs)
        if "expr" in only:
            # Outside the repository: `xorq build` reads git state.
            with tempfile.TemporaryDirectory(prefix="bench-xorq-") as tmp:
                big = write_all(DEFAULT_DIR, include_big=True)["big_1m.parquet"]
                build = bench_expr.build_1m(big, Path(tmp))
                results["expr_1m"] = bench_expr.expr_loads(x.display, BENCH_BINARY, build, Path(tmp), args.runs)
        if "big" in only:
            results["big"] = bench_big.run(x.display, args)
    finally:
        x.stop()
    results["wall_s"] = time.monotonic() - t_all
    write_results(results)


if __name__ == "__main__":
    main()
