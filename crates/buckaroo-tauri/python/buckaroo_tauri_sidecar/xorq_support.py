"""Whether xorq imports here (tried once per process), the lock the launcher's xorq
state is changed under, and the worker's view of the expression load it runs.

xorq is optional: files load without it; /load_expr, /reload_expr and engine loads
answer 501 `xorq_not_installed` (with the pip command) where xorq.api does not import.
Importing it writes under ~/.config and ~/.cache, so only a load (or the idle warm-up,
warm_up.py) ever does.
"""

from __future__ import annotations

import threading

from .contract import XORQ_NOT_INSTALLED, XORQ_PIP
from .util import error, exception_line, log

XORQ_LOCK = threading.Lock()
_XORQ_IMPORT: dict = {}
# In a load's worker: `file`, the FileSource of an engine load (None for a build), and
# `failure`, why buckaroo's load_expr_build_dir raised (xorq_windows.expression_loader).
EXPR_LOAD = threading.local()


def xorq_import_error() -> str | None:
    """None when xorq.api imports, else why not. Tried once per process (the first
    import costs ~1 s; a failed one fails the same way until a restart)."""
    with XORQ_LOCK:
        if "error" not in _XORQ_IMPORT:
            try:
                import xorq.api  # noqa: F401
                _XORQ_IMPORT["error"] = None
            except Exception as exc:  # noqa: BLE001 - broken counts as missing
                _XORQ_IMPORT["error"] = exception_line(exc)
                log.warning("xorq does not import; /load_expr answers 501: %s", _XORQ_IMPORT["error"])
        return _XORQ_IMPORT["error"]


def xorq_not_installed(why: str) -> dict:
    return error(XORQ_NOT_INSTALLED, f"xorq does not import in this Python ({why}); install it with: pip install {XORQ_PIP}")


_READ_LOCKS: dict = {}  # the backends an expression's deferred reads register tables in -> their lock


def read_lock(expr):
    """One query at a time on the backends `expr` reads files into at execution (a
    `xorq build`'s deferred reads register their table, `data`, for each query and drop
    it after); None when it has no such reads (engine files, remote tables: they run in
    parallel). Without it two windows of one build, or a window and its stats, run
    together and fail with "Table not found: data" or "The table data already exists"
    (the soak's finding: 178 failed windows in 40 s of two windows in flight)."""
    try:
        from xorq.common.utils.graph_utils import walk_nodes
        from xorq.expr.relations import Read
    except ImportError:
        return None
    try:
        reads = walk_nodes(Read, expr)
    except Exception:  # noqa: BLE001 - not an expression (a post-processor's pandas frame)
        return None
    if not reads:
        return None
    key = tuple(sorted({id(r.source) for r in reads}))
    with XORQ_LOCK:
        lock = _READ_LOCKS.setdefault(key, threading.RLock())
        while len(_READ_LOCKS) > 256:
            _READ_LOCKS.pop(next(iter(_READ_LOCKS)))
        return lock
