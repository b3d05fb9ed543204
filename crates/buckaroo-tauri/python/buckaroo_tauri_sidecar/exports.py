"""Exports: the view a window shows (export_views.py) written to a file (export_writers.py).

`POST /export/<session>` `{path, part_path, format, whole_file}` (format: csv, tsv, parquet, jsonl, xlsx) writes `part_path` (a
new file beside `path`, named by the plugin) and renames it to `path` at the end, so a
cancelled or failed export leaves no partial file and an existing file at `path` is
replaced only by a finished one. The reply, when it is done: `{path, rows, bytes,
seconds, how}`, or a coded refusal. Meanwhile the session's window gets
`buckaroo_tauri_export_progress` frames (`rows`, `total`, `percent`, `elapsed_s`,
`eta_s`) every PROGRESS_EVERY_S. `POST /export_cancel/<session>` cancels its running
export (so does closing its window). One export per session at a time.

Only the plugin can ask: these routes sit behind the launch's token like every route,
and the plugin sends a path only the user picked in that window (or a folder the host
granted).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time

from .contract import (
    DISK_FULL,
    EXPORT_BUSY,
    EXPORT_CANCELLED,
    EXPORT_FAILED,
    EXPORT_PIP,
    EXPORT_TOO_MANY_ROWS,
    EXPORT_UNSUPPORTED,
    INVALID_EXPORT,
    XLSX_MAX_ROWS,
)
from .export_views import ExportUnsupported, export_view, view_spec
from .export_writers import FORMATS, writer_for
from .util import disk_full, error, exception_line, log
from .ws_handler import EXPORTS_SETTING

PROGRESS_EVERY_S = 0.25
PROGRESS_TYPE = "buckaroo_tauri_export_progress"


class Cancelled(Exception):
    pass


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


class Export:
    def __init__(self, session_id: str):
        self.session_id, self._cancel, self.why = session_id, threading.Event(), ""

    def cancel(self, why: str) -> None:
        self.why = self.why or why
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()


class Exports:
    """The running export of each session."""

    def __init__(self):
        self._lock, self._running = threading.Lock(), {}

    def begin(self, session_id: str) -> Export:
        with self._lock:
            if session_id in self._running:
                raise Refused(409, EXPORT_BUSY, "this window is exporting already: cancel it or wait for it")
            export = self._running[session_id] = Export(session_id)
            return export

    def end(self, export: Export) -> None:
        with self._lock:
            if self._running.get(export.session_id) is export:
                del self._running[export.session_id]

    def cancel(self, session_id: str, why: str) -> bool:
        with self._lock:
            export = self._running.get(session_id)
        if export is not None:
            export.cancel(why)
        return export is not None


def checked_request(body) -> tuple[str, str, str, bool]:
    """(path, part_path, format, whole_file) of a request, or Refused."""
    if not isinstance(body, dict):
        raise Refused(400, INVALID_EXPORT, "the body must be a JSON object")
    path, part, fmt = body.get("path"), body.get("part_path"), body.get("format")
    if fmt not in FORMATS:
        raise Refused(400, INVALID_EXPORT, f"unknown export format {fmt!r}: one of {', '.join(FORMATS)}")
    for name, value in (("path", path), ("part_path", part)):
        if not isinstance(value, str) or not os.path.isabs(value):
            raise Refused(400, INVALID_EXPORT, f"`{name}` must be an absolute path")
    if os.path.dirname(part) != os.path.dirname(path) or part == path:
        raise Refused(400, INVALID_EXPORT, "`part_path` must be another file in the folder of `path`")
    if not os.path.isdir(os.path.dirname(path)):
        raise Refused(400, INVALID_EXPORT, f"no such folder: {os.path.dirname(path)}")
    if os.path.isdir(path):
        raise Refused(400, INVALID_EXPORT, f"{path} is a folder")
    return path, part, fmt, bool(body.get("whole_file", False))


def write_export(session, export: Export, request: tuple, progress) -> dict:
    """Write the export (in a worker thread); its reply, or Refused."""
    path, part, fmt, whole_file = request
    began = time.monotonic()
    try:
        view = export_view(session, view_spec(session, whole_file), export.cancelled)
        if fmt == "xlsx":
            _check_xlsx(view.rows)
        rows = _write_part(view, part, fmt, export, lambda n: progress(n, view.rows, time.monotonic() - began))
        if export.cancelled():
            raise Cancelled
        os.replace(part, path)
    except Refused:
        _remove(part)
        raise
    except BaseException as exc:
        _remove(part)
        raise _refusal(exc, export, part) from exc
    seconds = time.monotonic() - began
    log.info("exported %d rows (%s, %s) to %s in %.1f s", rows, fmt, view.how, path, seconds)
    return {"path": path, "rows": rows, "bytes": os.path.getsize(path), "seconds": round(seconds, 3), "how": view.how}


def _check_xlsx(rows: int | None) -> None:
    """An .xlsx is refused before anything is written: no xlsxwriter, or more rows than a sheet holds."""
    try:
        import xlsxwriter  # noqa: F401
    except ImportError as exc:
        raise Refused(400, EXPORT_UNSUPPORTED, f".xlsx exports need xlsxwriter in the sidecar's Python "
                                               f"(pip install {EXPORT_PIP}); CSV and Parquet work without it") from exc
    if rows is not None and rows > XLSX_MAX_ROWS:
        raise Refused(400, EXPORT_TOO_MANY_ROWS, f"{rows:,} rows do not fit in an Excel sheet ({XLSX_MAX_ROWS:,} "
                                                 "under the header): export to CSV or Parquet, or search to fewer rows")


def _write_part(view, part: str, fmt: str, export: Export, progress) -> int:
    rows, shown = 0, time.monotonic()
    # "x": the plugin names a new file; never write through one that exists.
    with open(part, "xb") as sink:
        writer = writer_for(fmt, sink)
        for batch in view.batches:
            if export.cancelled():
                view.batches.close()
                raise Cancelled
            writer.write(batch)
            rows += batch.num_rows
            if time.monotonic() - shown >= PROGRESS_EVERY_S:
                shown = time.monotonic()
                progress(rows)
        writer.close()
        sink.flush()
        os.fsync(sink.fileno())
    progress(rows)
    return rows


def _refusal(exc: BaseException, export: Export, part: str) -> Refused:
    if isinstance(exc, Cancelled) or export.cancelled():
        return Refused(409, EXPORT_CANCELLED, f"the export was cancelled ({export.why or 'by the user'}); nothing was written")
    if isinstance(exc, ExportUnsupported):
        return Refused(400, EXPORT_UNSUPPORTED, str(exc))
    if disk_full(exc):
        return Refused(507, DISK_FULL, f"no space left in {os.path.dirname(part)} for the export: free space there or "
                                       "pick another folder; nothing was written")
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        raise exc
    log.exception("export failed")
    return Refused(500, EXPORT_FAILED, f"the export failed ({exception_line(exc)}); nothing was written")


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("could not remove the partial export %s: %s", path, exc)


def progress_frame(rows: int, total: int | None, elapsed: float) -> str:
    percent = None if not total else round(min(100.0, 100.0 * rows / total), 1)
    eta = None if not total or not rows else round(elapsed * (total - rows) / rows, 1)
    return json.dumps({"type": PROGRESS_TYPE, "rows": rows, "total": total, "percent": percent,
                       "elapsed_s": round(elapsed, 2), "eta_s": eta})


def make_export_handlers():
    """The two routes' tornado handlers."""
    import tornado.ioloop
    import tornado.web

    class ExportHandler(tornado.web.RequestHandler):
        async def post(self, session_id):
            self.set_header("Content-Type", "application/json")
            exports, sessions = self.application.settings[EXPORTS_SETTING], self.application.settings["sessions"]
            loop = tornado.ioloop.IOLoop.current()
            try:
                request = checked_request(json.loads(self.request.body or b"null"))
                export = exports.begin(session_id)
            except (Refused, ValueError) as exc:
                return self._refused(exc if isinstance(exc, Refused) else Refused(400, INVALID_EXPORT, str(exc)))
            session = sessions.get(session_id)

            def progress(rows, total, elapsed):
                loop.add_callback(_tell_clients, session, progress_frame(rows, total, elapsed))
            try:
                reply = await loop.run_in_executor(None, write_export, session, export, request, progress)
            except Refused as exc:
                return self._refused(exc)
            finally:
                exports.end(export)
            self.finish(json.dumps(reply))

        def _refused(self, exc: Refused):
            self.set_status(exc.status)
            self.finish(json.dumps(error(exc.code, str(exc))))

    class ExportCancelHandler(tornado.web.RequestHandler):
        def post(self, session_id):
            self.set_header("Content-Type", "application/json")
            cancelled = self.application.settings[EXPORTS_SETTING].cancel(session_id, "cancelled")
            self.finish(json.dumps({"cancelled": cancelled}))

    return [(r"/export/([^/]+)", ExportHandler), (r"/export_cancel/([^/]+)", ExportCancelHandler)]


def _tell_clients(session, message: str) -> None:
    import tornado.websocket

    for client in list(getattr(session, "ws_clients", ()) or ()):
        with contextlib.suppress(tornado.websocket.WebSocketClosedError):
            client.write_message(message)
