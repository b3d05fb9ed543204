"""Files on xorq's embedded engine through the real launcher: the same cells as the pandas
path (python/data samples, every CSV variant, a JSON-lines file written here), the auto
rule by size, every row exactly once over full scans (generated Parquet in row groups and
CSV, from big_files), coded errors, a missing xorq, deferred stats and a socket that keeps
serving meanwhile, reload_expr refused on an engine session.

Launchers run with a temp HOME and a cwd outside the repository (xorq writes into HOME
and reads git state); xorq missing is a fake `xorq` package first on PYTHONPATH.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev.big_files import chunk, write_parquet
from buckaroo_tauri_dev.sample_data import CSV_VARIANTS
from buckaroo_tauri_dev.server import BuckarooServer, Session
from buckaroo_tauri_dev.xorq_builds import without_xorq
from buckaroo_tauri_dev.xorq_scan import our_launcher, started

MIN_BYTES = "BUCKAROO_TAURI_ENGINE_MIN_BYTES"
PIP = re.compile(r'pip install "buckaroo\[server,polars,xorq\]==[0-9.]+" duckdb==[0-9.]+ six "pandas<3"')
JSON_LINES = [
    {"id": 1, "n": 10, "x": 1.5, "name": "alpha", "note": "caf\u00e9 \u2615 \u65e5\u672c"},
    {"id": 2, "n": None, "x": -2.25, "name": "bravo", "note": None},
    {"id": 3, "n": 30, "x": None, "name": None, "note": "plain"},
    {"id": 4, "n": -4, "x": 0.0, "name": "delta", "note": "\u00c7elik; \"quoted\""},
]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("engine").resolve()


@pytest.fixture(scope="module")
def srv(work):
    with started(our_launcher(work), work) as s:
        yield s


@pytest.fixture(scope="module")
def by_size(work):
    """A launcher that sends every engine format to the engine whatever its size."""
    with started(our_launcher(work, **{MIN_BYTES: "0"}), work) as s:
        yield s


@pytest.fixture(scope="module")
def json_lines(work) -> Path:
    path = work / "consistent.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in JSON_LINES), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def grouped_parquet(work) -> Path:
    return write_parquet(work / "rows_200k.parquet", 200_000, row_group_rows=30_000)


@pytest.fixture(scope="module")
def big_csv(work) -> Path:
    # big_files.write_csv's rows (written here: it hands CSVWriter a table where a schema goes).
    table = chunk(0, 100_000)
    path = work / "rows_100k.csv"
    pacsv.write_csv(table.set_column(4, "city", table.column("city").cast(pa.string())), path)
    return path


@pytest.fixture(scope="module")
def slow_stats_parquet(work) -> Path:
    return write_parquet(work / "rows_1500k.parquet", 1_500_000, row_group_rows=100_000)


def load(srv: BuckarooServer, path, caps: str = "", **body) -> tuple[dict, Session]:
    """POST /load of `path` in mode buckaroo (200 expected), its socket open and initial_state read."""
    session = uuid.uuid4().hex
    status, reply = srv.request("POST", "/load", {"path": str(path), "mode": "buckaroo", "session": session,
                                                  "no_browser": True, **body}, timeout=300)
    assert status == 200, reply
    ws = srv.ws(session + (f"?caps={caps}" if caps else ""), timeout=120)
    ws.initial_state = ws.next_of_type("initial_state")
    return reply, ws


def header_names(initial_state: dict) -> dict[str, str]:
    """Wire column ("a", "b", ...) -> the user's column name."""
    config = initial_state["df_display_args"]["main"]["df_viewer_config"]["column_config"]
    return {c["col_name"]: c["header_name"] for c in config}


def wire_name(initial_state: dict, column: str) -> str:
    return {name: wire for wire, name in header_names(initial_state).items()}[column]


def decoded(resp: dict, parquet: bytes, initial_state: dict) -> list[dict]:
    """A window's rows keyed by the user's column names. pandas sessions JSON-encode text
    cells; an engine session sends them plain, except the columns its reply names in
    payload.json_columns."""
    engine = (initial_state.get("metadata") or {}).get("backend") == "xorq"
    json_columns = set((resp.get("payload") or {}).get("json_columns") or [])
    names = header_names(initial_state)

    def cell(wire, value):
        if isinstance(value, str) and (not engine or wire in json_columns):
            return json.loads(value)
        return value
    return [{names[k]: cell(k, v) for k, v in row.items() if k in names}
            for row in pq.read_table(io.BytesIO(parquet)).to_pylist()]


def normal(value):
    """One comparable form: missing -> None, numbers -> float, dates -> ISO text."""
    if hasattr(value, "item") and not isinstance(value, (datetime, date)):
        value = value.item()  # numpy scalars
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if str(value) in ("NaT", "<NA>"):
        return None
    return value


def differences(left: list[dict], right: list[dict]) -> list[str]:
    found = []
    if len(left) != len(right):
        found.append(f"{len(left)} rows against {len(right)}")
    for i, (a, b) in enumerate(zip(left, right, strict=False)):
        if a.keys() != b.keys():
            found.append(f"row {i}: columns {sorted(a)} against {sorted(b)}")
            continue
        for column in a:
            x, y = normal(a[column]), normal(b[column])
            same = (math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) if isinstance(x, float) and isinstance(y, float)
                    else x == y and type(x) is type(y))
            if not same:
                found.append(f"row {i} {column}: {a[column]!r} against {b[column]!r}")
    return found


def window(ws: Session, start: int, end: int, **payload) -> tuple[dict, bytes]:
    resp, parquet = ws.rows(start, end, **payload)
    assert parquet is not None, f"window {start}-{end} has no rows: {resp}"
    return resp, parquet


def ids_of(ws: Session, start: int, end: int, **payload) -> list[int]:
    resp, parquet = window(ws, start, end, **payload)
    return [row["id"] for row in decoded(resp, parquet, ws.initial_state)]


SAME_CELLS = [("tiny.parquet", [(0, 50)]), ("small_100k.parquet", [(0, 500), (50_000, 50_500)]),
              *((name, [(0, 100)]) for name in sorted(CSV_VARIANTS)), ("consistent.jsonl", [(0, 100)])]


@pytest.mark.parametrize(("name", "windows"), SAME_CELLS, ids=[name for name, _ in SAME_CELLS])
def test_the_engine_shows_the_same_cells_as_pandas(srv, samples, json_lines, name, windows):
    path = json_lines if name == "consistent.jsonl" else samples[name]
    pandas_reply, pandas_ws = load(srv, path, backend="pandas")
    engine_reply, engine_ws = load(srv, path, backend="xorq")
    with pandas_ws, engine_ws:
        assert "backend" not in pandas_reply and "backend" not in pandas_ws.initial_state["metadata"]
        assert engine_reply["backend"] == "xorq" and engine_reply["path"] == str(path)
        assert engine_ws.initial_state["metadata"]["backend"] == "xorq"
        assert engine_reply["rows"] == pandas_reply["rows"] > 0
        assert {c["name"] for c in engine_reply["columns"]} == {c["name"] for c in pandas_reply["columns"]}
        if not name.endswith(".jsonl"):  # JSON lines: test_json_lines_keep_the_files_column_order
            assert [c["name"] for c in engine_reply["columns"]] == [c["name"] for c in pandas_reply["columns"]]
        assert set(header_names(engine_ws.initial_state).values()) == set(header_names(pandas_ws.initial_state).values())
        for start, end in windows:
            pandas_resp, pandas_rows = window(pandas_ws, start, end)
            engine_resp, engine_rows = window(engine_ws, start, end)
            assert engine_resp["length"] == pandas_resp["length"] == pandas_reply["rows"]
            expected = decoded(pandas_resp, pandas_rows, pandas_ws.initial_state)
            got = decoded(engine_resp, engine_rows, engine_ws.initial_state)
            assert len(got) == min(end, pandas_reply["rows"]) - start
            assert not differences(expected, got), "\n".join(differences(expected, got)[:20])
    if name in CSV_VARIANTS:  # and both equal what a spreadsheet shows
        spec = CSV_VARIANTS[name]
        assert [got[0][c] for c in spec["columns"]] == spec["first_row"]
        dtypes = {c["name"]: c["dtype"] for c in engine_reply["columns"]}
        assert all(dtypes[c] == "float64" for c, v in zip(spec["columns"], spec["first_row"], strict=True)
                   if isinstance(v, float))
    if name == "consistent.jsonl":
        assert [row["note"] for row in got] == [row["note"] for row in JSON_LINES]


def test_json_lines_keep_the_files_column_order(srv, json_lines):
    reply, ws = load(srv, json_lines, backend="xorq")
    with ws:
        shown = [header_names(ws.initial_state)[c["col_name"]]
                 for c in ws.initial_state["df_display_args"]["main"]["df_viewer_config"]["column_config"]]
    columns = [c["name"] for c in reply["columns"]]
    assert columns == list(JSON_LINES[0]) == shown, f"reply {columns}, grid {shown}, file {list(JSON_LINES[0])}"


def test_a_small_file_without_a_backend_loads_through_pandas(srv, samples):
    for name in ("tiny.parquet", "csv_plain.csv"):
        reply, ws = load(srv, samples[name])
        with ws:
            assert "backend" not in reply and "backend" not in ws.initial_state["metadata"], reply
            assert reply["rows"] == {"tiny.parquet": 50, "csv_plain.csv": 3}[name]


def test_with_no_minimum_size_every_engine_format_goes_to_the_engine(by_size, samples, json_lines):
    for path, rows in ((samples["tiny.parquet"], 50), (samples["csv_tab.tsv"], 3), (json_lines, len(JSON_LINES))):
        reply, ws = load(by_size, path)
        with ws:
            assert (reply.get("backend"), reply["rows"], reply["path"]) == ("xorq", rows, str(path))
            assert ws.initial_state["metadata"]["backend"] == "xorq"
            resp, _ = window(ws, 0, 10)
            assert resp["length"] == rows
    # Not mode buckaroo, or another backend asked for: pandas.
    status, reply = by_size.request("POST", "/load", {"path": str(samples["tiny.parquet"]), "mode": "viewer"})
    assert status == 200 and "backend" not in reply, reply
    reply, ws = load(by_size, samples["tiny.parquet"], backend="pandas")
    ws.close()
    assert "backend" not in reply, reply


def assert_each_once(ids: list, n: int) -> None:
    duplicated, missing = len(ids) - len(set(ids)), len(set(range(n)) - set(ids))
    assert (duplicated, missing, len(ids)) == (0, 0, n), f"{duplicated} ids sent twice, {missing} never, {len(ids)} rows"


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_a_full_unsorted_scan_sends_every_row_once_in_file_order(srv, grouped_parquet, big_csv, kind):
    path, n = (grouped_parquet, 200_000) if kind == "parquet" else (big_csv, 100_000)
    reply, ws = load(srv, path, backend="xorq")
    with ws:
        assert (reply["backend"], reply["rows"]) == ("xorq", n)
        ids = [i for start in range(0, n, 7000) for i in ids_of(ws, start, min(start + 7000, n))]
    assert len(ids) == n and ids == list(range(n)), f"first wrong id at {next(i for i, v in enumerate(ids) if v != i)}"


# buckaroo clamps a window to 10,000 rows (buckaroo.server.window.MAX_INFINITE_WINDOW).
SORTED_WINDOW = 10_000


@pytest.mark.parametrize(("kind", "direction"), [("parquet", "asc"), ("csv", "asc"), ("csv", "desc")])
def test_a_full_scan_sorted_on_a_tied_column_sends_every_row_once_in_a_total_order(
        srv, grouped_parquet, big_csv, kind, direction):
    path, n = (grouped_parquet, 200_000) if kind == "parquet" else (big_csv, 100_000)
    expected = pq.read_table(path) if kind == "parquet" else pacsv.read_csv(path)
    expected = expected.sort_by([("qty", "ascending" if direction == "asc" else "descending"), ("id", "ascending")])
    reply, ws = load(srv, path, backend="xorq")
    with ws:
        sort = {"sort": wire_name(ws.initial_state, "qty"), "sort_direction": direction}
        rows = []
        for start in range(0, n, SORTED_WINDOW):
            resp, parquet = window(ws, start, min(start + SORTED_WINDOW, n), **sort)
            got = decoded(resp, parquet, ws.initial_state)
            assert (resp["length"], len(got)) == (n, min(SORTED_WINDOW, n - start)), resp
            rows += got
    ids, qty = [r["id"] for r in rows], [r["qty"] for r in rows]
    assert_each_once(ids, n)
    assert qty == sorted(qty, reverse=direction == "desc"), "qty out of order"
    # Ties on qty are broken by the next orderable column, the unique id, ascending.
    assert ids == expected.column("id").to_pylist()


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_a_big_files_sorted_windows_come_from_a_sorted_copy_in_the_same_total_order(work, grouped_parquet, direction):
    """The sorted-copy path (every file here: minimum rows 0): the top windows are DuckDB
    top-n queries while the copy is written, then every window a slice of the copy; one
    order throughout, each row once; the copies go when the launcher does."""
    import glob
    import tempfile

    n = 200_000
    expected = pq.read_table(grouped_parquet).sort_by([("qty", "ascending" if direction == "asc" else "descending"),
                                                       ("id", "ascending")]).column("id").to_pylist()
    server = our_launcher(work, BUCKAROO_TAURI_SORTED_COPY_MIN_ROWS="0", BUCKAROO_TAURI_LOG_LEVEL="INFO")
    with started(server, work) as copies:
        reply, ws = load(copies, grouped_parquet, backend="xorq")
        with ws:
            sort = {"sort": wire_name(ws.initial_state, "qty"), "sort_direction": direction}
            top = ids_of(ws, 0, 100, **sort)  # answered before or after the copy: the same rows
            ids = [i for start in range(0, n, SORTED_WINDOW) for i in ids_of(ws, start, min(start + SORTED_WINDOW, n), **sort)]
            assert ids_of(ws, 0, 100, **sort) == top == expected[:100]
        copies.wait_for_stderr("sorted copy of", timeout=120)
        pid = copies.proc.pid
        assert glob.glob(os.path.join(tempfile.gettempdir(), f"buckaroo-tauri-sorted-{pid}-*"))
    assert_each_once(ids, n)
    assert ids == expected
    assert not glob.glob(os.path.join(tempfile.gettempdir(), f"buckaroo-tauri-sorted-{pid}-*")), "copies left behind"


GOOD = "tiny.parquet"
ERRORS = {
    "corrupt_parquet": (lambda s, w: s["corrupt.parquet"], 400, "invalid_file", "magic bytes not found"),
    "missing_parquet": (lambda s, w: w / "no-such-file.parquet", 404, "file_not_found", "no-such-file.parquet"),
    "text_file": (lambda s, w: s["notes.txt"], 400, "engine_unsupported", "the engine reads Parquet"),
    "mixed_json_lines": (lambda s, w: s["mixed_types.jsonl"], 400, "invalid_file", "mixed_types.jsonl: "),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_a_file_the_engine_cannot_serve_gets_a_coded_error_and_the_launcher_carries_on(srv, samples, work, case):
    where, status, code, says = ERRORS[case]
    path = where(samples, work)
    session = uuid.uuid4().hex
    got, reply = srv.request("POST", "/load", {"path": str(path), "mode": "buckaroo", "backend": "xorq",
                                               "session": session, "no_browser": True})
    assert isinstance(reply, dict), f"not one JSON object: {reply!r}"
    assert (got, reply["error_code"]) == (status, code), reply
    assert set(reply) == {"error_code", "message"} and says in reply["message"], reply
    assert "Traceback" not in reply["message"]
    # The same launcher, and the same session, still load a good file on the engine.
    good = srv.load(samples[GOOD], session=session, backend="xorq")
    assert (good["backend"], good["rows"]) == ("xorq", 50)
    with srv.ws(session) as ws:
        ws.initial_state = ws.next_of_type("initial_state")
        assert ids_of(ws, 0, 5) == [0, 1, 2, 3, 4]


@pytest.fixture(scope="module")
def no_xorq(work) -> str:
    return without_xorq(work)


def test_without_xorq_the_engine_answers_501_and_the_size_rule_falls_back_to_pandas(work, samples, no_xorq):
    tiny = samples["tiny.parquet"]
    with started(our_launcher(work, PYTHONPATH=no_xorq, **{MIN_BYTES: "0"}), work) as s:
        status, reply = s.request("POST", "/load", {"path": str(tiny), "mode": "buckaroo", "backend": "xorq"})
        assert (status, reply["error_code"]) == (501, "xorq_not_installed"), reply
        assert PIP.search(reply["message"]), reply["message"]
        reply, ws = load(s, tiny)
        with ws:
            assert "backend" not in reply and reply["rows"] == 50, reply
            assert ids_of(ws, 0, 3) == [0, 1, 2]


def test_engine_stats_follow_the_first_rows_and_windows_are_served_meanwhile(srv, slow_stats_parquet):
    n = 1_500_000
    reply, ws = load(srv, slow_stats_parquet, caps="stats_update", backend="xorq")
    with ws:
        assert (reply["backend"], reply["rows"]) == ("xorq", n)
        stats = ws.initial_state["df_meta"]["stats"]
        assert stats["status"] != "complete" and isinstance(stats["gen"], int), stats
        ws.send({"type": "infinite_request", "stats_gen": stats["gen"], "payload_args": {"start": 0, "end": 100}})
        first = ws.next_of_type("infinite_resp")
        assert first["length"] == n and first["key"] == {"start": 0, "end": 100}
        frame = ws.recv()
        assert isinstance(frame, bytes) and [r["id"] for r in decoded(first, frame, ws.initial_state)] == list(range(100))
        # Asked right after the first reply, while the stats are computing.
        asked = [(700_000, 700_050), (1_499_950, n), (123_456, 123_556)]
        for start, end in asked:
            ws.send({"type": "infinite_request", "payload_args": {"start": start, "end": end}})
        answered, updates = {}, []
        while len(answered) < len(asked) or not updates:
            msg = ws.recv_json()
            if msg.get("type") == "stats_update":
                updates.append(msg)
            elif msg.get("type") == "infinite_resp":
                assert msg.get("payload", {}).get("format") == "parquet_buffer", msg
                frame = ws.recv()
                assert isinstance(frame, bytes), "an infinite_resp not followed by its parquet frame"
                key = (msg["key"]["start"], msg["key"]["end"])
                answered[key] = [r["id"] for r in decoded(msg, frame, ws.initial_state)]
    assert answered == {(start, end): list(range(start, end)) for start, end in asked}
    assert [u["stats_gen"] for u in updates] == [stats["gen"]]
    assert updates[0]["payload"], "stats_update without stats"


def test_reload_expr_on_an_engine_file_session_is_refused(srv, samples):
    reply, ws = load(srv, samples["tiny.parquet"], backend="xorq")
    with ws:
        status, body = srv.request("POST", f"/reload_expr/{reply['session']}", {})
        assert (status, body["error_code"]) == (400, "not_xorq_session"), body
        assert str(samples["tiny.parquet"]) in body["message"]
        assert ids_of(ws, 0, 3) == [0, 1, 2]  # the session still shows its file
