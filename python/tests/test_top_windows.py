"""Top windows of a big file's sort (top_windows.py), alone: each gives exactly the rows
the sorted copy holds there — ties in file order, nulls last, NaN (first descending),
dictionary strings, dates — at the top, across a run of ties, inside one, and at the end."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev.server import launcher_module

top = launcher_module("top_windows")
ROWS = 120_000


@pytest.fixture(scope="module")
def tied(tmp_path_factory) -> str:
    rng = np.random.default_rng(3)
    qty = rng.integers(0, 4, ROWS).astype(float)
    qty[rng.random(ROWS) < 0.05] = np.nan
    table = pa.table({
        "id": np.arange(ROWS),
        "qty": qty,  # ties, and NaN (after every number in DuckDB)
        "maybe": pa.array([None if i % 9 == 0 else i % 11 for i in range(ROWS)], pa.int64()),  # nulls last
        "city": pa.array(rng.choice(["Oslo", "Lagos", "Kyoto"], ROWS)).dictionary_encode(),
        "day": pa.array(np.datetime64("2024-01-01") + rng.integers(0, 40, ROWS).astype("timedelta64[D]")),
        "word": pa.array(rng.choice(["x", "y", "z"], ROWS)),  # plain strings: the one query
        "unique": rng.random(ROWS),
    })
    path = tmp_path_factory.mktemp("top") / "tied.parquet"
    pq.write_table(table, path, row_group_size=20_000)
    return str(path)


def rows(table: pa.Table) -> str:
    return str(table.to_pylist())  # NaN == NaN as text, not as floats


@pytest.mark.parametrize("column", ["id", "qty", "maybe", "city", "day", "word", "unique"])
@pytest.mark.parametrize("ascending", [True, False])
def test_a_top_window_is_the_sorted_copys_rows(tied, column, ascending):
    windows = top.TopWindows(duckdb)
    windows.warm()  # the sidecar's idle warm-up: the database started before the first window
    # What the sorted copy holds: the whole order, no LIMIT (whose pruning is what differs).
    copy = duckdb.connect().sql(top.order_sql(tied, column, ascending)).to_arrow_table()
    for start, end in [(0, 1000), (999, 2000), (29_950, 30_050), (60_000, 60_100), (99_000, 100_000), (119_500, 120_500)]:
        want = copy.slice(start, end - start)
        got = windows.window(tied, column, ascending, start, end)
        assert got.num_rows == min(end, ROWS) - start
        assert rows(got) == rows(want), (column, ascending, start)


def test_plain_strings_and_nested_keys_keep_the_one_query(tied):
    assert not top.key_first(top.column_type(tied, "word"))
    assert all(top.key_first(top.column_type(tied, c)) for c in ("city", "qty", "day"))
    assert top.column_type(tied, "no such column") is None and not top.key_first(None)
