"""buckaroo's load handlers run in a worker against a staged copy of the session.

buckaroo's LoadHandler.post (and LoadExprHandler.post) is an `async def` with no await:
the file is read and the stats computed on the loop. loads.py runs that same post() in
a thread; these are what post sees there instead of the request handler and the live
session, so nothing in the worker touches a socket or the session the page is using.
"""

from __future__ import annotations

from types import SimpleNamespace

from .contract import LOAD_ERROR
from .util import Unsupported, debug, error, log

FILE_LOAD_FAILURE = (LOAD_ERROR, "Failed to load file")  # a load that crashed: the reply


class StagedSession:
    """The session as buckaroo's post sees it in the worker. Reads fall through to the
    live session (as it is); writes are kept aside for apply_to, on the loop. A load that
    is cancelled, times out or fails is never applied, so the session keeps its data."""

    def __init__(self, base):
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_changes", {})
        object.__setattr__(self, "_release_xorq", False)
        object.__setattr__(self, "broadcast", None)  # (args, kwargs) of broadcast_state, for the loop

    def __getattr__(self, name):
        changes = object.__getattribute__(self, "_changes")
        return changes[name] if name in changes else getattr(self._base, name)

    def __setattr__(self, name, value):
        self._changes[name] = value

    def release_xorq_state(self):
        object.__setattr__(self, "_release_xorq", True)  # the live session still serves rows

    def defer_broadcast(self, call) -> None:
        object.__setattr__(self, "broadcast", call)

    def changed(self, name: str) -> bool:
        return name in self._changes

    def apply_to(self, session) -> None:
        if self._release_xorq:
            session.release_xorq_state()
        changes = dict(self._changes)
        new_generation = changes.pop("stats_gen", None) is not None
        for name, value in changes.items():
            setattr(session, name, value)
        if new_generation:
            session.stats_gen += 1  # the worker bumped a snapshot; count changes made since


class StagedSessions:
    """The `sessions` setting buckaroo's post gets in the worker."""

    def __init__(self, live, new_session):
        self._live, self._new_session = live, new_session
        self.staged = None

    def get(self, session_id):
        return self._live  # LoadExprHandler reads the session it may warm-exit on

    def get_or_create(self, session_id, path):
        self.staged = StagedSession(self._live or self._new_session(session_id=session_id, path=path))
        self.staged.path = path
        return self.staged


class BuckarooLoad:
    """Stands in for the request handler while buckaroo's LoadHandler.post runs in a
    worker: post only reads the body and the settings and calls set_status/write and its
    own helper methods, so those are captured here and nothing touches a socket."""

    def __init__(self, handler_cls, body: bytes, settings: dict, sessions: StagedSessions,
                 failure=FILE_LOAD_FAILURE):
        self.handler_cls, self.failure = handler_cls, failure
        self.request = SimpleNamespace(body=body)
        self.sessions = sessions
        self.application = SimpleNamespace(settings={**settings, "sessions": sessions})
        self.status, self.chunks, self.pushed_metadata = 200, [], None

    def __getattr__(self, name):
        # buckaroo's helpers (_validate_request, _load_file_with_error_handling, ...),
        # bound to this stand-in.
        if name.startswith("__") or name in ("handler_cls", "failure"):
            raise AttributeError(name)
        return getattr(self.handler_cls, name).__get__(self)

    def set_status(self, status, reason=None):
        self.status = status

    def write(self, chunk):
        self.chunks.append(chunk)

    def _push_state_to_clients(self, session, metadata):
        self.pushed_metadata = metadata  # pushed on the loop, once the load is applied

    def run(self) -> None:
        post = self.handler_cls.post(self)
        try:
            post.send(None)
        except StopIteration:
            return
        post.close()
        raise Unsupported("buckaroo's LoadHandler.post awaits; it cannot run in a worker")

    def crashed(self, tb: str) -> None:
        log.error("load crashed: %s", tb)
        self.status, self.chunks = 500, [{**error(*self.failure),
                                          **({"details": tb} if debug() else {})}]


def broadcast_after_apply(broadcast_state):
    """buckaroo's broadcast_state(session, ...), except on a staged session: kept for
    ExprLoads.push, as the worker must not write to WebSockets, and a load that is
    dropped pushes nothing."""
    def broadcast_or_defer(session, *args, **kwargs):
        if isinstance(session, StagedSession):
            session.defer_broadcast((args, kwargs))
            return None
        return broadcast_state(session, *args, **kwargs)
    return broadcast_or_defer
