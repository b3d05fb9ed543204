"""Page a xorq build through buckaroo's plain server and through our launcher, and count.

    python -m buckaroo_tauri_dev.xorq_scan [--where 't.city == "Tokyo"'] [--window 1000]

On the 1M-row sample (python/data/big_1m.parquet, made if missing), rewritten with 64k-row
row groups (sample_data writes one; DataFusion reads row groups in parallel), filtered by
`--where` (default: one city, ~71k rows) it prints, per server: a full scan in `--window`-row
windows unsorted and sorted on a column with ties (distinct / duplicated / missing ids
against the expression's own ids), how many different answers the same window gives
when asked 10 times; then the cost of one window (median ms, buckaroo's
window_to_parquet against the launcher's hook, in this process) at offset 0 / middle /
end, unsorted and sorted, on the unfiltered 1M-row build and on the filtered one, and
the /load_expr time inline vs with deferred stats. Builds, HOME and the servers' cwd are in
a scratch directory outside the repository (see xorq_builds).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

from buckaroo_tauri_dev.sample_data import DEFAULT_DIR, write_all
from buckaroo_tauri_dev.server import BuckarooServer, Session, launcher_server
from buckaroo_tauri_dev.xorq_builds import build, parquet_pipeline, row_grouped_copy, scratch_env

DEFAULT_WHERE = 't.city == "Tokyo"'
TIED_SORT = "status"  # 4 values: a sort on it is almost all ties
TIMED_SORT = "count"  # 0..9999 on 1M rows: ~100 ties per value


def rewritten(columns: list[str], name: str) -> str:
    """buckaroo's wire name (a, b, ... in column order) for column `name`."""
    from buckaroo.df_util import to_chars

    return to_chars(columns.index(name))


@contextlib.contextmanager
def started(server: BuckarooServer, cwd: Path) -> Iterator[BuckarooServer]:
    """`server` started with `cwd` as its working directory (xorq reads git state from
    it; a child inherits the cwd it is started in)."""
    before = os.getcwd()
    os.chdir(cwd)
    try:
        server.start()
    finally:
        os.chdir(before)
    try:
        yield server
    finally:
        server.stop()


def plain_server(workdir: Path) -> BuckarooServer:
    return BuckarooServer(extra_env={"HOME": scratch_env(workdir)["HOME"]})


def our_launcher(workdir: Path, **env: str) -> BuckarooServer:
    return launcher_server(extra_env={"HOME": scratch_env(workdir)["HOME"], **env})


def load_expr(srv: BuckarooServer, build_dir: Path, caps: str = "", **body) -> Session:
    """A fresh session on `build_dir`, its socket open and initial_state consumed."""
    session = uuid.uuid4().hex
    status, reply = srv.request("POST", "/load_expr", {"session": session, "build_dir": str(build_dir), **body},
                                timeout=300)
    if status != 200:
        raise RuntimeError(f"/load_expr {status}: {reply}")
    ws = srv.ws(session + (f"?caps={caps}" if caps else ""), timeout=300)
    ws.initial_state = ws.next_of_type("initial_state")
    ws.initial_state["reply"] = reply
    return ws


def window_table(ws: Session, start: int, end: int, **payload):
    resp, frame = ws.rows(start, end, **payload)
    if frame is None:
        raise RuntimeError(f"window {start}-{end} has no rows: {resp}")
    return resp, pq.read_table(io.BytesIO(frame))


def window_ids(ws: Session, start: int, end: int, id_col: str = "a", **payload) -> list:
    return window_table(ws, start, end, **payload)[1].column(id_col).to_pylist()


def scan(ws: Session, total: int, window: int = 1000, id_col: str = "a", **payload) -> list:
    """Every id a full scan in `window`-row windows gets, in order."""
    ids: list = []
    for start in range(0, total, window):
        ids += window_ids(ws, start, min(start + window, total), id_col, **payload)
    return ids


def scan_counts(ids: list, expected: set) -> dict:
    counts = Counter(ids)
    return {"rows": len(ids), "distinct": len(counts), "duplicated": sum(1 for c in counts.values() if c > 1),
            "missing": len(expected - counts.keys()), "unexpected": len(counts.keys() - expected)}


def answers(ws: Session, start: int, end: int, times: int = 10, **payload) -> int:
    """How many different id sequences the same window gives when asked `times` times."""
    return len({tuple(window_ids(ws, start, end, **payload)) for _ in range(times)})


def window_ms(ws: Session, start: int, end: int, repeats: int = 5, **payload) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        ws.rows(start, end, **payload)
        times.append((time.perf_counter() - began) * 1e3)
    return statistics.median(times)


def window_costs(build_dir: Path, window: int, repeats: int) -> dict:
    """{"<order> @ <offset>": (buckaroo ms, launcher ms)} for one window, calling buckaroo's
    window_to_parquet and the launcher's hook around it on the same expression."""
    from buckaroo.server import xorq_loading

    from buckaroo_tauri_dev.server import launcher_module

    plain = xorq_loading.window_to_parquet
    fixed = launcher_module("xorq_windows").totally_ordered_windows(plain)
    expr = xorq_loading.load_expr_build_dir(str(build_dir))
    rows = int(expr.count().execute())

    def ms(fn, start, sort):
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            fn(expr, start, start + window, sort, True)
            times.append((time.perf_counter() - began) * 1e3)
        return statistics.median(times)
    costs = {}
    for sort in (None, TIMED_SORT):
        for where, start in (("0", 0), ("middle", (rows // 2 // window) * window), ("end", rows - window)):
            label = f"{'unsorted' if sort is None else 'sorted on ' + sort} @ {where}"
            costs[label] = (ms(plain, start, sort), ms(fixed, start, sort))
    return costs


def expression_ids(build_dir: Path, home: str) -> set:
    """The ids of the build's expression, executed by xorq itself (in a child with the
    scratch HOME: xorq writes there when imported)."""
    import json
    import subprocess
    import sys

    code = ("import json,sys; import xorq.api as xo; e = xo.load_expr(sys.argv[1]);"
            "print(json.dumps(e.select('id').to_pyarrow().column(0).to_pylist()))")
    done = subprocess.run([sys.executable, "-c", code, str(build_dir)], env={**os.environ, "HOME": home},
                          cwd=home, capture_output=True, text=True, check=True, timeout=300)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def print_scans(work: Path, build_dir: Path, expected: set, w: int, tied: dict) -> None:
    """Per server: full scans unsorted and sorted on the tied column, counted against the
    expression's own ids; then how many answers the same middle window gives."""
    total = len(expected)
    print(f"{'server':9} {'scan':22} {'rows':>8} {'distinct':>8} {'dupl.':>7} {'missing':>7}")
    results = {}
    for kind, make in (("plain", plain_server), ("launcher", our_launcher)):
        with started(make(work), work) as srv:
            ws = load_expr(srv, build_dir)
            for label, payload in (("unsorted", {}), (f"sorted on {TIED_SORT}", tied)):
                c = scan_counts(scan(ws, total, w, **payload), expected)
                print(f"{kind:9} {label:22} {c['rows']:>8} {c['distinct']:>8} {c['duplicated']:>7} "
                      f"{c['missing']:>7}")
            middle = (total // 2 // w) * w
            same = {label: answers(ws, middle, middle + w, **payload)
                    for label, payload in (("unsorted", {}), (f"sorted on {TIED_SORT}", tied))}
            ws.close()
            results[kind] = same
    print()
    print("same middle window asked 10 times: different answers (plain / launcher)")
    for label in results["plain"]:
        print(f"  {label:22} {results['plain'][label]:>3} / {results['launcher'][label]}")
    print()


def print_load_expr_times(work: Path, build_dir: Path) -> None:
    """/load_expr on the launcher, stats inline against deferred."""
    with started(our_launcher(work), work) as srv:
        print("/load_expr on the 1M-row build, launcher, median of 3 after one warm-up (ms)")
        srv.request("POST", "/load_expr", {"session": uuid.uuid4().hex, "build_dir": str(build_dir)}, timeout=300)
        for delivery in ("inline", "deferred"):
            times = []
            for _ in range(3):
                began = time.perf_counter()
                status, _reply = srv.request("POST", "/load_expr", {
                    "session": uuid.uuid4().hex, "build_dir": str(build_dir), "stats_delivery": delivery})
                times.append((time.perf_counter() - began) * 1e3)
                assert status == 200, _reply
            print(f"  {delivery:9} {statistics.median(times):8.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m buckaroo_tauri_dev.xorq_scan")
    parser.add_argument("--where", default=DEFAULT_WHERE)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)

    big = write_all(DEFAULT_DIR, include_big=True)["big_1m.parquet"]
    with tempfile.TemporaryDirectory(prefix="xorq-scan-") as tmp:
        work = (args.workdir or Path(tmp)).resolve()
        home = scratch_env(work)["HOME"]
        grouped = row_grouped_copy(big, work / "big_1m_row_groups.parquet")
        filtered = build(work / "filtered", parquet_pipeline(grouped, where=args.where))
        full = build(work / "full", parquet_pipeline(grouped))
        expected = expression_ids(filtered, home)
        columns = pq.read_schema(big).names
        tied = {"sort": rewritten(columns, TIED_SORT), "sort_direction": "asc"}
        total, w = len(expected), args.window
        print(f"expression: big_1m.parquet in 64k-row row groups where {args.where}: {total} rows; "
              f"windows of {w} rows")
        print_scans(work, filtered, expected, w, tied)
        os.environ["HOME"] = home  # this process imports xorq from here on
        for name, build_dir in (("unfiltered 1M-row build", full), (f"where {args.where}", filtered)):
            print(f"one {w}-row window, {name}: buckaroo's window_to_parquet vs the launcher's, "
                  f"in process, median of {args.repeats} (ms)")
            print(f"  {'window':28} {'buckaroo':>9} {'launcher':>9} {'cost':>8}")
            for key, (before, after) in window_costs(build_dir, w, args.repeats).items():
                print(f"  {key:28} {before:>9.1f} {after:>9.1f} {after - before:>+8.1f}")
            print()
        print_load_expr_times(work, full)
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
