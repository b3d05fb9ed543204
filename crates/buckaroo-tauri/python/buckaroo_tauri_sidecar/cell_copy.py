"""Copied cells: `POST /copy/<session>` `{start, end, columns}` answers a block of the
grid's view (rows [start, end) in the grid's order, `columns` by the grid's ids in the
order given) as tab-separated text with a header row of the user's column names, which
pastes into a spreadsheet as cells: `{tsv, rows, columns}`. Values are written as held
(whole numbers whole, decimals exact, a zoned time in its own zone with its offset);
a tab, newline or quote inside a value is quoted as spreadsheets read it. More than
COPY_MAX_CELLS cells: `copy_too_big` (export them instead).
"""

from __future__ import annotations

import json

from .contract import COPY_FAILED, COPY_MAX_CELLS, COPY_TOO_BIG, EXPORT_UNSUPPORTED, INVALID_COPY
from .export_views import ExportUnsupported, view_block, view_spec
from .export_writers import delimited_columns
from .util import error, exception_line, log


class CopyRefused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


def checked_block(body) -> tuple[int, int, list[str]]:
    if not isinstance(body, dict):
        raise CopyRefused(400, INVALID_COPY, "the body must be a JSON object")
    start, end, columns = body.get("start"), body.get("end"), body.get("columns")
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
        raise CopyRefused(400, INVALID_COPY, "`start` and `end` must be row numbers, start < end")
    if not (isinstance(columns, list) and columns and all(isinstance(c, str) for c in columns)):
        raise CopyRefused(400, INVALID_COPY, "`columns` must be a non-empty list of the grid's column ids")
    cells = (end - start) * len(columns)
    if cells > COPY_MAX_CELLS:
        raise CopyRefused(400, COPY_TOO_BIG, f"{cells:,} cells are more than a copy takes ({COPY_MAX_CELLS:,}): "
                                             "export them to a file instead")
    return start, end, columns


def block_tsv(table) -> str:
    """`table` as TSV with a header, each value as text (export_writers' rules)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, dialect="excel-tab", lineterminator="\n")
    writer.writerow(table.column_names)
    columns = [col.to_pylist() for col in delimited_columns(table)]
    for row in zip(*columns, strict=True):
        writer.writerow(["" if v is None else _text(v) for v in row])
    return out.getvalue()


def _text(value) -> str:
    import datetime as dt

    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value) if value == value else ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def copy_block(session, body) -> dict:
    start, end, columns = checked_block(body)
    try:
        table = view_block(session, view_spec(session, whole_file=False), start, end, columns)
    except ExportUnsupported as exc:
        raise CopyRefused(400, EXPORT_UNSUPPORTED, str(exc)) from exc
    except KeyError as exc:
        raise CopyRefused(400, INVALID_COPY, f"no such column in this grid: {exc}") from exc
    return {"tsv": block_tsv(table), "rows": table.num_rows, "columns": table.num_columns}


def make_copy_handler():
    import tornado.ioloop
    import tornado.web

    class CopyHandler(tornado.web.RequestHandler):
        async def post(self, session_id):
            self.set_header("Content-Type", "application/json")
            session = self.application.settings["sessions"].get(session_id)
            try:
                body = json.loads(self.request.body or b"null")
                reply = await tornado.ioloop.IOLoop.current().run_in_executor(None, copy_block, session, body)
            except CopyRefused as exc:
                self.set_status(exc.status)
                return self.finish(json.dumps(error(exc.code, str(exc))))
            except Exception as exc:  # noqa: BLE001 - answered, coded
                log.exception("copy failed")
                self.set_status(500)
                return self.finish(json.dumps(error(COPY_FAILED, f"the copy failed: {exception_line(exc)}")))
            self.finish(json.dumps(reply))

    return [(r"/copy/([^/]+)", CopyHandler)]
