"""Bench section `big`, outside the app: what each big-file measure asks (the windows, the
sorted window) and checks (the ids), DuckDB's own answers as the floor, and one path
(pandas or the engine) on a fresh launcher. bench_big runs them and the app part."""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import time
import uuid
from itertools import pairwise
from pathlib import Path

import psutil
import pyarrow.parquet as pq

from buckaroo_tauri_dev import big_files, e2e
from buckaroo_tauri_dev.xorq_scan import our_launcher, rewritten, started

BIG_DIR = e2e.REPO / "out" / "big"
DEFAULT_ROWS = 20_000_000
WINDOW = 1_000
WINDOW_REPEATS = 5
SORTED_REPEATS = 3
JITTER = 37  # rows between repeats of a window, so no repeat asks for the same rows
SORT_COLUMN = "score"
# buckaroo's search box on the engine: `contains` on every string column (city, tag). A
# city (1 row in 16) and a digit run a few tags hold.
SEARCH_TERMS = ("Kyoto", "4242424")
TIMEOUT = 300.0  # a pandas load of 20M rows takes ~40 s and ~8.5 GB here (2 cores); sorts take seconds
# A sidecar started by a xorq() app imports xorq in the background (BUCKAROO_TAURI_WARM_XORQ);
# loads here start once that import is done, as a user's first load would after a moment.
WARM_XORQ_S = 3.0
# Peak RSS of a pandas load of big_files' columns, per row (8.3 GiB for 20M rows, measured).
PANDAS_BYTES_PER_ROW = 460


def big_file(rows: int) -> Path:
    return big_files.ensure(BIG_DIR / f"rows_{rows}.parquet", rows)


def pandas_skip_reason(rows: int) -> str | None:
    """Why the pandas path is not run on `rows` rows (None: it fits in memory here)."""
    need, have = rows * PANDAS_BYTES_PER_ROW / 2**30, psutil.virtual_memory().total / 2**30
    return None if need < 0.8 * have else f"skipped: would need ~{need:.0f} GiB, this machine has {have:.0f} GiB"


def peak_rss_mib(pid: int) -> float:
    """The kernel's high-water mark of resident memory (VmHWM) of `pid` and its children."""
    pids = [pid]
    with contextlib.suppress(psutil.Error):
        pids += [c.pid for c in psutil.Process(pid).children(recursive=True)]
    total_kib = 0
    for p in pids:
        with contextlib.suppress(OSError):
            total_kib += next(int(line.split()[1]) for line in Path(f"/proc/{p}/status").read_text().splitlines()
                              if line.startswith("VmHWM:"))
    return total_kib / 1024


def starts(rows: int) -> dict[str, list[int]]:
    """The offsets of each timed window: at 0, the middle and the end, JITTER apart."""
    middle = rows // 2 // WINDOW * WINDOW
    return {"0": [JITTER * i for i in range(WINDOW_REPEATS)],
            "middle": [middle + JITTER * i for i in range(WINDOW_REPEATS)],
            "end": [rows - WINDOW - JITTER * i for i in range(WINDOW_REPEATS)]}


def check_ids(ids: list, want: list, what: str) -> None:
    """A benchmark of wrong rows measures nothing: fail on the first one."""
    if ids != want:
        bad = next((i for i, (a, b) in enumerate(zip(ids, want, strict=False)) if a != b), min(len(ids), len(want)))
        got = ids[bad] if bad < len(ids) else "missing"
        raise SystemExit(f"{what}: wrong rows: {len(ids)} rows, row {bad} is {got}, expected {want[bad:bad + 1]}")


# -- DuckDB, the floor --------------------------------------------------------------------

def duckdb_floor(path: Path, rows: int) -> dict:
    """DuckDB's own times for the same questions, and the sorted window's ids (the
    expected answer for both paths)."""
    import duckdb

    con = duckdb.connect()
    try:
        escaped = str(path).replace("'", "''")
        con.sql(f"CREATE VIEW big AS SELECT * FROM read_parquet('{escaped}')")

        def timed(query: str):
            began = time.perf_counter()
            table = con.sql(query).to_arrow_table()
            return (time.perf_counter() - began) * 1e3, table
        count_ms, count = timed("SELECT count(*) AS n FROM big")
        if count.column("n")[0].as_py() != rows:
            raise SystemExit(f"duckdb: {path} has {count.column('n')[0]} rows, expected {rows}")
        first_ms, first = timed(f"SELECT * FROM big LIMIT {WINDOW} OFFSET 0")
        check_ids(first.column("id").to_pylist(), list(range(WINDOW)), "duckdb first window")
        windows = {}
        for where, offsets in starts(rows).items():
            times = []
            for start in offsets:
                ms, table = timed(f"SELECT * FROM big LIMIT {WINDOW} OFFSET {start}")
                check_ids(table.column("id").to_pylist(), list(range(start, start + WINDOW)), f"duckdb window @ {start}")
                times.append(ms)
            windows[where] = statistics.median(times)
        sorted_times, sorted_ids = [], None
        for _ in range(SORTED_REPEATS):
            ms, table = timed(f"SELECT * FROM big ORDER BY {SORT_COLUMN}, id LIMIT {WINDOW}")
            sorted_times.append(ms)
            sorted_ids = table.column("id").to_pylist()
        search = {term: _duckdb_search(timed, term) for term in SEARCH_TERMS}
    finally:
        con.close()
    return {"count_ms": count_ms, "first_ms": first_ms, "load_ms": count_ms + first_ms, "windows": windows,
            "sorted_ms": statistics.median(sorted_times), "sorted_ids": sorted_ids, "search": search}


def _duckdb_search(timed, term: str) -> dict:
    """The search's two questions (its count, its first window) as DuckDB answers them,
    with search_expr's predicate; and a case-blind ILIKE count, the usual scan."""
    quoted = term.replace("'", "''")
    where = f"contains(city, '{quoted}') OR contains(tag, '{quoted}')"
    count_ms, count = timed(f"SELECT count(*) AS n FROM big WHERE {where}")
    first_ms, _ = timed(f"SELECT * FROM big WHERE {where} LIMIT {WINDOW}")
    ilike_ms, _ = timed(f"SELECT count(*) AS n FROM big WHERE city ILIKE '%{quoted}%' OR tag ILIKE '%{quoted}%'")
    return {"count_ms": count_ms, "first_ms": first_ms, "ilike_count_ms": ilike_ms, "matches": count.column("n")[0].as_py()}


# -- the launcher, one path at a time ------------------------------------------------------

def _window(ws, start: int, shown: int, what: str, **payload) -> tuple[float, object]:
    """One timed window: (ms to its parquet frame, the frame as a table); errors fail."""
    began = time.perf_counter()
    resp, frame = ws.rows(start, start + WINDOW, **payload)
    ms = (time.perf_counter() - began) * 1e3
    if frame is None or resp.get("error_info") or resp.get("length") != shown:
        info = str(resp.get("error_info"))[-500:]
        raise SystemExit(f"{what}: no rows (length {resp.get('length')}, code {resp.get('error_code')}): {info}")
    return ms, pq.read_table(io.BytesIO(frame))


def check_window(table, start: int, rows: int, shown: int, what: str, sorted_ids: list | None = None) -> None:
    """The whole file shown: the ids are the offsets asked for (sorted: DuckDB's ids). A
    sample (buckaroo's pandas path keeps a random 1M rows of a bigger file, in file order):
    a full window of the file's ids, increasing (sorted: scores not decreasing)."""
    ids = table.column("a").to_pylist()
    if shown == rows:
        want = list(range(start, start + WINDOW)) if sorted_ids is None else sorted_ids
        check_ids(ids, want, f"{what} (id)")
        if sorted_ids is None:
            check_ids(table.column("index").to_pylist(), want, f"{what} (index)")
        return
    key = ids if sorted_ids is None else table.column("c").to_pylist()
    if len(ids) != WINDOW or not all(0 <= i < rows for i in ids) or any(a > b for a, b in pairwise(key)):
        raise SystemExit(f"{what}: not a window of the sample: {len(ids)} rows, ids {ids[:5]}…")


def _first_rows(ws, what: str) -> tuple[dict, object, float]:
    """initial_state, then the first window (asking for the deferred stats, as the app
    does); returns the state, the window and the time it arrived."""
    state = ws.next_of_type("initial_state")
    stats = (state.get("df_meta") or {}).get("stats") or {}
    msg = {"type": "infinite_request", "payload_args": {"start": 0, "end": WINDOW}}
    if stats.get("status") not in (None, "complete"):
        msg["stats_gen"] = stats["gen"]
    ws.send(msg)
    resp = ws.next_of_type("infinite_resp")
    frame = ws.recv() if (resp.get("payload") or {}).get("format") == "parquet_buffer" else None
    arrived = time.perf_counter()
    if not isinstance(frame, bytes) or resp.get("length") != state["df_meta"]["filtered_rows"]:
        raise SystemExit(f"{what}: first window failed: {str(resp)[:500]}")
    return state, pq.read_table(io.BytesIO(frame)), arrived


def _stats_update(ws, what: str) -> None:
    while True:
        msg = ws.recv()
        if isinstance(msg, bytes):
            continue
        kind = json.loads(msg).get("type")
        if kind == "stats_update":
            return
        if kind in ("stats_aborted", "error"):
            raise SystemExit(f"{what}: {msg[:500]}")


def launcher_path(path: Path, rows: int, backend: str, workdir: Path, sorted_ids: list) -> dict:
    """One path (`pandas` or `xorq`) on a fresh launcher: load → first rows, the windows,
    the sorted window, the deferred stats (engine), the sidecar's peak RSS."""
    what = f"{'engine' if backend == 'xorq' else 'pandas'} path, {rows:,} rows"
    print(f"[bench] big file: {what}", flush=True)
    with started(our_launcher(workdir / backend, BUCKAROO_TAURI_WARM_XORQ="1"), workdir) as srv:
        time.sleep(WARM_XORQ_S)
        session = uuid.uuid4().hex
        began = time.perf_counter()
        status, reply = srv.request("POST", "/load", {"session": session, "path": str(path), "mode": "buckaroo",
                                                      "backend": backend, "no_browser": True}, timeout=TIMEOUT)
        load_ms = (time.perf_counter() - began) * 1e3
        if status != 200 or reply.get("rows") != rows:
            raise SystemExit(f"{what}: /load {status}: {str(reply)[:500]}")
        if (reply.get("backend") == "xorq") != (backend == "xorq"):
            raise SystemExit(f"{what}: the load went the other path: {str(reply)[:300]}")
        ws = srv.ws(session + "?caps=stats_update", timeout=TIMEOUT)
        try:
            state, first, arrived = _first_rows(ws, what)
            first_ms = (arrived - began) * 1e3
            # The rows the grid scrolls through: the file's, or buckaroo's pandas sample of them.
            shown = state["df_meta"]["filtered_rows"]
            if shown != rows and backend == "xorq":
                raise SystemExit(f"{what}: the engine shows {shown:,} rows of {rows:,}")
            check_window(first, 0, rows, shown, f"{what}, first window")
            stats_ms = None
            if backend == "xorq":
                # Waited for before the windows, so they do not share the engine with the stats.
                _stats_update(ws, what)
                stats_ms = (time.perf_counter() - arrived) * 1e3
            windows = {}
            for where, offsets in starts(shown).items():
                times = []
                for start in offsets:
                    ms, table = _window(ws, start, shown, f"{what}, window @ {start}")
                    check_window(table, start, rows, shown, f"{what}, window @ {start}")
                    times.append(ms)
                windows[where] = statistics.median(times)
            with contextlib.redirect_stderr(io.StringIO()):  # buckaroo's import prints a line about IPython
                sort = {"sort": rewritten(pq.read_schema(path).names, SORT_COLUMN), "sort_direction": "asc"}
            sorted_times = []
            for _ in range(SORTED_REPEATS):
                ms, table = _window(ws, 0, shown, f"{what}, sorted window", **sort)
                check_window(table, 0, rows, shown, f"{what}, sorted on {SORT_COLUMN}", sorted_ids)
                sorted_times.append(ms)
            deep = _sorted_deep(ws, shown, what, sort) if backend == "xorq" else None
            search = {term: _search(ws, state, term, what) for term in SEARCH_TERMS} if backend == "xorq" else None
            peak = peak_rss_mib(srv.proc.pid)
        finally:
            ws.close()
    return {"load_http_ms": load_ms, "first_rows_ms": first_ms, "stats_ms": stats_ms, "windows": windows,
            "sorted_ms": statistics.median(sorted_times), "sorted_first_ms": sorted_times[0], "peak_rss_mib": peak,
            "rows_shown": shown, "sorted_deep": deep, "search": search}


def _search(ws, state: dict, term: str, what: str) -> dict:
    """The search box set to `term`, as the page sets it: → the new state's count
    (initial_state), → its first window; then cleared."""
    searched = {**state["buckaroo_state"], "quick_command_args": {"search": [term]}}
    seq = int(time.time() * 1000)
    began = time.perf_counter()
    ws.send({"type": "buckaroo_state_change", "new_state": searched, "state_seq": seq})
    reply = ws.next_of_type("initial_state")
    counted = time.perf_counter()
    matches = reply["df_meta"]["filtered_rows"]
    resp, frame = ws.rows(0, WINDOW)
    if matches and (frame is None or resp.get("error_info") or resp.get("length") != matches):
        raise SystemExit(f"{what}: search {term!r}: no rows (length {resp.get('length')}): {str(resp.get('error_info'))[-300:]}")
    first = time.perf_counter()
    ws.send({"type": "buckaroo_state_change", "new_state": state["buckaroo_state"], "state_seq": seq + 1})
    ws.next_of_type("initial_state")
    return {"count_ms": (counted - began) * 1e3, "first_ms": (first - began) * 1e3, "matches": matches}


def _sorted_deep(ws, rows: int, what: str, sort: dict) -> dict:
    """Sorted windows past the top: the first waits for the sorted copy (launcher: a file
    of 2M+ rows), then 0 / middle / end are slices of it. Checked: index = the offsets,
    the sort column in order."""
    def timed(start: int) -> float:
        ms, table = _window(ws, start, rows, f"{what}, sorted @ {start}", **sort)
        scores = table.column("c").to_pylist()
        if table.column("index").to_pylist() != list(range(start, start + WINDOW)) or scores != sorted(scores):
            raise SystemExit(f"{what}: sorted window @ {start} is not rows {start}… in order")
        return ms
    wait = timed(rows // 2)
    return {"first_deep_ms": wait, **{where: statistics.median(timed(s) for s in offsets) for where, offsets in starts(rows).items()}}
