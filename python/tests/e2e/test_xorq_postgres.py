"""A xorq expression over a real 1M-row PostgreSQL table, viewed in the real app: the
rows the grid paints come from LIMIT/OFFSET queries in Postgres (its statement log),
a sort is an ORDER BY there, and the sidecar holds a fraction of what the same table
takes from parquet. The cluster is Debian's PostgreSQL, started by the test on a
loopback port in a temp dir and stopped (by PID) afterwards."""

from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev import e2e, e2e_page, e2e_procs, postgres, sample_data, xorq_builds

from . import grid

TABLE = "big"
ROWS = 1_000_000
MIB = 1024 * 1024
WINDOW = re.compile(rf'FROM "{TABLE}".*\bLIMIT \d+', re.S)


@pytest.fixture(scope="module")
def big():
    return sample_data.write_all(sample_data.DEFAULT_DIR, include_big=True)["big_1m.parquet"]


@pytest.fixture(scope="module")
def pg_build(tmp_path_factory, big):
    workdir = tmp_path_factory.mktemp("pg-e2e")
    with postgres.cluster(workdir / "pg") as pg:
        assert postgres.load_table(pg, big, TABLE) == ROWS
        yield pg, postgres.build_expr(pg, workdir / "build", TABLE), workdir
    assert not pg.data_dir.exists()


def offset(sql: str) -> int:
    m = re.search(r"\bOFFSET (\d+)", sql)
    return int(m.group(1)) if m else 0


def sidecar_rss(driver) -> int:
    status = e2e_page.invoke(driver, "buckaroo_status")["ok"]
    return postgres.tree_rss(status["pid"])


def test_postgres_rows_are_queries_in_postgres(display, pg_build, big):
    pg, build, workdir = pg_build
    ids = pq.read_table(big, columns=["id", "ratio"]).to_pandas()
    env = e2e.app_env(scope=[workdir, big.parent], HOME=str(xorq_builds.scratch_env(workdir)["HOME"]))
    with e2e.running_app(display, env) as (d, _):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=60, what="sidecar ready")
        rss_idle = sidecar_rss(d)
        mark = pg.log_offset()
        d.execute_script("window.__buckarooApp.loadExpr(arguments[0])", str(build))
        first = grid.wait_ids(d, lambda m: 0 in m and len(m) >= 20, timeout=120, what="first rows from Postgres")
        want = sorted(ids["id"].tolist())
        assert [first[i] for i in range(20)] == want[:20]
        e2e_procs.wait_until(lambda: grid.status_bar(d).get("total_rows") == "1,000,000", timeout=60, what="1M rows")
        windows = [q for q in pg.statements(since=mark) if WINDOW.search(q)]
        assert windows, "no LIMIT/OFFSET query reached Postgres for the painted rows"

        # Scroll to the middle: another window, another query.
        mark = pg.log_offset()
        grid.scroll_to_row(d, 500_000)
        mid = grid.wait_ids(d, lambda m: any(499_000 <= i <= 501_000 for i in m), timeout=60, what="rows near 500,000")
        assert all(v == want[i] for i, v in mid.items() if 499_000 <= i <= 501_000)
        deep = [q for q in pg.statements(since=mark) if WINDOW.search(q)]
        assert any(offset(q) >= 490_000 for q in deep), deep[-3:]

        # Sort by ratio: the ORDER BY runs in Postgres.
        grid.scroll_to_row(d, 0)
        mark = pg.log_offset()
        grid.click_header(d, "e")
        want_sorted = ids.sort_values("ratio", kind="stable")["id"].tolist()[:10]
        grid.wait_ids(d, lambda m: [m.get(i) for i in range(10)] == want_sorted, timeout=120, what="sorted by ratio")
        assert any(re.search(r'ORDER BY "t\d+"\."ratio" ASC', q) for q in pg.statements(since=mark))
        rss_postgres = sidecar_rss(d)

        # The same table from parquet through buckaroo's pandas path, in the same sidecar.
        d.execute_script("window.__buckarooApp.load({path: arguments[0], backend: 'pandas'})", str(big))
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["file"] == "big_1m.parquet · 1,000,000 rows", timeout=120,
                             what="parquet loaded")
        rss_parquet = sidecar_rss(d)
        viewing_postgres, loading_parquet = rss_postgres - rss_idle, rss_parquet - rss_postgres
        print(f"sidecar RSS: idle {rss_idle / MIB:.0f} MiB; +{viewing_postgres / MIB:.0f} MiB viewing the Postgres "
              f"expression (xorq imported, rows, a sort); +{loading_parquet / MIB:.0f} MiB loading the same table from parquet")
        # Materialising the table in Python would cost at least what the parquet load does.
        assert viewing_postgres < loading_parquet
