"""The WebSocket handler: buckaroo's DataStreamHandler, made safer and kept off the loop.

- A message that is valid JSON but not an object gets an `invalid_message` error reply
  instead of a dropped connection; tracebacks never reach the client unless
  BUCKAROO_DEBUG=1, and every failed row window carries an `error_code` (rows.py);
- TCP_NODELAY on the socket (no ~40 ms Nagle/delayed-ACK stall on small replies);
- closing a session's last window cancels its pending load.

Expression work off the event loop: buckaroo answers row windows and computes deferred
stats on the loop. For an expression a window is a query (a sort of 20M rows takes
seconds) and the stats are many, so there every window of every session would wait for
the slowest. Here a row request of an expression session and every stats push
(STATS_AFTER_ROWS_S after the rows) run in a worker pool; what buckaroo writes
meanwhile is kept and written on the loop in one callback, so a reply's JSON and parquet
frames stay adjacent. A reply whose session has loaded something else since is sent as
`rows_superseded` (the request is answered, with no stale rows).
"""

from __future__ import annotations

import json
import threading
from typing import NamedTuple

from .contract import FILE_CHANGED, INVALID_MESSAGE, ROW_REQUEST_FAILED, ROW_REQUEST_TIMEOUT, ROWS_SUPERSEDED
from .db_sources import DB_SESSIONS
from .engine_files import changed_on_disk
from .loads import LOADS_SETTING
from .rows import failed_rows, tidy_frame
from .sorted_copies import SORTED_COPIES
from .util import REFUSAL, Unsupported, env_count, log
from .warm_up import WARM_UP
from .xorq_support import read_lock

WINDOW_WORKERS_SETTING = "buckaroo_tauri_window_workers"
EXPORTS_SETTING = "buckaroo_tauri_exports"  # exports.Exports: closing a window cancels its export
# Deferred stats start this long after the first rows are written: the page takes ~0.6 s
# to paint them, and stats computed meanwhile take a core of two from it (20M rows:
# painted at ~2.0 s instead of ~1.4 s after the load, docs/benchmarks.md).
STATS_AFTER_ROWS_S = 1.0
ROW_DEADLINE_ENV = "BUCKAROO_TAURI_ROW_DEADLINE"
# Seconds an expression's row window may take before it is answered row_request_timeout
# (a deep sorted window of a big file waits for its sorted copy: tens of seconds).
DEFAULT_ROW_DEADLINE = 120
_CAPTURE = threading.local()  # in a worker: the frames its call writes


class _Answer:
    """Who answers a request: its worker's frames, or its deadline; the first to take it."""

    def __init__(self):
        self._taken = False

    def take(self) -> bool:  # on the loop only
        taken, self._taken = self._taken, True
        return not taken


class _Captured(NamedTuple):
    frames: list
    written: object  # a concurrent Future, done once the frames are written on the loop
    answer: _Answer


def _nothing(code: str, info: str) -> list:
    return []


class _SafeStream:
    """What SafeDataStreamHandler adds to buckaroo's DataStreamHandler (make_ws_handler)."""

    def _session(self):
        return self.application.settings["sessions"].get(getattr(self, "session_id", None))

    def _handle_infinite_request(self, payload_args, stats_gen=None):
        session = self._session()
        if session is not None and isinstance(payload_args, dict):
            # What the grid shows now, for an export of "the current view" (export_views.py).
            session.tauri_view = {"sort": payload_args.get("sort"), "sort_direction": payload_args.get("sort_direction"),
                                  "search": getattr(self, "search_string", "") or ""}
        if session is None or session.backend != "xorq" or not isinstance(payload_args, dict):
            return super()._handle_infinite_request(payload_args, stats_gen)
        dataflow, source = session.xorq_dataflow, getattr(session, "engine_file", None)
        if self._file_changed(payload_args, source):
            return None

        def still_wanted():
            # Read before and after: a file rewritten in place meanwhile may have given a torn window.
            return getattr(self._session(), "xorq_dataflow", None) is dataflow and changed_on_disk(source) is None
        self._off_loop(super()._handle_infinite_request, (payload_args, stats_gen), still_wanted=still_wanted,
                       failed=lambda code, info: failed_rows(payload_args, code, info), deadline=row_deadline())
        return None

    def _file_changed(self, payload_args, source) -> bool:
        """The engine file changed since the load: the window is refused with `file_changed`
        (its rows would be the new file's among the old ones the page shows), and the
        file's sorted copies, made from the old contents, are dropped."""
        why = changed_on_disk(source)
        if why is None:
            return False
        SORTED_COPIES.forget(source.path)
        for message, binary in failed_rows(payload_args, FILE_CHANGED, why):
            self.write_message(message, binary=binary)
        return True

    def _push_stats(self, stats_gen, rows_done):
        import tornado.ioloop

        tornado.ioloop.IOLoop.current().call_later(
            STATS_AFTER_ROWS_S, self._off_loop, super()._push_stats, (stats_gen, rows_done))

    def _off_loop(self, call, args, still_wanted=lambda: True, failed=_nothing, deadline: float | None = None):
        """Run `call` in the session's share of the worker pool (window_pool.py); what it
        writes is written on the loop after. With `deadline` (seconds), a call not done
        by then is answered `row_request_timeout` and its late frames are dropped."""
        import concurrent.futures

        import tornado.ioloop

        loop = tornado.ioloop.IOLoop.current()
        captured = _Captured([], concurrent.futures.Future(), _Answer())
        pool = self.application.settings[WINDOW_WORKERS_SETTING]
        task = pool.submit(getattr(self, "session_id", None) or "", self._run_captured, loop, captured, call, args,
                           still_wanted, failed)
        if deadline is not None:
            loop.call_later(deadline, self._deadline_passed, pool, task, captured, failed, deadline)

    def _deadline_passed(self, pool, task, captured, failed, deadline: float) -> None:
        if not captured.answer.take():
            return
        pool.give_up(task)
        DB_SESSIONS.cancel(getattr(self, "session_id", None) or "")  # a database's query ends on the server too
        engine = engine_names(getattr(self._session(), "xorq_dataflow", None))
        log.warning("a row window of session %s took over %g s on %s: answered %s", getattr(self, "session_id", "?"),
                    deadline, engine, ROW_REQUEST_TIMEOUT)
        self._write_frames(failed(ROW_REQUEST_TIMEOUT, f"the window did not come back from {engine} within {deadline:g} s"))

    def _run_captured(self, loop, captured, call, args, still_wanted, failed):
        _CAPTURE.now = captured
        token = REFUSAL.set(None)
        try:
            with self._read_lock():
                call(*args)
        except BaseException:  # noqa: BLE001 - a Rust library's panic too: logged, answered as a failed request
            log.exception("%s failed in a worker", getattr(call, "__name__", call))
            captured.frames[:] = failed(ROW_REQUEST_FAILED, "the row request failed in the sidecar")
        finally:
            _CAPTURE.now = None
            refusal = REFUSAL.get()
            REFUSAL.reset(token)
        if refusal is not None:  # buckaroo answered "Request failed": say why, with its code
            captured.frames[:] = failed(refusal.code, str(refusal))
        loop.add_callback(self._write_captured, captured, still_wanted, failed)

    def _read_lock(self):
        """The session's expression's read lock (xorq_support.read_lock), or none."""
        import contextlib

        dataflow = getattr(self._session(), "xorq_dataflow", None)
        lock = read_lock(dataflow.widget_args_tuple[1]) if dataflow is not None else None
        return lock if lock is not None else contextlib.nullcontext()

    def _write_captured(self, captured, still_wanted, failed):
        try:
            if captured.answer.take():  # else the deadline answered already
                self._write_frames(captured.frames if still_wanted() else self._unwanted(failed))
        finally:
            captured.written.set_result(None)

    def _write_frames(self, frames) -> None:
        import tornado.websocket

        try:
            for message, binary in frames:
                self.write_message(message, binary=binary)
        except tornado.websocket.WebSocketClosedError:
            log.debug("window closed before its reply was written")

    def _unwanted(self, failed) -> list:
        session = self._session()
        why = changed_on_disk(getattr(session, "engine_file", None))
        return failed(FILE_CHANGED, why) if why else failed(ROWS_SUPERSEDED, "a newer load replaced these rows")

    def open(self, *args, **kwargs):
        # Here, not when the connection is accepted: Tornado turns Nagle back on after
        # every HTTP response, the 101 upgrade included.
        self.set_nodelay(True)
        return super().open(*args, **kwargs)

    def on_message(self, message):
        WARM_UP.busy()
        if isinstance(message, str):
            try:
                parsed = json.loads(message)
            except ValueError:
                parsed = None  # buckaroo answers invalid JSON itself
            else:
                if not isinstance(parsed, dict):
                    self.write_message(json.dumps({
                        "type": "error", "error_code": INVALID_MESSAGE,
                        "message": "message must be a JSON object"}))
                    return None
        return super().on_message(message)

    def on_close(self):
        super().on_close()
        # The window is gone: nobody is waiting for its pending load any more.
        session_id = getattr(self, "session_id", None)
        session = self.application.settings["sessions"].get(session_id)
        if session_id is not None and (session is None or not session.ws_clients):
            self.application.settings[LOADS_SETTING].cancel(session_id, "the session's window closed")
            DB_SESSIONS.close(session_id)
            exports = self.application.settings.get(EXPORTS_SETTING)
            if exports is not None:
                exports.cancel(session_id, "its window closed")

    def write_message(self, message, binary=False):
        captured = getattr(_CAPTURE, "now", None)
        if captured is not None:  # in a worker: written on the loop afterwards
            captured.frames.append((message, binary))
            return captured.written
        if binary:
            WARM_UP.served()
        elif isinstance(message, (str, bytes)):
            message = tidy_frame(message)
        return super().write_message(message, binary=binary)


def row_deadline() -> float:
    return float(env_count(ROW_DEADLINE_ENV, DEFAULT_ROW_DEADLINE))


def engine_names(dataflow) -> str:
    """The engines an expression session's windows query (`postgres`, `xorq_datafusion`), for messages."""
    try:
        from xorq.common.utils.graph_utils import walk_nodes
        from xorq.vendor.ibis.expr import operations as ops

        expr = next(e for e in (getattr(dataflow, n, None) for n in ("processed_df", "raw_df")) if e is not None)
        names = sorted({getattr(t.source, "name", "?") for t in walk_nodes(ops.DatabaseTable, expr)})
    except Exception:  # noqa: BLE001 - a message's detail only
        names = []
    return f"the engine ({', '.join(names)})" if names else "the engine"


def make_ws_handler(DataStreamHandler):
    """buckaroo's DataStreamHandler with _SafeStream's changes; Unsupported when the
    methods it overrides are not there."""
    if not callable(getattr(DataStreamHandler, "on_message", None)):
        raise Unsupported("DataStreamHandler.on_message is missing")
    for hook in ("_handle_infinite_request", "_push_stats"):
        if not callable(getattr(DataStreamHandler, hook, None)):
            raise Unsupported(f"DataStreamHandler.{hook} is missing")
    return type("SafeDataStreamHandler", (_SafeStream, DataStreamHandler), {})
