"""Tables of real databases through the launcher (/db_tables, /load_db, /load of a
database file): a 10M-row PostgreSQL table (its own cluster on loopback, a password),
a DuckDB file with three tables, a SQLite file.

What must hold: windows are LIMITed queries on the engine (the statement log), deep
windows use the key's bookmarks, one kept connection serves them, cells match the
database, every failure is coded (wrong password, server down, table dropped, a query
that is not a SELECT), closing the window cancels a 60-s query on the server, and the
password is in no log line and no reply.
"""

from __future__ import annotations

import io
import re
import sqlite3
import time
import uuid

import duckdb
import psycopg
import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev import db_files, postgres, xorq_builds
from buckaroo_tauri_dev.server import launcher_server

ROWS = 10_000_000
PASSWORD = "pw-Zq8#not-in-any-log"
DEEP = ROWS - 10_000  # 9.99M
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    with postgres.cluster(tmp_path_factory.mktemp("pg")) as cluster:
        postgres.series_table(cluster, "big", ROWS, password=PASSWORD)
        print(f"\npostgres: {ROWS:,} rows made in {cluster.timings['load']:.1f} s")
        yield cluster


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    # The most verbose log: the password must not be in it either.
    with launcher_server(extra_env={**xorq_builds.scratch_env(home), "BUCKAROO_TAURI_LOG_LEVEL": "debug"}) as server:
        yield server


def pg_conn(pg, **changes) -> dict:
    return {"kind": "postgres", "host": pg.host, "port": pg.port, "database": pg.dbname, "user": pg.user,
            "password": PASSWORD, **changes}


def window(ws, start: int, end: int, sort: str | None = None, direction: str = "asc"):
    payload = {"sourceName": "default", "origEnd": end, "request_time": int(time.time() * 1000)}
    if sort:
        payload |= {"sort": sort, "sort_direction": direction}
    began = time.monotonic()
    resp, frame = ws.rows(start, end, **payload)
    took = time.monotonic() - began
    return resp, (pq.read_table(io.BytesIO(frame)) if frame else None), took


def open_db(srv, body: dict, timeout: float = 300):
    session = uuid.uuid4().hex
    ws = srv.ws(session, caps="stats_update").__enter__()  # as the plugin connects
    status, reply = srv.request("POST", "/load_db", {"session": session, **body}, timeout=timeout)
    return session, ws, status, reply


def test_tables_are_listed_with_the_catalogs_estimate_and_a_wrong_password_is_coded(pg, srv):
    status, reply = srv.request("POST", "/db_tables", {"connection": pg_conn(pg)})
    assert status == 200, reply
    [big] = reply["tables"]
    assert (big["schema"], big["name"], big["kind"]) == ("public", "big", "table")
    assert abs(big["rows"] - ROWS) < ROWS // 100, big  # pg_class's estimate, not a count
    assert PASSWORD not in str(reply)
    status, reply = srv.request("POST", "/db_tables", {"connection": pg_conn(pg, password="wrong")})
    assert (status, reply["error_code"]) == (401, "db_auth_failed"), reply
    assert "wrong" not in reply["message"]


def test_the_10m_row_table_pages_on_the_engine_with_one_kept_connection(pg, srv):
    mark = pg.log_offset()
    idle = postgres.tree_rss(srv.proc.pid)
    began = time.monotonic()
    session, ws, status, reply = open_db(srv, {"connection": pg_conn(pg), "table": {"name": "big"}})
    loaded = time.monotonic() - began
    try:
        assert status == 200, reply
        assert reply["rows"] == ROWS and reply["backend"] == "xorq" and PASSWORD not in str(reply)
        resp, first, took_first = window(ws, 0, 100)
        assert first.column("a").to_pylist() == list(range(1, 101)), resp
        # The bookmarks are read after the load; give them the time a user takes to scroll.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "bookmark" not in " ".join(pg.statements(since=mark)):
            time.sleep(0.2)
        time.sleep(3)
        took = {}
        for label, start, sort, direction in [("deep", DEEP, None, "asc"), ("end", ROWS - 100, None, "asc"),
                                              ("deep by key desc", DEEP, "a", "desc"), ("deep by key asc", DEEP, "a", "asc")]:
            resp, rows, took[label] = window(ws, start, start + 100, sort, direction)
            assert resp.get("error_code") is None, resp
            ids = rows.column("a").to_pylist()
            expected = list(range(start + 1, start + 101)) if direction == "asc" else list(range(ROWS - start, ROWS - start - 100, -1))
            assert ids == expected, (label, ids[:3])
            assert rows.column("index").to_pylist() == list(range(start, start + 100))
        resp, by_amount, took["sorted by amount (not indexed), deep"] = window(ws, DEEP, DEEP + 100, "c", "asc")
        amounts = by_amount.column("c").to_pylist()
        assert amounts == sorted(amounts) and resp.get("error_code") is None
        rss = postgres.tree_rss(srv.proc.pid)
        statements = pg.statements(since=mark)
    finally:
        ws.__exit__(None, None, None)
    print(f"\nload {loaded:.2f} s · first window {took_first * 1000:.0f} ms · "
          + " · ".join(f"{k} {v * 1000:.0f} ms" for k, v in took.items()) + f" · launcher RSS {rss / MIB:.0f} MiB")
    on_table = [" ".join(s.split()) for s in statements if '"big"' in s]
    windows = [s for s in on_table if "LIMIT" in s and "bookmark" not in s]
    for sql in windows[-3:]:
        print("  SQL:", sql[:400])
    # Every read of rows is LIMITed; only aggregates (count, stats) scan the table.
    for sql in on_table:
        assert "LIMIT" in sql or re.search(r"COUNT|MIN\(|MAX\(|AVG\(|SUM\(|GROUP BY|ROW_NUMBER", sql), sql
    assert any('"id" >=' in s for s in windows), "deep windows did not use the key's bookmarks"
    # Growth against the table's size on disk: a sidecar that pulled it in holds at least that.
    assert rss - idle < postgres.table_bytes(pg, "big") / 3, (idle, rss)


def test_windows_reuse_one_connection(pg, srv):
    session, ws, status, reply = open_db(srv, {"connection": pg_conn(pg), "table": {"name": "big"}, "stats_delivery": "inline"})
    try:
        assert status == 200, reply
        with psycopg.connect(pg.socket_dsn, autocommit=True) as con:
            before = con.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s",
                                 (f"buckaroo-tauri/{session[:12]}",)).fetchone()[0]
            for start in range(0, 2_000_000, 200_000):
                resp, _, _ = window(ws, start, start + 100)
                assert resp.get("error_code") is None, resp
            pids = con.execute("SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s",
                               (f"buckaroo-tauri/{session[:12]}",)).fetchall()
        # the backend's psycopg connection and the kept window connection; no one per window
        assert len(pids) <= 2, (before, pids)
    finally:
        ws.__exit__(None, None, None)


def test_a_query_that_is_not_a_select_and_a_missing_table_are_coded(pg, srv):
    for body, code in [({"query": "DELETE FROM big"}, "db_query_invalid"),
                       ({"query": "SELECT 1; SELECT 2"}, "db_query_invalid"),
                       ({"table": {"name": "no_such_table"}}, "db_table_missing")]:
        session, ws, status, reply = open_db(srv, {"connection": pg_conn(pg), **body})
        ws.__exit__(None, None, None)
        assert reply.get("error_code") == code, (body, status, reply)


def test_a_read_only_query_is_viewed(pg, srv):
    session, ws, status, reply = open_db(srv, {"connection": pg_conn(pg), "query": "SELECT id, name FROM big WHERE id <= 1000"})
    try:
        assert status == 200 and reply["rows"] == 1000, reply
        resp, rows, _ = window(ws, 900, 1000)
        assert rows.column("a").to_pylist() == list(range(901, 1001)), resp
    finally:
        ws.__exit__(None, None, None)


def test_the_session_is_read_only_with_a_statement_timeout(pg, srv):
    """What the viewer's own connections run with, read through the viewer itself."""
    query = ("SELECT current_setting('transaction_read_only') AS ro, current_setting('statement_timeout') AS timeout, "
             "current_setting('application_name') AS app")
    session, ws, status, reply = open_db(srv, {"connection": pg_conn(pg), "query": query})
    try:
        assert status == 200 and reply["rows"] == 1, reply
        resp, rows, _ = window(ws, 0, 1)
        assert rows is not None, resp
    finally:
        ws.__exit__(None, None, None)
    ro, timeout, app = (rows.column(c)[0].as_py() for c in "abc")
    assert (ro, timeout, app) == ("on", "5min", f"buckaroo-tauri/{session[:12]}")


def test_closing_the_window_cancels_a_60_s_query_on_the_server_and_others_keep_scrolling(pg, srv):
    other, other_ws, status, reply = open_db(srv, {"connection": pg_conn(pg), "table": {"name": "big"}})
    assert status == 200, reply
    slow = "SELECT b.id FROM (SELECT pg_sleep(60)) AS z, big AS b WHERE b.id < 10"
    session = uuid.uuid4().hex
    ws = srv.ws(session).__enter__()
    pending = srv.request_in_background("POST", "/load_db", {"session": session, "connection": pg_conn(pg), "query": slow})
    name = f"buckaroo-tauri/{session[:12]}"
    with psycopg.connect(pg.socket_dsn, autocommit=True) as con:
        def running() -> int:
            return con.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND query ILIKE %s AND state = 'active'",
                               (name, "%pg_sleep%")).fetchone()[0]
        deadline = time.monotonic() + 30
        while running() == 0:
            assert time.monotonic() < deadline, "the slow query never started"
            time.sleep(0.1)
        # Meanwhile another window of the same database keeps scrolling: answered long
        # before the 60-s query could end (a liveness bound, not a speed one).
        for start in (0, 5_000_000, ROWS - 100):
            resp, rows, took = window(other_ws, start, start + 100)
            assert rows is not None and took < 15.0, (resp, took)
        other_ws.__exit__(None, None, None)
        ws.__exit__(None, None, None)
        closed = time.monotonic()
        while running():
            assert time.monotonic() - closed < 2.0, "the query still runs 2 s after its window closed"
            time.sleep(0.05)
        print(f"\nslow query gone {time.monotonic() - closed:.2f} s after its window closed")
    status, reply = pending.wait(timeout=30)
    assert status == 409 and reply["error_code"] == "load_cancelled", reply


def test_a_dropped_table_fails_its_next_window_coded_and_a_stopped_server_is_unreachable(tmp_path, srv):
    with postgres.cluster(tmp_path / "pg2") as pg2:
        postgres.series_table(pg2, "gone", 50_000, password=PASSWORD)
        session, ws, status, reply = open_db(srv, {"connection": pg_conn(pg2), "table": {"name": "gone"}})
        try:
            assert status == 200, reply
            assert window(ws, 0, 10)[0].get("error_code") is None
            with psycopg.connect(pg2.socket_dsn, autocommit=True) as con:
                con.execute("DROP TABLE gone")
            resp, _, _ = window(ws, 40_000, 40_100)
            assert resp.get("error_code") == "db_table_missing" and "gone" in resp.get("error_info", ""), resp
        finally:
            ws.__exit__(None, None, None)
        conn = pg_conn(pg2)
    status, reply = srv.request("POST", "/db_tables", {"connection": conn})
    assert (status, reply["error_code"]) == (502, "db_unreachable"), reply


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return db_files.write(tmp_path_factory.mktemp("dbfiles"))


def test_a_duckdb_file_lists_its_three_tables_and_a_load_of_it_asks_to_choose(files, srv):
    ddb, _ = files
    status, reply = srv.request("POST", "/db_tables", {"connection": {"kind": "duckdb", "path": str(ddb)}})
    assert status == 200, reply
    assert [(t["name"], t["rows"]) for t in reply["tables"]] == [("customers", 1000), ("notes", 3), ("orders", 5000)]
    status, reply = srv.request("POST", "/load", {"session": uuid.uuid4().hex, "path": str(ddb), "mode": "buckaroo"})
    assert (status, reply["error_code"]) == (409, "db_choose_table"), reply
    assert "customers" in reply["message"]


def test_duckdb_cells_match_the_database(files, srv):
    ddb, _ = files
    session, ws, status, reply = open_db(srv, {"connection": {"kind": "duckdb", "path": str(ddb)}, "table": {"name": "orders"}})
    try:
        assert status == 200 and reply["rows"] == 5000, reply
        _, rows, _ = window(ws, 4000, 4100)
    finally:
        ws.__exit__(None, None, None)
    with duckdb.connect(str(ddb), read_only=True) as con:
        want = con.execute("SELECT * FROM orders ORDER BY id LIMIT 100 OFFSET 4000").fetchall()
    assert list(zip(*(rows.column(c).to_pylist() for c in "abcde"), strict=True)) == want


def test_a_sqlite_file_with_one_table_opens_from_a_load_and_its_cells_match(files, srv):
    _, lite = files
    session = uuid.uuid4().hex
    with srv.ws(session) as ws:
        status, reply = srv.request("POST", "/load", {"session": session, "path": str(lite), "mode": "buckaroo"})
        assert status == 200 and reply["rows"] == 300 and reply["backend"] == "xorq", reply
        resp, rows, _ = window(ws, 200, 300)
        assert rows is not None, resp.get("error_info")
    with sqlite3.connect(lite) as con:
        want = con.execute("SELECT id, name, score FROM people ORDER BY id LIMIT 100 OFFSET 200").fetchall()
    assert list(zip(*(rows.column(c).to_pylist() for c in "abc"), strict=True)) == want


def test_the_password_is_in_no_log_line(srv, pg):
    # Every test above sent it; the launcher's whole stderr is here.
    srv.request("POST", "/db_tables", {"connection": pg_conn(pg, password=PASSWORD + "x")})
    log_text = "".join(srv.stderr_lines)
    assert "/db_tables" in log_text and "/load_db" in log_text, "the launcher's log was not captured"
    assert PASSWORD not in log_text
