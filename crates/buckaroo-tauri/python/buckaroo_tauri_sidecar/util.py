"""Small helpers every job uses: the logger, the refusal shape, error text, counts from
the environment. Standard library only."""

from __future__ import annotations

import logging
import os
from contextvars import ContextVar

log = logging.getLogger("buckaroo_tauri")


class Unsupported(RuntimeError):
    """buckaroo's internals are not what this launcher was written against."""


def debug() -> bool:
    return os.environ.get("BUCKAROO_DEBUG", "") not in ("", "0", "false")


def short_error(text: str) -> str:
    """The last line of a traceback ('KeyError: 'zz''), never the frames."""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1].strip() if len(lines) > 1 else str(text)


def exception_line(exc: BaseException) -> str:
    """`Type: message` of an exception, cut to its last line."""
    return short_error(f"{type(exc).__name__}: {exc}")


class WindowRefused(RuntimeError):
    """A row window answered with a code of its own (contract.CODES), not rows. buckaroo
    catches what its handler raises and answers "Request failed", so `refuse` also
    notes it where the worker finds it after the call (ws_handler._run_captured)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


REFUSAL: ContextVar = ContextVar("buckaroo_tauri_window_refusal", default=None)


def refuse(code: str, message: str):
    """Raise WindowRefused for the window being computed, noted in REFUSAL."""
    refusal = WindowRefused(code, message)
    REFUSAL.set(refusal)
    raise refusal


def disk_full(exc: BaseException) -> bool:
    """ENOSPC, as an OSError or in an engine's message (DuckDB's IO Error says it in words)."""
    import errno

    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc)


def error(code: str, message: str) -> dict:
    """buckaroo's own shape for a refused HTTP request (`code`: one of contract.CODES)."""
    return {"error_code": code, "message": message}


def extension(path) -> str:
    return os.path.splitext(path)[1].lower() if isinstance(path, str) else ""


def env_count(name: str, default: int) -> int:
    """A count (bytes, rows) from the environment: `default` when unset, or (with a
    warning) when it is not a whole number of 0 or more."""
    raw = os.environ.get(name, "").strip()
    if raw.isdigit():
        return int(raw)
    if raw:
        log.warning("%s=%r is not a count; using %d", name, raw, default)
    return default


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
