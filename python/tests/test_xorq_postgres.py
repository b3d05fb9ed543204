"""A xorq expression over a real 1M-row PostgreSQL table, viewed through our launcher.

The build (`xorq build` of `xo.postgres.connect(...).table("big")`) is served by
/load_expr; every row window must be a LIMIT/OFFSET query that Postgres answers (its
statement log shows them), no statement may read the table's rows unbounded (only
aggregates, for the summary stats), and the launcher must hold much less memory than
the same table loaded from parquet with /load (pandas).
"""

from __future__ import annotations

import io
import re
import time
import uuid
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev import postgres, sample_data, xorq_builds
from buckaroo_tauri_dev.server import launcher_server

TABLE = "big"
ROWS = 1_000_000
SIZE = 100
STARTS = (0, ROWS // 2, ROWS - SIZE)
MIB = 1024 * 1024
FROM_TABLE = re.compile(rf'\bFROM "{TABLE}"')
LIMIT = re.compile(r"\bLIMIT (\d+)(?: OFFSET (\d+))?")
# The stats' queries return one row per group or one row in all: GROUP BY, or a SELECT
# list that opens with an aggregate (COPY (...) TO STDOUT is how ADBC reads a result).
AGGREGATE = re.compile(r"\bGROUP BY\b|^(?:COPY \()?SELECT (?:COUNT|MIN|MAX|SUM|AVG|COALESCE\(SUM)\(")


@dataclass
class Viewed:
    """What a launcher did for one load and the windows at STARTS."""

    reply: dict
    load_seconds: float
    windows: dict[int, pa.Table]
    window_seconds: dict[int, float]
    rss: int
    load_sql: list[str]  # statements Postgres got during the load
    window_sql: list[str]  # ... and during the windows


@pytest.fixture(scope="module")
def big():
    return sample_data.write_all(sample_data.DEFAULT_DIR, include_big=True)["big_1m.parquet"]


@pytest.fixture(scope="module")
def pg(tmp_path_factory, big):
    with postgres.cluster(tmp_path_factory.mktemp("pg")) as cluster:
        assert postgres.load_table(cluster, big, TABLE) == ROWS
        yield cluster
    assert not cluster.data_dir.exists()


def view(route: str, body: dict, home, pg: postgres.Postgres) -> Viewed:
    """Load through a fresh launcher (HOME in `home`), fetch the windows, measure its RSS
    (children included), stop it."""
    with launcher_server(extra_env=xorq_builds.scratch_env(home)) as srv:
        session = uuid.uuid4().hex
        mark = pg.log_offset()
        t0 = time.monotonic()
        status, reply = srv.request("POST", route, {**body, "session": session, "no_browser": True}, timeout=300)
        load_seconds = time.monotonic() - t0
        assert status == 200, reply
        between = pg.log_offset()
        windows, took = {}, {}
        for start, _end, seconds, frame in postgres.view_windows(srv, session, reply["rows"], SIZE):
            took[start] = seconds
            assert frame is not None, f"no parquet frame for the window at {start}"
            windows[start] = pq.read_table(io.BytesIO(frame))
        assert tuple(windows) == STARTS, tuple(windows)
        rss = postgres.tree_rss(srv.proc.pid)
    return Viewed(reply, load_seconds, windows, took, rss,
                  pg.statements(since=mark, until=between), pg.statements(since=between))


@pytest.fixture(scope="module")
def via_postgres(pg, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("pg-build")
    build_dir = postgres.build_expr(pg, workdir, TABLE)
    viewed = view("/load_expr", {"build_dir": str(build_dir)}, workdir, pg)
    print(f"\npostgres: cluster start {pg.timings['start']:.1f}s, load {pg.timings['load']:.1f}s, "
          f"build {pg.timings['build']:.1f}s, /load_expr {viewed.load_seconds:.1f}s, windows "
          + ", ".join(f"{s}: {t * 1000:.0f}ms" for s, t in viewed.window_seconds.items())
          + f", launcher RSS {viewed.rss / MIB:.0f} MiB")
    return viewed


@pytest.fixture(scope="module")
def via_parquet(pg, big, tmp_path_factory):
    viewed = view("/load", {"path": str(big), "mode": "buckaroo"}, tmp_path_factory.mktemp("pq"), pg)
    print(f"\nparquet /load (pandas): {viewed.load_seconds:.1f}s, launcher RSS {viewed.rss / MIB:.0f} MiB")
    return viewed


@pytest.fixture(scope="module")
def expected(big):
    return pq.read_table(big).sort_by("id")


def table_statements(sql: list[str]) -> list[str]:
    return [s for s in sql if FROM_TABLE.search(s)]


def limits(sql: list[str]) -> set[tuple[int, int]]:
    """(LIMIT, OFFSET) of every statement on the table with one; OFFSET absent is 0."""
    found = set()
    for s in table_statements(sql):
        for limit, offset in LIMIT.findall(s):
            found.add((int(limit), int(offset or 0)))
    return found


def test_load_expr_counts_every_row_in_postgres(via_postgres):
    assert via_postgres.reply["rows"] == ROWS
    counts = [s for s in table_statements(via_postgres.load_sql) if "COUNT(*)" in s]
    assert counts, "the row count was not asked of Postgres"


def test_windows_are_the_parquet_rows(via_postgres, expected):
    names = expected.column_names
    for start, window in via_postgres.windows.items():
        # buckaroo renames columns a, b, c... in order and adds its own `index`.
        got = window.select(list(range(len(names)))).rename_columns(names).sort_by("id")
        # The launcher orders windows by id first (a total order); ordering aside,
        # they are the rows at [start, start + SIZE) of the table sorted by id.
        want = expected.slice(start, SIZE)
        assert got.column("id").to_pylist() == want.column("id").to_pylist(), f"window at {start}"
        for name in ("count", "amount", "city", "status", "description", "flag"):
            assert got.column(name).to_pylist() == want.column(name).cast(got.schema.field(name).type).to_pylist(), \
                f"{name} in the window at {start}"


def test_each_window_is_a_limit_offset_query_in_postgres(via_postgres):
    asked = limits(via_postgres.window_sql)
    assert {(SIZE, start) for start in STARTS} <= asked, asked


def test_no_statement_reads_the_table_unbounded(via_postgres):
    statements = table_statements(via_postgres.load_sql + via_postgres.window_sql)
    assert statements
    unbounded = [s for s in statements if not LIMIT.search(s) and not AGGREGATE.search(s)]
    assert not unbounded, unbounded[:3]
    # Whatever reads rows rather than aggregates them pages with LIMIT.
    rows = [s for s in statements if not AGGREGATE.search(s)]
    assert rows and all(LIMIT.search(s) for s in rows)


def test_the_postgres_view_holds_far_less_memory_than_pandas(via_postgres, via_parquet):
    print(f"\nlauncher RSS: postgres build {via_postgres.rss / MIB:.0f} MiB, "
          f"parquet /load {via_parquet.rss / MIB:.0f} MiB")
    assert via_parquet.reply["rows"] == ROWS
    assert via_postgres.rss < via_parquet.rss


def test_the_statement_checks_tell_a_window_from_a_full_read():
    window = f'COPY (SELECT "t0"."id" AS "a" FROM "{TABLE}" AS "t0" ORDER BY "t0"."id" ASC LIMIT 100 OFFSET 5) TO STDOUT'
    stats = f'COPY (SELECT COUNT(*) AS "__total_length__", MIN("t0"."id") FROM "{TABLE}" AS "t0") TO STDOUT'
    full = f'COPY (SELECT "t0"."id" AS "a" FROM "{TABLE}" AS "t0") TO STDOUT (FORMAT binary)'
    assert limits([window, stats, full, 'SELECT 1 FROM "other" LIMIT 3']) == {(100, 5)}
    assert AGGREGATE.search(stats) and not AGGREGATE.search(window) and not AGGREGATE.search(full)
    assert not LIMIT.search(full)
