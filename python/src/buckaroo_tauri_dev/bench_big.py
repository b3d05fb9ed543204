"""Bench section: a file too big for a pandas load, opened through pandas and through the
engine (xorq's embedded DataFusion), with DuckDB's own query times as the floor.

    python -m buckaroo_tauri_dev.bench_big [--rows 20000000 100000000] [--no-app] [--runs 3]

Files are big_files' (id, price, score, qty, city, tag) in out/big/rows_<N>.parquet, made
once and kept. Per path, on a fresh launcher (so its peak RSS is its own; temp HOME, cwd
outside the repository, xorq warmed in the background as a xorq() app does): POST /load →
first 1,000-row window received, 1,000-row windows at 0 / middle / end, a window sorted on
`score`, the engine's deferred stats, a search (buckaroo's search box, two terms: the new
count, then its first window), the sidecar's VmHWM. In one app (the bench build):
load → first rows painted. DuckDB answers the same questions in this process. Pandas is
skipped for a file it would not fit in this machine's memory; on a file of more than 1M
rows it shows buckaroo's random 1M-row sample (ServerSampling.pre_limit), so its windows
are the sample's and are checked as such. Slowness never fails it;
errors and wrong rows (ids other than the offsets asked for, a sorted window other than
DuckDB's) do.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path

from buckaroo_tauri_dev import e2e, e2e_page, e2e_procs
from buckaroo_tauri_dev.bench_big_paths import (
    BIG_DIR,
    DEFAULT_ROWS,
    TIMEOUT,
    WARM_XORQ_S,
    WINDOW,
    big_file,
    duckdb_floor,
    launcher_path,
    pandas_skip_reason,
)
from buckaroo_tauri_dev.bench_big_report import report
from buckaroo_tauri_dev.bench_common import BENCH_BINARY, OUT, stats
from buckaroo_tauri_dev.bench_expr import TIMED_LOAD_JS
from buckaroo_tauri_dev.xorq_builds import scratch_env

# The launcher and DuckDB paths are in bench_big_paths, the report in bench_big_report;
# here: the app part, the section and the standalone CLI.

# -- the app --------------------------------------------------------------------------------

def app_binary() -> Path | None:
    """The bench build, else the tests' build (the same page and plugin: loadPath is all
    this part uses)."""
    return next((b for b in (BENCH_BINARY, e2e.APP_BINARY) if b.exists()), None)


def app_loads(display: str, files: list[tuple[int, Path]], runs: int, workdir: Path) -> dict:
    """load → first rows painted, in one app: per file the first engine load, `runs` more,
    and one pandas load where pandas fits (it takes a pandas-load's seconds)."""
    binary = app_binary()
    if binary is None:
        return {"skipped": "no bench build (out/bench/buckaroo-tauri-example-bench: `make bench` builds it)"}
    print("[bench] big file: load → first rows painted, in the app", flush=True)
    env = e2e.app_env(scope=[BIG_DIR], RUST_LOG="info", HOME=str(scratch_env(workdir / "app")["HOME"]))
    out: dict = {"warm_xorq_s": WARM_XORQ_S, "files": []}

    def load(d, path: Path, rows: int, backend: str) -> dict:
        r = d.execute_async_script(TIMED_LOAD_JS, "loadPath", {"path": str(path), "backend": backend}, TIMEOUT * 1000)
        if "error" in r:
            raise SystemExit(f"app: {backend} load of {path.name} failed: {r['error']}")
        if r["total_rows"] != rows:
            raise SystemExit(f"app: {backend} load of {path.name} shows {r['total_rows']} rows, expected {rows}")
        return r
    with contextlib.ExitStack() as stack:
        with contextlib.chdir(workdir):  # the sidecar's cwd, outside the repository (xorq reads git state)
            d, _ = stack.enter_context(e2e.running_app(display, env, binary=binary))
        d.set_script_timeout(TIMEOUT + 60)
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=90, what="sidecar ready")
        time.sleep(WARM_XORQ_S)
        for i, (rows, path) in enumerate(files):
            first = load(d, path, rows, "xorq")
            engine = [load(d, path, rows, "xorq") for _ in range(runs)]
            entry = {"rows": rows, "engine_first": first, "engine_first_is_apps_first": i == 0,
                     "engine_frame_ms": stats([r["frame_ms"] for r in engine]),
                     "engine_rows_ms": stats([r["rows_ms"] for r in engine]),
                     "engine_stats_ms": stats([r["stats_ms"] for r in engine]), "file_label": engine[-1]["file"]}
            skip = pandas_skip_reason(rows)
            entry["pandas"] = {"skipped": skip} if skip else load(d, path, rows, "pandas")
            out["files"].append(entry)
    return out


# -- the section ------------------------------------------------------------------------

def sizes(args: argparse.Namespace) -> list[int]:
    """`--rows` (standalone) or the 20M-row file, plus bench.py's `--big-rows`."""
    rows = list(getattr(args, "rows", None) or [DEFAULT_ROWS])
    if getattr(args, "big_rows", None):
        rows.append(args.big_rows)
    return sorted(set(rows))


def run(display: str | None, args: argparse.Namespace) -> dict:
    """The section's results; `display` None skips the app part."""
    files = []
    with tempfile.TemporaryDirectory(prefix="bench-big-") as tmp:
        work = Path(tmp).resolve()
        made = []
        for rows in sizes(args):
            print(f"[bench] big file: {rows:,} rows (made once, kept in out/big)", flush=True)
            path = big_file(rows)
            made.append((rows, path))
            floor = duckdb_floor(path, rows)
            entry = {"rows": rows, "file": str(path.relative_to(e2e.REPO)), "bytes": path.stat().st_size,
                     "duckdb": {k: v for k, v in floor.items() if k != "sorted_ids"}}
            skip = pandas_skip_reason(rows)
            entry["pandas"] = {"skipped": skip} if skip else launcher_path(path, rows, "pandas", work, floor["sorted_ids"])
            entry["engine"] = launcher_path(path, rows, "xorq", work, floor["sorted_ids"])
            for term, found in entry["engine"]["search"].items():
                if found["matches"] != floor["search"][term]["matches"]:
                    raise SystemExit(f"search {term!r}: the engine counts {found['matches']:,} rows, DuckDB "
                                     f"{floor['search'][term]['matches']:,}")
            files.append(entry)
        app = app_loads(display, made, args.runs, work) if display else {"skipped": "--no-app"}
    return {"files": files, "app": app, "window_rows": WINDOW}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m buckaroo_tauri_dev.bench_big", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[DEFAULT_ROWS], help="one file per size")
    parser.add_argument("--no-app", action="store_true", help="launcher and DuckDB only")
    parser.add_argument("--runs", type=int, default=3, help="engine loads in the app after the first")
    args = parser.parse_args(argv)
    began = time.monotonic()
    x = None if args.no_app else e2e.Xvfb().start()
    try:
        results = {"big": run(x.display if x else None, args)}
    finally:
        if x:
            x.stop()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "big.json").write_text(json.dumps(results, indent=1))
    print("\n".join(report(results)))
    print(f"\n[bench] {OUT / 'big.json'}; wall {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
