"""/load_expr, /reload_expr and engine file loads, around buckaroo's LoadExprHandler.

What the launcher changes:
- the load runs in a worker like /load (ExprLoads: same timeout, cancel and staging;
  buckaroo's broadcast_state is held until the staged session is applied);
- when xorq.api does not import, /load_expr and /reload_expr answer 501
  `xorq_not_installed` with the pip command (buckaroo answers 500 load_expr_error);
- a build whose data cannot be read answers 422 `expr_unreadable` with the cause
  (buckaroo answers 200 with rows 0, or 500 without a cause);
- its row windows come in a total order (xorq_windows.py);
- a big file (or any, with `backend: "xorq"`) opens on xorq's embedded engine
  (EngineFileLoads, engine_files.py): rows first, stats after.
"""

from __future__ import annotations

import json
import os

from .contract import ENGINE_UNSUPPORTED, EXPR_UNREADABLE, FILE_NOT_FOUND, INVALID_FILE, INVALID_SESSION, LOAD_EXPR_ERROR, NOT_XORQ_SESSION
from .engine_files import FileSource, engine_choice, file_stamp
from .loads import BUCKAROO_ANSWERS, REFUSED, FileLoads, Route
from .patches import install_xorq_hooks
from .sorted_copies import SORTED_COPIES
from .staging import FILE_LOAD_FAILURE
from .util import error, exception_line, log
from .xorq_support import EXPR_LOAD, xorq_import_error, xorq_not_installed

XORQ_UNREADABLE_STATUS = 422


def unreadable_cause(expr) -> str | None:
    """Why the rows of `expr`, whose count came back 0, cannot be read; None when it is
    really empty. Only asked for a count of 0: buckaroo's count turns a failed query
    into 0, and a count that succeeded has read the data, so other loads pay nothing."""
    try:
        from xorq.common.utils.graph_utils import walk_nodes
        from xorq.expr.relations import Read
    except ImportError:
        reads = []
    else:
        reads = [dict(node.read_kwargs).get("hash_path") for node in walk_nodes(Read, expr)]
    for path in reads:
        # DataFusion reads a missing local path as a table with no rows.
        if isinstance(path, (str, os.PathLike)) and "://" not in str(path) and not os.path.exists(path):
            return f"{path} does not exist"
    try:
        expr.limit(1).to_pyarrow()
    except Exception as exc:  # noqa: BLE001 - whatever the engine says is the cause
        return exception_line(exc)
    return None


class ExprLoads(FileLoads):
    """What ThreadedLoadHandler does around buckaroo's LoadExprHandler.post (/load_expr).

    Replies added to buckaroo's: 501 `xorq_not_installed` (xorq.api does not import;
    the message carries `pip install <XORQ_PIP>`), 422 `expr_unreadable` (expr.yaml
    missing or unparsable, a file under reads/ missing or not parquet; the message is
    `<build_dir>: <cause>`), 400 `invalid_session` (a session that is not a string).
    A missing build directory keeps buckaroo's 404 `build_dir_not_found`."""

    failure = (LOAD_EXPR_ERROR, "Failed to load xorq expression")

    def accept(self, handler, body):
        session_id, build_dir = body.get("session") or None, body.get("build_dir")
        if not build_dir:
            return BUCKAROO_ANSWERS  # its 400 "Missing 'build_dir'"
        if session_id is not None and not isinstance(session_id, str):
            handler.set_status(400)
            handler.write(error(INVALID_SESSION, "session must be a string"))
            return None
        import uuid

        return Route(session_id or uuid.uuid4().hex, str(build_dir), self)

    def prepare(self, run) -> bool:
        why = xorq_import_error()
        if why is not None:
            run.status, run.chunks = 501, [xorq_not_installed(why)]
            return False
        install_xorq_hooks()
        EXPR_LOAD.failure = None
        return True

    def finish(self, run) -> None:
        import time

        build_dir = json.loads(run.request.body).get("build_dir")
        cause, staged = EXPR_LOAD.failure, run.sessions.staged
        if run.status == 200 and staged is not None:
            staged.engine_file = None  # a build now, not an engine file (reload_expr serves it)
        if run.status == 500 and cause:
            run.status, run.chunks = XORQ_UNREADABLE_STATUS, [error(EXPR_UNREADABLE, f"{build_dir}: {cause}")]
        elif run.status == 200 and staged is not None and staged.changed("xorq_dataflow") \
                and (staged.metadata or {}).get("rows") == 0:
            began = time.perf_counter()
            cause = unreadable_cause(staged.expr)
            log.info("rows 0 in %s: readability checked in %.1f ms", build_dir, (time.perf_counter() - began) * 1e3)
            if cause is not None:
                log.warning("build %s not served: %s", build_dir, cause)
                run.status, run.chunks = XORQ_UNREADABLE_STATUS, [error(EXPR_UNREADABLE, f"{build_dir}: {cause}")]

    def push(self, handler, session, run) -> None:
        from buckaroo.server import handlers

        if run.sessions.staged.broadcast is not None:
            args, kwargs = run.sessions.staged.broadcast
            handlers.broadcast_state(session, *args, **kwargs)


def make_reload_expr_handler(ReloadExprHandler):
    """/reload_expr with the same 501 as /load_expr when xorq does not import (checked
    first, off the loop). The reload itself stays buckaroo's, on the loop."""
    class XorqCheckedReloadHandler(ReloadExprHandler):
        async def post(self, session_id):
            import asyncio

            why = await asyncio.get_running_loop().run_in_executor(None, xorq_import_error)
            if why is not None:
                self.set_status(501)
                self.write(xorq_not_installed(why))
                return None
            session = self.application.settings["sessions"].get(session_id)
            source = getattr(session, "engine_file", None) if session is not None else None
            if source is not None and session.backend == "xorq":
                self.set_status(400)
                self.write(error(NOT_XORQ_SESSION, f"session {session_id} shows the file {source.path} "
                                 "(opened on the engine), not a xorq build"))
                return None
            return await super().post(session_id)
    return XorqCheckedReloadHandler


class EngineFileLoads(ExprLoads):
    """A /load that goes through the engine: buckaroo's LoadExprHandler.post with the
    expression from file_expr. Its build_dir is the file's folder (buckaroo checks it
    is a directory; xorq_windows.expression_loader returns the file's expression instead
    of reading a build there). Replies added: 400 `invalid_file` with the engine's reason
    for a file it cannot read; 400 `engine_unsupported` for `backend: "xorq"` on a format
    it does not read; 501 `xorq_not_installed` as for /load_expr."""

    failure = FILE_LOAD_FAILURE

    def __init__(self, expr_handler_cls):
        self.expr_handler_cls = expr_handler_cls

    def route(self, handler, body, session_id: str, path: str):
        """The engine's Route for this /load, None for buckaroo's own, or REFUSED."""
        use, fmt, why = engine_choice(body, path)
        log.info("load %s: %s path (%s)", path, "engine" if use else "pandas", why)
        if not use:
            return None
        if fmt is None:
            handler.set_status(400)
            handler.write(error(ENGINE_UNSUPPORTED,
                                f"{path}: the engine reads Parquet (a file or a folder), CSV/TSV and JSON lines"))
            return REFUSED
        folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        expr_body = {key: body[key] for key in ("prompt", "component_config", "column_config_overrides",
                                                 "extra_grid_config", "init_sd") if body.get(key)}
        # force_reload: buckaroo's warm exit would answer a second file of the same folder
        # with the first one's metadata.
        expr_body |= {"build_dir": folder, "stats_delivery": body.get("stats_delivery", "deferred"),
                      "force_reload": True, "no_browser": True, "file": path, "file_format": fmt}
        return Route(session_id, path, self, self.expr_handler_cls, expr_body)

    def prepare(self, run) -> bool:
        body = json.loads(run.request.body)
        if not os.path.exists(body["file"]):
            run.status, run.chunks = 404, [error(FILE_NOT_FOUND, f"File not found: {body['file']}")]
            return False
        if not super().prepare(run):
            return False
        EXPR_LOAD.file = FileSource(body["file"], body["file_format"], file_stamp(body["file"]))
        SORTED_COPIES.forget(body["file"], keep=EXPR_LOAD.file.stamp)  # a reload of a changed file
        return True

    def finish(self, run) -> None:
        source, EXPR_LOAD.file = getattr(EXPR_LOAD, "file", None), None
        if source is None:
            return
        cause = EXPR_LOAD.failure
        if run.status == 500 and cause:
            run.status, run.chunks = 400, [error(INVALID_FILE, f"{source.path}: {cause}")]
        elif run.status == 200 and run.sessions.staged is not None:
            # buckaroo's reply, session and push say the folder it was given.
            staged = run.sessions.staged
            run.chunks = [{**chunk, "path": source.path, "backend": "xorq"} if isinstance(chunk, dict) else chunk
                          for chunk in run.chunks]
            staged.metadata = {**(staged.metadata or {}), "path": source.path, "backend": "xorq"}
            staged.engine_file = source
            if staged.broadcast is not None and "metadata" in staged.broadcast[1]:
                staged.broadcast[1]["metadata"] = staged.metadata
