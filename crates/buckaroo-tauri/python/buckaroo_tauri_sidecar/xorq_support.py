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
