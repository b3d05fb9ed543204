"""One session's stuck engine never stalls another's windows, through the real launcher:
a real PostgreSQL whose postmaster is stopped (SIGSTOP: new connections hang, as with a
dead network; xorq opens one per row window) holds 8 windows of one session; another
session's window is answered at once, the stuck ones get `row_request_timeout` at their
deadline, and after SIGCONT the stuck session serves again."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev import postgres, xorq_builds
from buckaroo_tauri_dev.server import launcher_server

DEADLINE_S = 5


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("pg-iso")
    table = workdir / "t.parquet"
    pq.write_table(pa.table({"id": list(range(20_000)), "v": [i % 97 for i in range(20_000)]}), table)
    with postgres.cluster(workdir) as cluster:
        postgres.load_table(cluster, table, "t")
        yield cluster, postgres.build_expr(cluster, workdir, "t"), workdir


def opened(srv, route: str, body: dict):
    session = uuid.uuid4().hex
    status, reply = srv.request("POST", route, {**body, "session": session, "no_browser": True}, timeout=300)
    assert status == 200, reply
    ws = srv.ws(session, timeout=120)
    ws.initial_state = ws.next_of_type("initial_state")
    return ws


def test_a_stuck_postgres_session_does_not_hold_up_another_and_is_answered_at_its_deadline(pg, samples):
    cluster, build_dir, workdir = pg
    env = {**xorq_builds.scratch_env(workdir), "BUCKAROO_TAURI_ROW_DEADLINE": str(DEADLINE_S),
           "PGCONNECT_TIMEOUT": "60"}  # longer than the deadline: the windows stay stuck
    with launcher_server(extra_env=env) as srv:
        stuck = opened(srv, "/load_expr", {"build_dir": str(build_dir)})
        other = opened(srv, "/load", {"path": str(samples["small_100k.parquet"]), "mode": "buckaroo", "backend": "xorq"})
        other.rows(0, 100)  # warm: the engine's first window
        os.kill(cluster.pid, signal.SIGSTOP)
        try:
            sent = time.monotonic()
            for n in range(8):
                stuck.send({"type": "infinite_request", "payload_args": {"start": n * 100, "end": n * 100 + 100}})
            time.sleep(0.5)  # the 8 are in the pool
            t0 = time.monotonic()
            resp, parquet = other.rows(500, 600)
            other_ms = (time.monotonic() - t0) * 1000
            assert parquet is not None and resp["length"] == 100_000, resp
            assert other_ms < 1000, f"another session's window waited {other_ms:.0f} ms"
            replies = [stuck.next_of_type("infinite_resp") for _ in range(8)]
            answered = time.monotonic() - sent
            assert {r["error_code"] for r in replies} == {"row_request_timeout"}, replies
            assert sorted(r["key"]["start"] for r in replies) == [n * 100 for n in range(8)]
            assert "within 5 s" in replies[0]["error_info"] and "postgres" in replies[0]["error_info"], replies[0]
            assert DEADLINE_S <= answered < DEADLINE_S + 3, answered
        finally:
            os.kill(cluster.pid, signal.SIGCONT)
        resp, parquet = stuck.rows(0, 100)
        assert parquet is not None, resp
    print(f"\n[isolation] 8 windows stuck on a stopped postmaster: another session's 100 rows in {other_ms:.0f} ms; "
          f"the stuck ones answered row_request_timeout after {answered:.1f} s")
