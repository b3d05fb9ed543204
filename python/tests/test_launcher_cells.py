"""Every cell shows what the file holds (issue 29), through the real launcher: the frames
it sends for files written here (each column's displayer_args, the window's
json_columns, the window's parquet read with pyarrow, 0-row answers, /load_compare's
column_config). What the grid then shows for each displayer is in docs/upstream.md."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev.server import Session, launcher_server

MODES = ["buckaroo", "viewer"]
JSON_LOOKING = ["null", "[1,2]", '{"a": 1}', "1e3", '"quoted"', None]
MADRID_0030 = 1711841400  # 2024-03-31 00:30:00 CET, the night clocks move to CEST
INTS = {"i8": pa.int8(), "i16": pa.int16(), "i32": pa.int32(), "i64": pa.int64(),
        "u8": pa.uint8(), "u16": pa.uint16(), "u32": pa.uint32(), "u64": pa.uint64()}
HIGHEST = {"i8": 127, "i16": 32767, "i32": 2**31 - 1, "i64": 2**63 - 1,
           "u8": 255, "u16": 65535, "u32": 2**32 - 1, "u64": 2**64 - 1}


@pytest.fixture(scope="module")
def srv():
    with launcher_server() as s:
        yield s


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cells")
    us = pa.timestamp("us")
    tables = {
        "text.parquet": pa.table({"s": pa.array(JSON_LOOKING),
                                  "cat": pa.array(["null", "1e3", None, "x", "x", "[1,2]"]).dictionary_encode()}),
        "times.parquet": pa.table({
            "madrid": pa.array([MADRID_0030 * 10**6, None], pa.timestamp("us", tz="Europe/Madrid")),
            "naive": pa.array([MADRID_0030 * 10**6 + 500_000, None], us),
            "fixed": pa.array([MADRID_0030 * 10**6, None], pa.timestamp("us", tz="+05:30")),
            "micros": pa.array([-1, 1_250], us),  # 1969-12-31 23:59:59.999999, 1970-01-01 00:00:00.00125
        }),
        "ints.parquet": pa.table({name: pa.array([1, None, HIGHEST[name]], t) for name, t in INTS.items()}),
        "kinds.parquet": pa.table({
            "date": pa.array([dt.date(2024, 3, 31), None, dt.date(1, 1, 1)], pa.date32()),
            "dec": pa.array([Decimal("1.10"), None, Decimal("12345678901234567890.12")], pa.decimal128(22, 2)),
            "dur": pa.array([dt.timedelta(hours=1, minutes=30), None, dt.timedelta(seconds=-5, microseconds=-1500)],
                            pa.duration("us")),
            "flag": pa.array([True, None, False]),
            "bin": pa.array([b"\x00\xff", None, b""]),
            "time": pa.array([dt.time(0, 30), None, dt.time(23, 59, 59, 999999)]),
            "inf": pa.array([1.5, float("inf"), None]),
        }),
        "empty.parquet": pa.table({"x": pa.array([], pa.int64()), "name": pa.array([], pa.string()),
                                   "at": pa.array([], pa.timestamp("us", tz="Europe/Madrid"))}),
    }
    paths = {}
    for name, table in tables.items():
        pq.write_table(table, root / name)
        paths[name] = root / name
    (root / "left.csv").write_text("id,name\n1,a\n2,b\n3,c\n")
    (root / "right.csv").write_text("id,name\n2,b\n3,X\n4,d\n")
    paths.update({"left.csv": root / "left.csv", "right.csv": root / "right.csv"})
    return paths


def config(ws: Session) -> dict[str, dict]:
    """The user's column name -> its column_config entry."""
    entries = ws.initial_state["df_display_args"]["main"]["df_viewer_config"]["column_config"]
    return {c["header_name"]: c for c in entries}


def displayers(ws: Session) -> dict[str, dict]:
    """The user's column name -> its displayer_args."""
    return {name: c["displayer_args"] for name, c in config(ws).items()}


def window(ws: Session, start: int = 0, end: int = 100, **payload) -> tuple[dict, pa.Table]:
    """A row window: its infinite_resp and its parquet, with the user's column names."""
    resp, parquet = ws.rows(start, end, **payload)
    assert parquet is not None, resp
    table = pq.read_table(io.BytesIO(parquet))
    names = {c["col_name"]: name for name, c in config(ws).items()}
    return resp, table.rename_columns([names.get(n, n) for n in table.column_names])


def cells(table: pa.Table, column: str) -> list:
    """A column's values as the page gets them: JSON-typed cells decoded once (hyparquet's
    one decode; json_columns [] keeps the page from a second one)."""
    values = table.column(column).to_pylist()
    wire = table.schema.field(column).type
    if pa.types.is_string(getattr(wire, "storage_type", wire)):
        return [None if v is None else json.loads(v) for v in values]
    return values


@pytest.mark.parametrize("mode", MODES)
def test_json_looking_text_is_decoded_once(srv, files, mode):
    ws = srv.loaded(files["text.parquet"], mode)
    with ws:
        resp, table = window(ws)
        shown = config(ws)
    assert resp["payload"]["json_columns"] == []  # without it the page parses every text cell again
    assert cells(table, "s") == JSON_LOOKING
    assert cells(table, "cat") == ["null", "1e3", None, "x", "x", "[1,2]"]
    for column in ("s", "cat"):  # text: nulls empty, not "None"
        assert shown[column]["displayer_args"]["displayer"] == "string"


@pytest.mark.parametrize("mode", MODES)
def test_timestamps_carry_their_zone_and_time(srv, files, mode):
    ws = srv.loaded(files["times.parquet"], mode)
    with ws:
        _, table = window(ws)
        shown = displayers(ws)
    date_time = {"year": "numeric", "month": "2-digit", "day": "2-digit", "hour": "2-digit", "minute": "2-digit",
                 "second": "2-digit", "hourCycle": "h23"}
    assert shown["madrid"] == {"displayer": "datetimeLocaleString", "locale": "sv-SE",
                               "args": {**date_time, "timeZone": "Europe/Madrid", "timeZoneName": "short"}}
    assert shown["naive"] == {"displayer": "datetimeLocaleString", "locale": "sv-SE",
                              "args": {**date_time, "timeZone": "UTC", "fractionalSecondDigits": 1}}
    assert shown["micros"]["args"]["fractionalSecondDigits"] == 3
    assert shown["fixed"] == {"displayer": "string"}
    assert cells(table, "fixed") == ["2024-03-31 05:00:00 +05:30", None]
    madrid = table.column("madrid").cast(pa.int64()).to_pylist()
    assert madrid == [MADRID_0030 * 10**6, None]  # the instant itself, in UTC
    # Floored to the millisecond the page's Date holds (hyparquet truncates toward 1970).
    assert table.column("micros").cast(pa.int64()).to_pylist() == [-1000, 1000]


@pytest.mark.parametrize("mode", MODES)
def test_integers_with_nulls_stay_integers(srv, files, mode):
    ws = srv.loaded(files["ints.parquet"], mode)
    reply = ws.load_reply
    with ws:
        _, table = window(ws)
        _, sorted_table = window(ws, sort=config(ws)["i64"]["col_name"], sort_direction="desc")
        shown = displayers(ws)
    dtypes = {c["name"]: c["dtype"] for c in reply["columns"]}
    for name, arrow_type in INTS.items():
        assert dtypes[name] == name.replace("i", "Int").replace("u", "UInt")
        assert table.schema.field(name).type == arrow_type
        assert table.column(name).to_pylist() == [1, None, HIGHEST[name]]
        assert shown[name] == ({"displayer": "float", "min_fraction_digits": 0, "max_fraction_digits": 0}
                               if mode == "buckaroo" else {"displayer": "integer", "min_digits": 1, "max_digits": 12})
    assert sorted_table.column("i64").to_pylist() == [2**63 - 1, 1, None]


@pytest.mark.parametrize("mode", MODES)
def test_dates_decimals_durations_and_other_kinds(srv, files, mode):
    ws = srv.loaded(files["kinds.parquet"], mode)
    with ws:
        _, table = window(ws)
        shown = displayers(ws)
    assert cells(table, "date") == ["2024-03-31", None, "0001-01-01"]
    assert cells(table, "dec") == ["1.10", None, "12345678901234567890.12"]
    assert cells(table, "dur") == ["1h 30m", None, "-5.0015s"]
    assert cells(table, "flag") == [True, None, False]
    assert cells(table, "bin") == ["00ff", None, ""]
    assert cells(table, "time") == ["00:30:00", None, "23:59:59.999999"]
    assert shown["dec"] == {"displayer": "float", "min_fraction_digits": 2, "max_fraction_digits": 2}
    assert shown["flag"] == {"displayer": "boolean"}
    for column in ("date", "dur", "time"):
        assert shown[column] == {"displayer": "string"}
    assert shown["bin"]["displayer"] == "string"
    # buckaroo's styling fails on ±inf and falls back to obj; viewer mode has its float.
    assert shown["inf"]["displayer"] == "float"


@pytest.mark.parametrize("mode", MODES)
def test_a_zero_row_file_has_its_columns_and_an_answered_empty_window(srv, files, mode):
    ws = srv.loaded(files["empty.parquet"], mode)
    reply = ws.load_reply
    with ws:
        resp, table = window(ws, 0, 50)
        shown = config(ws)
    assert reply["rows"] == 0
    assert list(shown) == ["x", "name", "at"]
    assert shown["at"]["displayer_args"]["args"]["timeZone"] == "Europe/Madrid"
    assert resp["length"] == 0 and resp["payload"]["format"] == "parquet_buffer"
    assert table.num_rows == 0 and {"x", "name", "at"} <= set(table.column_names)


def test_compare_hides_its_helper_columns_and_keeps_their_data(srv, files):
    session = uuid.uuid4().hex
    status, reply = srv.request("POST", "/load_compare", {
        "session": session, "path1": str(files["left.csv"]), "path2": str(files["right.csv"]),
        "join_columns": ["id"], "no_browser": True})
    assert status == 200, reply
    with srv.ws(session) as ws:
        ws.initial_state = ws.next_of_type("initial_state")
        _, table = window(ws)
        shown = config(ws)
    helpers = {"name|df2", "membership", "name|eq"}
    assert set(shown) == {"id", "name"} | helpers
    for name, entry in shown.items():
        assert entry.get("ag_grid_specs", {}).get("hide", False) == (name in helpers), name
    assert helpers <= set(table.column_names)  # the tooltip and colours read them
    by_wire = {c["col_name"]: name for name, c in shown.items()}
    assert by_wire[shown["name"]["tooltip_config"]["val_column"]] == "name|df2"
    assert cells(table, "name|df2") == [None, "b", "X", "d"]
