"""Row windows that fail carry an `error_code`.

buckaroo answers a window it cannot serialize with `length: 0` and a traceback, which
the grid shows as empty rows. The serializer hook below names the column (tried one by
one, only once the whole window failed), and the dispatch hook turns that into a coded
error frame (`serialization_failed` with the offending `column`; both installed by
patches.install_window_errors); tidy_frame, on every frame the WebSocket handler
writes, codes every other failed window (`row_request_failed`) and cuts tracebacks to
their last line unless BUCKAROO_DEBUG=1.
"""

from __future__ import annotations

import json
from contextvars import ContextVar

from .contract import ROW_REQUEST_FAILED, SERIALIZATION_FAILED
from .util import debug, log, short_error


class WindowSerializationError(ValueError):
    def __init__(self, column, reason: str):
        self.column = None if column is None else str(column)
        where = "this row window" if column is None else f"column {self.column!r}"
        super().__init__(f"{where} cannot be serialized: {reason}")


def _reason(exc: Exception) -> str:
    # fastparquet names the column by its wire name ("b"); keep only its cause.
    return str(exc).split("Original error: ", 1)[-1] or type(exc).__name__


def _blame_column(df, to_parquet):
    """(column, reason) of the first column that fails on its own; column None when the
    index alone fails too (then no column is to blame)."""
    for column in [None, *df.columns]:
        try:
            to_parquet(df[[]] if column is None else df[[column]])
        except Exception as exc:  # noqa: BLE001 - whatever stopped the whole window
            return column, _reason(exc)
    return None, None


_WINDOW_FAILURE: ContextVar = ContextVar("buckaroo_tauri_window_failure", default=None)


def window_serializer(to_parquet):
    """buckaroo's to_parquet(df), naming the column to blame when it fails."""
    def to_parquet_or_blame(df):
        try:
            return to_parquet(df)
        except Exception as exc:
            column, reason = _blame_column(df, to_parquet)
            failure = WindowSerializationError(column, reason or _reason(exc))
            _WINDOW_FAILURE.set(failure)  # buckaroo mode swallows the exception; see coded_dispatch
            raise failure from exc
    return to_parquet_or_blame


def coded_dispatch(dispatch):
    """A row-window handler (`(frame_or_dataflow, payload_args, ...)`) whose serialization
    failure comes back as buckaroo's error frame plus error_code and column."""
    def dispatch_coded(*args, **kwargs):
        token = _WINDOW_FAILURE.set(None)
        try:
            try:
                resp, parquet = dispatch(*args, **kwargs)
            except WindowSerializationError:
                resp, parquet = None, b""  # viewer mode lets it escape
            failure = _WINDOW_FAILURE.get()
        finally:
            _WINDOW_FAILURE.reset(token)
        if failure is None:
            return resp, parquet
        log.warning("row window not sent: %s", failure)
        return {"type": "infinite_resp", "key": args[1], "length": 0, "error_info": str(failure),
                "error_code": SERIALIZATION_FAILED, "column": failure.column}, b""
    return dispatch_coded


def tidy_frame(message):
    """A text frame as the page gets it: tracebacks cut to their last line (unless
    BUCKAROO_DEBUG), and an error_code on every failed row window. Parsed only when
    one of the two applies (buckaroo writes str frames; bytes are decoded only then)."""
    if isinstance(message, bytes):
        if b"Traceback" not in message and b'"error_info"' not in message:
            return message
        text = message.decode(errors="replace")
    else:
        text = message
    uncoded = text.startswith('{"type": "infinite_resp"') and '"error_info"' in text
    traceback_inside = "Traceback" in text and not debug()
    if not (uncoded or traceback_inside):
        return message
    try:
        msg = json.loads(text)
    except ValueError:
        return message
    if not isinstance(msg, dict):
        return message
    if traceback_inside:
        for key in ("error_info", "message", "details"):
            if isinstance(msg.get(key), str):
                msg[key] = short_error(msg[key])
    if msg.get("type") == "infinite_resp" and "error_info" in msg:
        msg.setdefault("error_code", ROW_REQUEST_FAILED)
    return json.dumps(msg)


def failed_rows(payload_args, code: str, info: str) -> list:
    """Error replies (as (frame, binary) pairs) for a row request and its second_request."""
    keys = [payload_args] + ([payload_args["second_request"]]
                             if isinstance(payload_args.get("second_request"), dict) else [])
    return [(json.dumps({"type": "infinite_resp", "key": key, "length": 0, "error_code": code,
                         "error_info": info}), False) for key in keys]
