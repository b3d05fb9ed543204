"""Loads off the event loop.

buckaroo's LoadHandler.post is an `async def` with no await: the file is read and the
stats computed on the loop, so one slow file (or a FIFO whose open() never returns)
freezes every window. ThreadedLoadHandler runs that same post() in a thread (one per
load) against a staged copy of the session (staging.py), then applies the staged
fields and pushes initial_state on the loop, where everything Tornado and the sessions
need stays; replies and WebSocket pushes stay on the loop too. A load times out after
BUCKAROO_TAURI_LOAD_TIMEOUT seconds (default 120; 504 `load_timeout`), is cancelled by
a newer load of the same session or by its window closing (409 `load_cancelled`), and
a FIFO, device or socket is refused before anything opens it (400 `invalid_file`). A
load that did not finish in time never touches the session. /load_expr
(LoadExprHandler.post, also await-free) runs the same way: see expr_loads.py.

Test seam: with BUCKAROO_TAURI_TEST_LOAD_GATE=1, a load of `<path>` first reads
`<path>.gate` (when it exists) to EOF in its worker (a /load_expr: `<build_dir>.gate`),
so tests can hold a load the way a FIFO or a hung network mount holds open().
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple

from .contract import INVALID_FILE, LOAD_CANCELLED, LOAD_TIMEOUT
from .staging import FILE_LOAD_FAILURE, BuckarooLoad, StagedSessions
from .util import error, log

DEFAULT_LOAD_TIMEOUT = 120.0
TEST_LOAD_GATE_ENV = "BUCKAROO_TAURI_TEST_LOAD_GATE"
LOADS_SETTING = "buckaroo_tauri_loads"  # application setting holding the PendingLoads


class PendingLoad:
    """One /load between its start and its reply. Decided once: by the worker's result,
    the timeout, or a cancellation; whatever comes later is dropped."""

    def __init__(self, session_id: str, path: str):
        import asyncio

        self.session_id, self.path = session_id, path
        self.outcome = asyncio.get_running_loop().create_future()
        self.verdict = None

    def decide(self, verdict: str, status: int, chunks: list) -> bool:
        if self.outcome.done():
            return False
        self.verdict = verdict
        self.outcome.set_result((status, chunks))
        return True


class PendingLoads:
    """The load each session is waiting for (at most one: a newer load cancels it)."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._by_session: dict[str, PendingLoad] = {}

    def start(self, session_id: str, path: str) -> PendingLoad:
        import tornado.ioloop

        self.cancel(session_id, "a newer load of this session replaced it")
        load = PendingLoad(session_id, path)
        self._by_session[session_id] = load
        loop = tornado.ioloop.IOLoop.current()
        message = f"loading {path} did not finish within {self.timeout:g} s; the session keeps its previous data"
        timer = loop.call_later(self.timeout, load.decide, "timed out", 504, [error(LOAD_TIMEOUT, message)])

        def forget(_):
            loop.remove_timeout(timer)
            if self._by_session.get(session_id) is load:
                del self._by_session[session_id]
        load.outcome.add_done_callback(forget)
        return load

    def cancel(self, session_id: str, why: str) -> None:
        load = self._by_session.get(session_id)
        if load is None:
            return
        if load.decide("cancelled", 409, [error(LOAD_CANCELLED, f"load of {load.path} cancelled: {why}")]):
            log.info("load of %s for session=%s cancelled: %s", load.path, session_id, why)


def _special_file_refusal(path):
    """400 for a FIFO, device or socket: open() on a FIFO blocks until a writer comes,
    and a device never ends. Missing paths and the rest are buckaroo's to answer."""
    import stat

    if not isinstance(path, str):
        return None
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return error(INVALID_FILE, f"{path} is not a regular file")


def _wait_for_test_gate(path: str) -> None:
    if os.environ.get(TEST_LOAD_GATE_ENV) == "1" and isinstance(path, str) and os.path.exists(path + ".gate"):
        with open(path + ".gate", "rb") as gate:
            gate.read()


class Route(NamedTuple):
    """A load accepted on the loop: what runs in the worker, with which buckaroo handler
    (None: the route's own) and request body."""
    session_id: str
    path: str
    kind: FileLoads
    handler_cls: type | None = None
    body: dict | None = None


BUCKAROO_ANSWERS = object()  # accept(): let buckaroo's post answer on the loop (a cheap refusal)
REFUSED = object()  # route(): the reply is written, nothing loads


class FileLoads:
    """What ThreadedLoadHandler does around buckaroo's LoadHandler.post (/load)."""

    failure = FILE_LOAD_FAILURE

    def __init__(self, engine=None, databases=None):
        # engine: expr_loads.EngineFileLoads, whose route() sends big files to the engine;
        # databases: db_loads.DbLoads, whose route_file() opens DuckDB and SQLite files.
        self.engine, self.databases = engine, databases

    def accept(self, handler, body):
        """On the loop: the Route to load in a worker, or None once answered."""
        session_id, path, *_ = handler._validate_request(body)  # buckaroo's own 400 replies
        if session_id is None:
            return None
        refusal = _special_file_refusal(path)
        if refusal is not None:
            handler.set_status(400)
            handler.write(refusal)
            return None
        routed = self.databases.route_file(body, session_id, path) if self.databases is not None else None
        if routed is None and self.engine is not None:
            routed = self.engine.route(handler, body, session_id, path)
        if routed is REFUSED:
            return None
        return routed or Route(session_id, path, self)

    def prepare(self, run) -> bool:
        """In the worker, before post: False once run holds the reply."""
        return True

    def finish(self, run) -> None:
        """In the worker, after post: may turn its reply into a refusal."""

    def push(self, handler, session, run) -> None:
        """On the loop, once the staged session is applied."""
        handler._push_state_to_clients(session, run.pushed_metadata or session.metadata)


class _ThreadedLoad:
    """What ThreadedLoadHandler adds to buckaroo's handler class (make_load_handler):
    `_tauri_kind` says what happens around its post, `_tauri_handler` is the buckaroo
    class whose post runs in the worker, `_tauri_session` buckaroo's SessionState."""

    async def post(self):
        import asyncio
        import threading

        # Validation stays on the loop and is buckaroo's own (same 400 replies).
        body = self._parse_request_body()
        if body is None:
            return
        accepted = self._tauri_kind.accept(self, body)
        if accepted is BUCKAROO_ANSWERS:
            return await super().post()
        if accepted is None:
            return
        session_id, path, how = accepted.session_id, accepted.path, accepted.kind
        load = self.settings[LOADS_SETTING].start(session_id, path)
        sessions = StagedSessions(self.settings["sessions"].get(session_id), self._tauri_session)
        run = BuckarooLoad(accepted.handler_cls or self._tauri_handler,
                           json.dumps({**(accepted.body or body), "session": session_id}).encode(),
                           self.settings, sessions, how.failure)
        threading.Thread(target=self._work, args=(load, run, how, asyncio.get_running_loop()),
                         name=f"load-{session_id[:12]}", daemon=True).start()
        status, chunks = await load.outcome
        self.set_status(status)
        for chunk in chunks:
            self.write(chunk)

    def _work(self, load, run, how, loop):
        import asyncio
        import traceback

        # In this thread IOLoop.current() (buckaroo builds its telemetry sink with it)
        # must find the server's loop, not make a new one that never runs.
        asyncio.set_event_loop(loop)
        try:
            _wait_for_test_gate(load.path)
            if how.prepare(run):
                try:
                    run.run()
                finally:
                    how.finish(run)
        except BaseException:  # noqa: BLE001 - the reply must come whatever happened
            run.crashed(traceback.format_exc())
        loop.call_soon_threadsafe(self._settle, load, run, how)

    def _settle(self, load, run, how):
        """On the loop: apply and push a load that is still wanted, drop any other."""
        import traceback

        if load.outcome.done():
            log.info("load of %s for session=%s finished after it was %s; result discarded",
                     load.path, load.session_id, load.verdict)
            return
        try:
            if run.status == 200 and run.sessions.staged is not None:
                session = self.settings["sessions"].get_or_create(load.session_id, load.path)
                run.sessions.staged.apply_to(session)
                how.push(self, session, run)
        except Exception:  # noqa: BLE001 - the load must still be answered
            run.crashed(traceback.format_exc())
        load.decide("done", run.status, run.chunks)


def make_load_handler(LoadHandler, SessionState, kind=None):
    """buckaroo's LoadHandler (or LoadExprHandler) whose post runs in a worker."""
    attributes = {"_tauri_kind": kind or FileLoads(), "_tauri_handler": LoadHandler, "_tauri_session": SessionState}
    return type("ThreadedLoadHandler", (_ThreadedLoad, LoadHandler), attributes)
