"""The upstream buckaroo server behaviour the plugin is built on.

Every assertion here is something the Rust relay or the TS model depends on; if an
upgrade of buckaroo changes one, this suite must fail before the app does.
"""

from __future__ import annotations

import io
import time
import uuid

import pandas as pd
import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev.server import server_of_kind


@pytest.mark.parametrize("kind", ["plain", "launcher"])
def test_handshake_is_the_only_stdout_line_and_stdin_eof_ends_the_server(kind):
    srv = server_of_kind(kind).start()
    try:
        assert srv.stdout_lines == [f"BUCKAROO_PORT={srv.port}\n"]
        status, health = srv.request("GET", "/health")
        assert status == 200 and health["status"] == "ok"
        # A /load must not add anything to stdout either.
    finally:
        assert srv.proc is not None and srv.proc.stdin is not None
        t0 = time.monotonic()
        srv.proc.stdin.close()
        rc = srv.proc.wait(timeout=10)
        elapsed = time.monotonic() - t0
        rest = srv.proc.stdout.read() if srv.proc.stdout else ""
    assert rc == 0
    assert rest == ""
    assert elapsed < 10


def test_stdin_on_dev_null_exits_at_once():
    """Why the supervisor must pipe stdin: EOF at once means the server exits at once
    (whether or not it got to print its port first), so nothing would be listening."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "buckaroo.server", "--port", "0", "--no-browser", "--stdio-control"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0


def test_load_then_ws_initial_state_has_protocol_version_1(server, samples):
    expected = pd.read_parquet(samples["small_100k.parquet"])
    session = uuid.uuid4().hex
    # Open the WS first, then load into that session: the server pushes initial_state.
    with server.ws(session) as ws:
        reply = server.load(samples["small_100k.parquet"], mode="buckaroo", session=session)
        assert reply["session"] == session
        assert reply["rows"] == len(expected)
        assert [c["name"] for c in reply["columns"]] == list(expected.columns)
        state = ws.next_of_type("initial_state")
    assert state["protocol_version"] == 1
    assert state["mode"] == "buckaroo"
    for key in ("df_display_args", "df_data_dict", "df_meta", "buckaroo_state", "buckaroo_options",
                "command_config", "operation_results", "operations"):
        assert key in state, key
    assert state["df_meta"]["total_rows"] == len(expected)
    assert state["df_data_dict"]["all_stats"]["format"] == "parquet_b64"


def test_ws_after_load_gets_initial_state_on_open(server, samples):
    reply = server.load(samples["tiny.parquet"], mode="viewer")
    with server.ws(reply["session"]) as ws:
        state = ws.recv_json()
    assert state["type"] == "initial_state" and state["mode"] == "viewer"


def _ids_from_parquet(raw: bytes) -> list[int]:
    table = pq.read_table(io.BytesIO(raw))
    df = table.to_pandas()
    # pandas modes rename columns to a, b, c...; `a` is the first column (`id`).
    return [int(v) for v in df["a"].tolist()]


def test_row_window_is_json_then_exactly_one_parquet_frame(server, samples):
    expected = pd.read_parquet(samples["small_100k.parquet"])
    with server.loaded(samples["small_100k.parquet"]) as ws:
        key_extra = {"sourceName": "probe", "request_time": 1}
        resp, parquet = ws.rows(500, 1500, **key_extra)
        assert resp["type"] == "infinite_resp"
        assert resp["length"] == len(expected)
        assert resp["key"] == {"start": 500, "end": 1500, **key_extra}, "key must echo payload_args verbatim"
        assert resp["payload"]["format"] == "parquet_buffer"
        assert parquet is not None and parquet[:4] == b"PAR1"
        assert _ids_from_parquet(parquet) == expected["id"].iloc[500:1500].tolist()
        # Exactly one binary frame: nothing else is pending on the socket.
        assert ws.no_frame_within(0.5)


def test_sorted_window_matches_pandas(server, samples):
    expected = pd.read_parquet(samples["small_100k.parquet"])
    with server.loaded(samples["small_100k.parquet"]) as ws:
        # `ratio` is column e (id=a, count=b, amount=c, score=d, ratio=e) and has no nulls or ties.
        resp, parquet = ws.rows(0, 50, sort="e", sort_direction="desc")
    want = expected.sort_values("ratio", ascending=False)["id"].iloc[:50].tolist()
    assert _ids_from_parquet(parquet) == want


def test_error_reply_has_no_binary_frame(server, samples):
    with server.loaded(samples["small_100k.parquet"]) as ws:
        resp, parquet = ws.rows(0, 100, sort="zz")
        assert resp["length"] == 0
        assert "error_info" in resp and "payload" not in resp
        assert parquet is None
        assert ws.no_frame_within(0.5), "an error reply must not be followed by a binary frame"
        # The connection is still usable.
        ok, parquet = ws.rows(0, 10)
        assert parquet is not None and len(_ids_from_parquet(parquet)) == 10


def test_unknown_session_gets_no_initial_state_and_an_error_reply(server):
    with server.ws("no-such-session-" + uuid.uuid4().hex) as ws:
        assert ws.no_frame_within(0.5)
        resp, parquet = ws.rows(0, 10)
    assert resp["error_info"] == "No data loaded for this session"
    assert parquet is None


def test_reload_into_attached_session_pushes_new_initial_state(server, samples):
    session = uuid.uuid4().hex
    with server.ws(session) as ws:
        server.load(samples["tiny.parquet"], mode="viewer", session=session)
        first = ws.next_of_type("initial_state")
        server.load(samples["small_100k.parquet"], mode="viewer", session=session)
        second = ws.next_of_type("initial_state")
    assert first["df_meta"]["total_rows"] == 50
    assert second["df_meta"]["total_rows"] == 100_000


def test_load_errors_are_coded(server, samples, tmp_path):
    status, body = server.request("POST", "/load", {"path": str(tmp_path / "missing.parquet")})
    assert status == 404 and body["error_code"] == "file_not_found"
    status, body = server.request("POST", "/load", {"path": str(samples["notes.txt"])})
    assert status == 400 and body["error_code"] == "invalid_file"
    status, body = server.request("POST", "/load", {"path": str(samples["corrupt.parquet"])})
    assert status == 400 and body["error_code"] == "invalid_file"
