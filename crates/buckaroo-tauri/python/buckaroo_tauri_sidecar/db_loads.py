"""/db_tables and /load_db: a database's tables, and one of them (or a read-only query)
opened in a session, paged by the engine that holds it.

POST /db_tables {connection} → {engine, name, tables: [{schema, name, kind, rows}]}
(rows: the catalog's estimate, null when unknown); it also serves as "Test connection".
POST /load_db {session, connection, table: {schema?, name} | query: "SELECT …"} loads
like /load_expr (buckaroo's LoadExprHandler in a worker, rows first, stats after, on
the engine); its reply says `"backend": "xorq"` and a `path` naming the connection and
table without the password. Refusals: 400 `invalid_connection`, 401 `db_auth_failed`,
502 `db_unreachable`, 404 `db_table_missing`, 400 `db_query_invalid`, 501
`db_driver_missing`, 502 `db_failed` (databases.py).

A session keeps its connection (DB_SESSIONS) until it loads again or its last window
closes; then whatever still runs for it on the server is cancelled and it is closed.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid

from .contract import DB_FAILED, DB_QUERY_INVALID, INVALID_CONNECTION, INVALID_SESSION
from .databases import (
    DbRefused,
    Spec,
    classify,
    close_quietly,
    connect,
    database_file_kind,
    describe,
    list_tables,
    only_table,
    parse_spec,
    read_only_query,
)
from .db_sources import DB_SESSIONS, DbSource, postgres_key, postgres_read
from .expr_loads import ExprLoads
from .loads import Route
from .util import error, exception_line, log
from .xorq_support import EXPR_LOAD, xorq_import_error, xorq_not_installed


def open_source(spec, target: dict, tag: str) -> DbSource:
    """Connect and make the expression of `target` ({table: {schema?, name}} or {query}),
    checked readable (a dropped table, a query that does not run: coded here)."""
    backend = connect(spec, tag)
    try:
        if target.get("query") is not None:
            sql = read_only_query(target["query"], spec.kind)
            name, key = "query", None
            # ibis learns a query's schema from a view it creates: not in a read-only session.
            expr = backend.sql(sql, schema=_postgres_query_schema(backend, sql)) if spec.kind == "postgres" else backend.sql(sql)
        else:
            table = target.get("table") or only_table(backend, spec)  # a database file opened as a file
            schema, name = table.get("schema") or None, table["name"]
            expr = backend.table(name, database=schema)
            key = postgres_key(backend, schema, name) if spec.kind == "postgres" else None
            name = f"{schema}.{name}" if schema else name
        source = DbSource(spec, backend, expr, name, key)
        source.fetch(expr.limit(0))
        return source
    except DbRefused:
        close_quietly(backend)
        raise
    except Exception as exc:  # noqa: BLE001 - classified, coded
        close_quietly(backend)
        raise classify(exc, spec, (target.get("table") or {}).get("name")) from None


def _postgres_query_schema(backend, sql: str):
    """The columns `sql` returns (its plan, run with LIMIT 0), as an ibis schema."""
    from xorq.vendor import ibis

    return ibis.Schema.from_pyarrow(postgres_read(backend, f"SELECT * FROM ({sql}) AS buckaroo_query LIMIT 0").schema)


def _target(body: dict) -> dict:
    table, query = body.get("table"), body.get("query")
    if (table is None) == (query is None):
        raise DbRefused(INVALID_CONNECTION, "give either table ({schema?, name}) or query")
    if table is not None and not (isinstance(table, dict) and isinstance(table.get("name"), str) and table["name"]
                                  and isinstance(table.get("schema") or "", str)):
        raise DbRefused(INVALID_CONNECTION, "table must be {schema?, name} with a non-empty name")
    if query is not None and not isinstance(query, str):
        raise DbRefused(DB_QUERY_INVALID, "query must be a string")
    return {"table": table} if table is not None else {"query": query}


def _expr_body(body: dict, spec: Spec, target: dict) -> dict:
    """The body buckaroo's LoadExprHandler runs with: its build_dir only has to be a folder
    (the expression comes from `db`, xorq_windows.expression_loader)."""
    return {"build_dir": tempfile.gettempdir(), "stats_delivery": body.get("stats_delivery", "deferred"),
            "force_reload": True, "no_browser": True, "db": {"spec": spec, "target": target}}


class DbLoads(ExprLoads):
    """What ThreadedLoadHandler does around buckaroo's LoadExprHandler.post for /load_db."""

    def __init__(self, expr_handler_cls):
        self.expr_handler_cls = expr_handler_cls

    def accept(self, handler, body):
        session_id = body.get("session") or uuid.uuid4().hex
        try:
            if not isinstance(session_id, str):
                raise DbRefused(INVALID_SESSION, "session must be a string")
            spec, target = parse_spec(body.get("connection")), _target(body)
        except DbRefused as refused:
            handler.set_status(refused.status)
            handler.write(error(refused.code, str(refused)))
            return None
        what = target["table"]["name"] if "table" in target else "query"
        return Route(session_id, f"{describe(spec)} · {what}", self, self.expr_handler_cls, _expr_body(body, spec, target))

    def route_file(self, body: dict, session_id: str, path: str):
        """A /load of a DuckDB or SQLite file: its one table (the worker refuses with
        `db_choose_table` when there are more), or None for any other file."""
        kind = database_file_kind(path)
        if kind is None:
            return None
        spec = Spec(kind=kind, path=os.path.abspath(path))
        return Route(session_id, path, self, self.expr_handler_cls, _expr_body(body, spec, {"only_table": True}))

    def prepare(self, run) -> bool:
        why = xorq_import_error()
        if why is not None:
            run.status, run.chunks = 501, [xorq_not_installed(why)]
            return False
        if not super().prepare(run):
            return False
        body = json.loads(run.request.body)
        spec = Spec(*body["db"]["spec"])
        session_id = body["session"]
        try:
            source = open_source(spec, body["db"]["target"], session_id[:12])
        except DbRefused as refused:
            log.info("/load_db %s refused: %s", describe(spec), refused.code)
            run.status, run.chunks = refused.status, [error(refused.code, str(refused))]
            return False
        DB_SESSIONS.add(session_id, source)
        EXPR_LOAD.db = source
        return True

    def finish(self, run) -> None:
        source, EXPR_LOAD.db = getattr(EXPR_LOAD, "db", None), None
        if source is None:
            return
        staged = run.sessions.staged
        if run.status == 200 and staged is not None and (staged.metadata or {}).get("rows") == 0:
            try:
                source.fetch(source.expr.limit(1))  # buckaroo's count says 0 for a failed query too
            except DbRefused as refused:
                run.status, run.chunks = refused.status, [error(refused.code, str(refused))]
        if run.status != 200 or staged is None:
            if run.status == 500 and EXPR_LOAD.failure:
                run.chunks = [error(DB_FAILED, f"{source.label}: {EXPR_LOAD.failure}")]
                run.status = 502
            DB_SESSIONS.drop(json.loads(run.request.body)["session"], source)
            return
        run.chunks = [{**chunk, "path": source.label, "backend": "xorq"} if isinstance(chunk, dict) else chunk
                      for chunk in run.chunks]
        staged.metadata = {**(staged.metadata or {}), "path": source.label, "backend": "xorq"}
        staged.engine_file = None
        staged.db_source = source
        if staged.broadcast is not None and "metadata" in staged.broadcast[1]:
            staged.broadcast[1]["metadata"] = staged.metadata

    def push(self, handler, session, run) -> None:
        super().push(handler, session, run)
        source = getattr(session, "db_source", None)
        if source is not None:
            DB_SESSIONS.shown(json.loads(run.request.body)["session"], source)
            threading.Thread(target=source.build_bookmarks, daemon=True, name="db-bookmarks").start()


def tables_reply(body) -> tuple[int, dict]:
    """/db_tables in a worker: (status, reply)."""
    try:
        spec = parse_spec((body or {}).get("connection") if isinstance(body, dict) else None)
        why = xorq_import_error()
        if why is not None:
            return 501, xorq_not_installed(why)
        backend = connect(spec, "tables")
        try:
            tables = list_tables(backend, spec)
        finally:
            close_quietly(backend)
    except DbRefused as refused:
        return refused.status, error(refused.code, str(refused))
    except Exception as exc:  # noqa: BLE001 - answered, coded
        log.exception("/db_tables failed")
        return 502, error(DB_FAILED, exception_line(exc))
    return 200, {"engine": spec.kind, "name": describe(spec), "tables": tables}


def make_db_handlers(LoadExprHandler, SessionState):
    import tornado.ioloop
    import tornado.web

    from .loads import make_load_handler

    class TablesHandler(tornado.web.RequestHandler):
        async def post(self):
            self.set_header("Content-Type", "application/json")
            try:
                body = json.loads(self.request.body or b"null")
            except ValueError:
                body = None
            status, reply = await tornado.ioloop.IOLoop.current().run_in_executor(None, tables_reply, body)
            self.set_status(status)
            self.finish(json.dumps(reply, default=str))

    load_db = make_load_handler(LoadExprHandler, SessionState, DbLoads(LoadExprHandler))
    return [(r"/db_tables", TablesHandler), (r"/load_db", load_db)]
