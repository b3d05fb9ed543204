"""Small helpers every job uses: the logger, the refusal shape, error text, counts from
the environment. Standard library only."""

from __future__ import annotations

import logging
import os

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
