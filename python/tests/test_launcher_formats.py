"""Text files as people export them, and coded row-window errors (issue 12), through the
real launcher: every CSV variant comes back, through a real infinite_request and its
parquet frame, with the columns and first-row cells sample_data documents; a window
that cannot be serialized names its column."""

from __future__ import annotations

import io
import json
import uuid

import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev.sample_data import CSV_VARIANTS, JSON_LINES_VARIANTS
from buckaroo_tauri_dev.server import BuckarooServer, launcher_server


@pytest.fixture(scope="module")
def srv():
    with launcher_server() as s:
        yield s


def header_names(initial_state: dict) -> dict[str, str]:
    """Wire column ("a", "b", ...) -> the user's column name, as the grid shows it."""
    config = initial_state["df_display_args"]["main"]["df_viewer_config"]["column_config"]
    return {c["col_name"]: c["header_name"] for c in config}


def decoded_rows(parquet: bytes, initial_state: dict) -> list[dict]:
    """Rows keyed by the user's column names. pandas modes JSON-encode text columns;
    lazy mode sends them as plain strings."""
    table = pq.read_table(io.BytesIO(parquet)).to_pylist()
    names = header_names(initial_state)
    json_text = initial_state["mode"] != "lazy"

    def cell(value):
        return json.loads(value) if json_text and isinstance(value, str) else value
    return [{names[k]: cell(v) for k, v in row.items() if k in names} for row in table]


@pytest.mark.parametrize("mode", ["buckaroo", "viewer"])
@pytest.mark.parametrize("name", sorted(CSV_VARIANTS))
def test_csv_variants_come_back_as_a_spreadsheet_shows_them(srv, samples, name, mode):
    spec = CSV_VARIANTS[name]
    ws = srv.loaded(samples[name], mode)
    reply = ws.load_reply
    with ws:
        resp, parquet = ws.rows(0, 100)
    assert [c["name"] for c in reply["columns"]] == spec["columns"]
    assert reply["rows"] == spec["rows"] == resp["length"]
    rows = decoded_rows(parquet, ws.initial_state)
    assert [rows[0][c] for c in spec["columns"]] == spec["first_row"]
    for column, value in zip(spec["columns"], spec["first_row"], strict=True):
        if isinstance(value, float):
            assert dict((c["name"], c["dtype"]) for c in reply["columns"])[column] == "float64"


def test_sorting_uses_the_sniffed_frame(srv, samples):
    """Decimal commas became numbers in the session's frame, so a sort is numeric."""
    ws = srv.loaded(samples["csv_semicolon_decimal.csv"], "buckaroo")
    wire = {v: k for k, v in header_names(ws.initial_state).items()}
    with ws:
        _, parquet = ws.rows(0, 10, sort=wire["revenue"], sort_direction="asc")
    revenue = [row["revenue"] for row in decoded_rows(parquet, ws.initial_state)]
    assert revenue == [-2000.25, 987.0, 1234.5]


def test_lazy_mode_gets_the_sniffed_separator(srv, samples):
    spec = CSV_VARIANTS["csv_bom_semicolon.csv"]
    ws = srv.loaded(samples["csv_bom_semicolon.csv"], "lazy")
    reply = ws.load_reply
    with ws:
        _, parquet = ws.rows(0, 10)
    assert [c["name"] for c in reply["columns"]] == spec["columns"]
    assert decoded_rows(parquet, ws.initial_state)[0]["name"] == spec["first_row"][0]


def test_buckaroo_alone_reads_a_bom_semicolon_csv_as_one_column(samples):
    """Why the launcher sniffs: pins what buckaroo's own reader does with the same file."""
    with BuckarooServer() as plain:
        reply = plain.load(samples["csv_bom_semicolon.csv"], mode="viewer")
    assert len(reply["columns"]) == 1


@pytest.mark.parametrize("mode", ["buckaroo", "viewer"])
def test_a_window_that_cannot_be_serialized_names_its_column(srv, samples, mode):
    spec = JSON_LINES_VARIANTS["mixed_types.jsonl"]
    ws = srv.loaded(samples["mixed_types.jsonl"], mode)
    reply = ws.load_reply
    assert [c["name"] for c in reply["columns"]] == spec["columns"] and reply["rows"] == spec["rows"]
    with ws:
        key = {"start": 0, "end": 100, "sourceName": "x"}
        resp, parquet = ws.rows(**key)
        assert parquet is None
        assert resp["error_code"] == "serialization_failed" and resp["column"] == spec["bad_column"]
        assert resp["length"] == 0 and resp["key"] == key and resp["type"] == "infinite_resp"
        assert resp["error_info"].startswith("column 'value' cannot be serialized: ")
        assert "Traceback" not in resp["error_info"]
        # The rows before the bad one still come, on the same socket.
        ok, parquet = ws.rows(0, spec["bad_row"])
        rows = decoded_rows(parquet, ws.initial_state)
    assert ok["length"] == spec["rows"] and [rows[0][c] for c in spec["columns"]] == spec["first_row"]


def test_every_failed_window_carries_a_code(srv, samples):
    with srv.loaded(samples["tiny.parquet"]) as ws:
        resp, _ = ws.rows(0, 10, sort="zz")
    assert resp["error_code"] == "row_request_failed" and resp["error_info"] == "KeyError: 'zz'"
    with srv.ws(uuid.uuid4().hex) as ws:
        resp, _ = ws.rows(0, 10)
    assert resp["error_code"] == "row_request_failed"
    assert resp["error_info"] == "No data loaded for this session"


def test_a_broken_json_lines_file_is_an_invalid_file(srv, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n[1, 2]\n')
    status, body = srv.request("POST", "/load", {"path": str(bad), "mode": "buckaroo"})
    assert status == 400 and body == {"error_code": "invalid_file", "message": "line 2 is not a JSON object"}


@pytest.mark.parametrize("mode", ["buckaroo", "lazy"])
def test_folders_open_as_parquet_datasets_or_say_why_not(srv, tmp_path, mode):
    """buckaroo takes a folder's empty extension for a format: "Unsupported file format: "
    and nothing after it, even for a folder of Parquet files."""
    import pandas as pd

    (tmp_path / "empty").mkdir()
    (tmp_path / "csvs").mkdir()
    (tmp_path / "csvs" / "a.csv").write_text("x\n1\n")
    for key, values in (("1", [1, 2]), ("2", [3, None])):
        (tmp_path / "hive" / f"k={key}").mkdir(parents=True)
        pd.DataFrame({"a": values}, dtype="Int64").to_parquet(tmp_path / "hive" / f"k={key}" / "part-0.parquet")
    for name in ("empty", "csvs"):
        status, reply = srv.request("POST", "/load", {"path": str(tmp_path / name), "mode": mode, "no_browser": True,
                                                      "session": uuid.uuid4().hex})
        assert status == 400 and reply["error_code"] == "invalid_file", reply
        assert reply["message"] == (f"{tmp_path / name} is a folder without Parquet files in it: open one of its files, "
                                    "or a folder of Parquet files (a dataset)")
    ws = srv.loaded(tmp_path / "hive", mode)
    with ws:
        resp, _ = ws.rows(0, 10)
    assert ws.load_reply["rows"] == resp["length"] == 4
    assert [c["name"] for c in ws.load_reply["columns"]] == ["a", "k"]
