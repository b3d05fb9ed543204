"""Loads run off the launcher's event loop (issue 12): a stuck load blocks neither other
sessions nor /health, times out, is cancelled by a newer load or by its window closing,
never overwrites the session once it is no longer wanted, and a FIFO is refused before
anything opens it.

A load is held in its worker with the launcher's test seam: with
BUCKAROO_TAURI_TEST_LOAD_GATE=1 a load of <path> first reads the FIFO <path>.gate to
EOF, which is what open() on a FIFO data file or a hung network mount does. Every
assertion is about order (the held load cannot finish before the gate opens), never
about time.
"""

from __future__ import annotations

import copy
import errno
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from buckaroo_tauri_dev.server import BuckarooServer, launcher_server

GATED = {"BUCKAROO_TAURI_TEST_LOAD_GATE": "1", "BUCKAROO_TAURI_LOG_LEVEL": "INFO"}


class Gate:
    """The FIFO <data>.gate that holds a load of <data> in the launcher's worker."""

    def __init__(self, data: Path):
        self.path = str(data) + ".gate"
        os.mkfifo(self.path)
        self.fd: int | None = None

    def wait_until_held(self, timeout: float = 60.0) -> None:
        """Return once the worker has the gate open, i.e. the load is inside its thread.
        A non-blocking open for writing fails with ENXIO while a FIFO has no reader."""
        deadline = time.monotonic() + timeout
        while self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def release(self) -> None:
        """EOF for the worker (once it is there): the load goes on with the real file."""
        self.wait_until_held()
        os.unlink(self.path)  # so a later load of the same file is not held again
        os.close(self.fd)
        self.fd = None


@pytest.fixture(scope="module")
def srv():
    with launcher_server(extra_env=GATED, watch_stderr=True) as s:
        yield s


@pytest.fixture
def stuck(tmp_path, samples):
    """A real 3-row CSV whose load is held at its gate until released."""
    data = tmp_path / "stuck.csv"
    shutil.copy(samples["csv_plain.csv"], data)
    gate = Gate(data)
    yield data, gate
    if gate.fd is not None:
        gate.release()


def start_load(srv: BuckarooServer, path: Path, session: str):
    return srv.request_in_background("POST", "/load", {"path": str(path), "mode": "buckaroo",
                                                       "session": session, "no_browser": True})


def discarded(srv: BuckarooServer, session: str, verdict: str) -> str:
    """Wait for the launcher's log line saying the worker finished and its result was dropped."""
    return srv.wait_for_stderr(f"session={session} finished after it was {verdict}; result discarded")


def test_a_fifo_is_refused_before_anything_opens_it(srv, tmp_path):
    fifo = tmp_path / "x.parquet"
    os.mkfifo(fifo)
    status, body = srv.request("POST", "/load", {"path": str(fifo), "mode": "buckaroo"})
    assert status == 400
    assert body == {"error_code": "invalid_file", "message": f"{fifo} is not a regular file"}
    with pytest.raises(OSError) as info:  # still no reader: nothing opened it
        os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    assert info.value.errno == errno.ENXIO
    assert srv.request("POST", "/load", {"path": "/dev/null"})[1]["error_code"] == "invalid_file"
    assert srv.request("GET", "/health")[0] == 200


def test_a_stuck_load_blocks_neither_other_sessions_nor_health(srv, samples, stuck):
    data, gate = stuck
    session = uuid.uuid4().hex
    with srv.loaded(samples["small_100k.parquet"]) as other:
        pending = start_load(srv, data, session)
        gate.wait_until_held()
        resp, parquet = other.rows(0, 100)
        assert parquet is not None and resp["length"] == 100_000
        status, health = srv.request("GET", "/health")
        assert status == 200 and health["status"] == "ok"
        assert not pending.done.is_set(), "the held load answered before its gate opened"
        gate.release()
        status, body = pending.wait()
    assert status == 200 and body["rows"] == 3 and body["session"] == session
    with srv.ws(session) as ws:
        assert ws.next_of_type("initial_state")["df_meta"]["total_rows"] == 3


def test_a_newer_load_cancels_the_pending_one_which_never_lands(srv, samples, stuck):
    data, gate = stuck
    session = uuid.uuid4().hex
    with srv.ws(session) as ws:
        first = start_load(srv, data, session)
        gate.wait_until_held()
        second = srv.load(samples["tiny.parquet"], session=session)
        assert second["rows"] == 50
        status, body = first.wait()
        assert status == 409 and body["error_code"] == "load_cancelled"
        assert "newer load" in body["message"]
        assert ws.next_of_type("initial_state")["df_meta"]["total_rows"] == 50
        gate.release()
        discarded(srv, session, "cancelled")
        resp, parquet = ws.rows(0, 100)
    assert resp["length"] == 50 and parquet is not None
    with srv.ws(session) as fresh:
        assert fresh.next_of_type("initial_state")["metadata"]["path"] == str(samples["tiny.parquet"])


def test_closing_the_window_cancels_its_pending_load(srv, stuck):
    data, gate = stuck
    session = uuid.uuid4().hex
    ws = srv.ws(session)
    pending = start_load(srv, data, session)
    gate.wait_until_held()
    ws.close()
    status, body = pending.wait()
    assert status == 409 and body["error_code"] == "load_cancelled"
    assert "window closed" in body["message"]
    gate.release()
    discarded(srv, session, "cancelled")
    with srv.ws(session) as fresh:
        resp, _ = fresh.rows(0, 10)
    assert resp["error_info"] == "No data loaded for this session"


def test_a_load_times_out_and_the_session_keeps_its_data(samples, stuck):
    data, gate = stuck
    session = uuid.uuid4().hex
    with launcher_server(extra_env={**GATED, "BUCKAROO_TAURI_LOAD_TIMEOUT": "2"}, watch_stderr=True) as s:
        s.load(samples["tiny.parquet"], session=session)
        pending = start_load(s, data, session)
        gate.wait_until_held()
        status, body = pending.wait()
        assert status == 504 and body["error_code"] == "load_timeout"
        assert str(data) in body["message"]
        gate.release()
        discarded(s, session, "timed out")
        with s.ws(session) as ws:
            state = ws.next_of_type("initial_state")
            resp, parquet = ws.rows(0, 10)
    assert state["df_meta"]["total_rows"] == 50 and state["metadata"]["path"] == str(samples["tiny.parquet"])
    assert resp["length"] == 50 and parquet is not None


def _without_pid(reply: dict) -> dict:
    return {k: v for k, v in reply.items() if k != "server_pid"}


def _without_displayers(state: dict) -> dict:
    """initial_state less each column's displayer_args: the launcher sets its own
    (cells.py, tested in test_launcher_cells.py); everything else must be buckaroo's."""
    state = copy.deepcopy(state)
    for view in (state.get("df_display_args") or {}).values():
        for column in (view.get("df_viewer_config") or {}).get("column_config") or []:
            column.pop("displayer_args", None)
    return state


@pytest.mark.parametrize("mode", ["buckaroo", "viewer", "lazy"])
def test_a_threaded_load_answers_and_pushes_as_buckaroo_does(samples, mode):
    """Same reply and same initial_state (pushed to an attached socket, and sent on open)
    as buckaroo's own server, which loads on its event loop."""
    seen = {}
    for kind, server in (("plain", BuckarooServer()), ("launcher", launcher_server())):
        with server as s:
            session = "same-session-id"
            with s.ws(session) as ws:
                reply = s.load(samples["tiny.parquet"], mode=mode, session=session, prompt="p")
                pushed = ws.next_of_type("initial_state")
            with s.ws(session) as ws:
                on_open = ws.next_of_type("initial_state")
            seen[kind] = (_without_pid(reply), _without_displayers(pushed), _without_displayers(on_open))
    assert seen["launcher"] == seen["plain"]
