"""Exports through the real launcher: what the grid shows (its last window's sort, the
live search), written beside the target and renamed; read back with pyarrow and compared
with the rows the windows send, in order. Engine files stream (a file in file order, a
sorted copy, an engine query in the windows' total order); Cancel leaves nothing and an
older file at the path intact; bad requests are coded."""

from __future__ import annotations

import json
import os
import uuid

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev.big_files import write_parquet
from buckaroo_tauri_dev.xorq_scan import our_launcher, started

from .test_launcher_engine import decoded, differences, header_names, wire_name

WINDOW = 5000


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("export").resolve()


@pytest.fixture(scope="module")
def srv(work):
    # Sorted copies from 150k rows: the 200k file's sorted export reads one, the 100k one queries.
    with started(our_launcher(work, BUCKAROO_TAURI_SORTED_COPY_MIN_ROWS="150000"), work) as s:
        yield s


@pytest.fixture(scope="module")
def rows_200k(work):
    return write_parquet(work / "rows_200k.parquet", 200_000, row_group_rows=30_000)


@pytest.fixture(scope="module")
def rows_100k(work):
    return write_parquet(work / "rows_100k.parquet", 100_000, row_group_rows=30_000)


def export(srv, ws_or_session, path, fmt=None, timeout=600, **body):
    session = ws_or_session if isinstance(ws_or_session, str) else ws_or_session.session_id
    part = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.part")
    fmt = fmt or path.suffix.lstrip(".")
    return srv.request("POST", f"/export/{session}", {"path": str(path), "part_path": str(part), "format": fmt, **body},
                       timeout=timeout)


def opened(srv, path, **body):
    session = uuid.uuid4().hex
    status, reply = srv.request("POST", "/load", {"path": str(path), "mode": "buckaroo", "session": session,
                                                  "no_browser": True, **body}, timeout=300)
    assert status == 200, reply
    ws = srv.ws(session, timeout=120)
    ws.initial_state = ws.next_of_type("initial_state")
    ws.session_id = session
    return ws


def search(ws, term: str) -> None:
    ws.send({"type": "buckaroo_state_change", "new_state": {**ws.initial_state["buckaroo_state"], "search_string": term}})
    ws.next_of_type("initial_state")


def shown_rows(ws, **payload) -> list[dict]:
    """Every row the grid pages through with `payload` (sort), in order, by the user's column names."""
    rows: list[dict] = []
    resp, _ = ws.rows(0, 1, **payload)
    total = resp["length"]
    for start in range(0, total, WINDOW):
        resp, parquet = ws.rows(start, min(total, start + WINDOW), **payload)
        assert parquet is not None, resp
        rows += decoded(resp, parquet, ws.initial_state)
    assert len(rows) == total
    return rows


def parts_in(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(".part"))


def test_a_pandas_view_sorted_and_searched_exports_as_the_grid_shows_it(srv, samples, tmp_path):
    with opened(srv, samples["small_100k.parquet"]) as ws:
        names = list(header_names(ws.initial_state).values())
        search(ws, "juliet kilo")
        sort = {"sort": wire_name(ws.initial_state, "amount"), "sort_direction": "desc"}
        shown = shown_rows(ws, **sort)
        assert 0 < len(shown) < 100_000
        status, reply = export(srv, ws, tmp_path / "view.parquet")
        assert status == 200, reply
        assert (reply["rows"], reply["how"]) == (len(shown), "pandas")
        table = pq.read_table(tmp_path / "view.parquet")
        assert table.column_names == names  # grid order, the user's names
        assert differences(table.to_pylist(), shown) == []
        status, reply = export(srv, ws, tmp_path / "view.csv")
        assert status == 200, reply
        csv = pacsv.read_csv(tmp_path / "view.csv")
        assert csv.column_names == names
        assert csv.column("id").to_pylist() == [r["id"] for r in shown]
        # The whole file: unsorted, unsearched.
        status, reply = export(srv, ws, tmp_path / "whole.jsonl", whole_file=True)
        assert status == 200, reply
        lines = (tmp_path / "whole.jsonl").read_text().splitlines()
        assert [json.loads(line)["id"] for line in lines] == list(range(100_000))
    assert parts_in(tmp_path) == []


@pytest.mark.parametrize(("fixture", "how"), [("rows_200k", "sorted copy"), ("rows_100k", "engine query")])
def test_an_engine_files_sorted_view_exports_in_the_windows_order(srv, request, tmp_path, fixture, how):
    path = request.getfixturevalue(fixture)
    with opened(srv, path, backend="xorq") as ws:
        sort = {"sort": wire_name(ws.initial_state, "qty"), "sort_direction": "asc"}  # ties: the order decides them
        shown = [r["id"] for r in shown_rows(ws, **sort)]
        status, reply = export(srv, ws, tmp_path / "sorted.parquet")
        assert status == 200, reply
        assert reply["how"] == how
        assert pq.read_table(tmp_path / "sorted.parquet").column("id").to_pylist() == shown
        # Unsorted: the file in file order, read straight from it.
        ws.rows(0, 100)
        status, reply = export(srv, ws, tmp_path / "file.tsv")
        assert status == 200 and reply["how"] == "file", reply
        tsv = pacsv.read_csv(tmp_path / "file.tsv", parse_options=pacsv.ParseOptions(delimiter="\t"))
        assert tsv.column("id").to_pylist() == list(range(pq.ParquetFile(path).metadata.num_rows))
        assert tsv.column_names == ["id", "price", "score", "qty", "city", "tag"]


def test_an_engine_search_exports_only_its_matches(srv, rows_200k, tmp_path):
    with opened(srv, rows_200k, backend="xorq") as ws:
        search(ws, "Kyoto")
        shown = [r["id"] for r in shown_rows(ws)]
        assert 0 < len(shown) < 200_000
        status, reply = export(srv, ws, tmp_path / "found.csv")
        assert status == 200, reply
        assert pacsv.read_csv(tmp_path / "found.csv").column("id").to_pylist() == shown


def test_a_cancelled_export_leaves_nothing_and_the_older_file_intact(srv, work, tmp_path):
    big = write_parquet(work / "rows_3m.parquet", 3_000_000)
    target = tmp_path / "out.csv"
    target.write_text("the older file\n")
    with opened(srv, big, backend="xorq") as ws:
        session = ws.session_id
        pending = srv.request_in_background("POST", f"/export/{session}", {
            "path": str(target), "part_path": str(tmp_path / ".out.csv.x.part"), "format": "csv"})
        progress = ws.next_of_type("buckaroo_tauri_export_progress")
        assert progress["total"] == 3_000_000 and 0 < progress["rows"] < 3_000_000, progress
        busy, reply = export(srv, session, tmp_path / "second.csv")
        assert (busy, reply["error_code"]) == (409, "export_busy")
        assert srv.request("POST", f"/export_cancel/{session}", {}) == (200, {"cancelled": True})
        status, reply = pending.wait()
        assert (status, reply["error_code"]) == (409, "export_cancelled"), reply
    assert target.read_text() == "the older file\n"
    assert parts_in(tmp_path) == [] and sorted(os.listdir(tmp_path)) == ["out.csv"]


@pytest.mark.parametrize(("body", "why"), [
    ({"format": "xls"}, "unknown export format"),
    ({"path": "relative.csv"}, "absolute"),
    ({"part_path": "/elsewhere/.x.part"}, "folder of `path`"),
    ({"path": "/no/such/folder/x.csv", "part_path": "/no/such/folder/.x.part"}, "no such folder"),
])
def test_bad_export_requests_are_coded(srv, samples, tmp_path, body, why):
    with opened(srv, samples["tiny.parquet"]) as ws:
        request = {"path": str(tmp_path / "x.csv"), "part_path": str(tmp_path / ".x.part"), "format": "csv", **body}
        status, reply = srv.request("POST", f"/export/{ws.session_id}", request)
        assert (status, reply["error_code"]) == (400, "invalid_export"), reply
        assert why in reply["message"]
    assert os.listdir(tmp_path) == []


def test_a_session_with_nothing_loaded_is_export_unsupported(srv, tmp_path):
    status, reply = export(srv, uuid.uuid4().hex, tmp_path / "x.csv")
    assert (status, reply["error_code"]) == (400, "export_unsupported"), reply
    assert os.listdir(tmp_path) == []


def test_an_xlsx_of_100k_rows_opens_with_openpyxl_and_matches(srv, samples, tmp_path):
    import openpyxl

    with opened(srv, samples["small_100k.parquet"]) as ws:
        shown = shown_rows(ws)
        status, reply = export(srv, ws, tmp_path / "all.xlsx")
        assert status == 200 and reply["rows"] == 100_000, reply
    sheet = openpyxl.load_workbook(tmp_path / "all.xlsx", read_only=True).active
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows))
    assert header == list(shown[0].keys())
    got = [dict(zip(header, r, strict=True)) for r in rows]
    assert len(got) == 100_000
    # Excel has numbers, dates and text: categories and text as text, times to the second.
    def excel(row):
        return {k: (v.replace(microsecond=0).isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
    assert differences([excel(r) for r in got[:2000]], [excel(_excel_value(r)) for r in shown[:2000]]) == []
    assert [r["id"] for r in got] == [r["id"] for r in shown]


def _excel_value(row: dict) -> dict:
    """A shown row as Excel holds it: booleans stay, missing values are blank cells."""
    return {k: (None if v is None or (isinstance(v, float) and v != v) else v) for k, v in row.items()}


def test_an_xlsx_of_more_rows_than_a_sheet_holds_is_refused_before_writing(srv, work, tmp_path):
    big = write_parquet(work / "rows_2m.parquet", 2_000_000)
    with opened(srv, big, backend="xorq") as ws:
        status, reply = export(srv, ws, tmp_path / "big.xlsx")
    assert (status, reply["error_code"]) == (400, "export_too_many_rows"), reply
    assert "2,000,000 rows" in reply["message"] and "CSV or Parquet" in reply["message"]
    assert os.listdir(tmp_path) == []


def copy(srv, ws, start, end, *columns):
    return srv.request("POST", f"/copy/{ws.session_id}", {"start": start, "end": end, "columns": list(columns)})


def test_a_copied_block_is_tsv_of_the_grids_rows_with_a_header(srv, samples):
    with opened(srv, samples["small_100k.parquet"]) as ws:
        wire = {name: wire_name(ws.initial_state, name) for name in ("id", "amount", "description", "created")}
        sort = {"sort": wire["amount"], "sort_direction": "asc"}
        shown = shown_rows(ws, **sort)[10:13]
        status, reply = copy(srv, ws, 10, 13, wire["id"], wire["amount"], wire["description"], wire["created"])
        assert status == 200, reply
        lines = reply["tsv"].splitlines()
        assert lines[0] == "id\tamount\tdescription\tcreated"
        assert [line.split("\t")[0] for line in lines[1:]] == [str(r["id"]) for r in shown]
        assert [line.split("\t")[1] for line in lines[1:]] == [repr(r["amount"]) for r in shown]
        assert (reply["rows"], reply["columns"]) == (3, 4)
        status, reply = copy(srv, ws, 0, 100_000, *[wire_name(ws.initial_state, n) for n in list(shown[0])[:11]])
        assert (status, reply["error_code"]) == (400, "copy_too_big"), reply
        status, reply = copy(srv, ws, 0, 3, "zz")
        assert (status, reply["error_code"]) == (400, "invalid_copy"), reply


def test_an_engine_files_copied_block_comes_from_its_sorted_window(srv, rows_100k):
    with opened(srv, rows_100k, backend="xorq") as ws:
        sort = {"sort": wire_name(ws.initial_state, "qty"), "sort_direction": "desc"}
        ids = [r["id"] for r in shown_rows(ws, **sort)][50_000:50_005]
        status, reply = copy(srv, ws, 50_000, 50_005, wire_name(ws.initial_state, "id"), wire_name(ws.initial_state, "city"))
        assert status == 200, reply
        lines = reply["tsv"].splitlines()
        assert lines[0] == "id\tcity"
        assert [int(line.split("\t")[0]) for line in lines[1:]] == ids
