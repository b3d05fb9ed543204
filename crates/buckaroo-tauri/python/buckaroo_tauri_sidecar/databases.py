"""Databases: a connection spec to a read-only xorq backend, its tables, coded failures.

A connection spec (the `connection` of /db_tables and /load_db) is one of
    {"kind": "postgres", "host", "port", "database", "user", "password"?, "schema"?}
    {"kind": "duckdb", "path"}        {"kind": "sqlite", "path"}
    {"kind": "url", "url"}            any other xorq backend, by its URL
The password comes from the plugin (which keeps it; the page never sees it again) and
is never logged: `describe` names a connection without it, and a driver's message is
scrubbed of it before it goes anywhere.

Every connection is read-only, so the viewer can never write: PostgreSQL sessions run
with `default_transaction_read_only`, DuckDB files open `read_only`, SQLite connections
`mode=ro`. Listing tables reads the catalog's estimates (pg_class.reltuples,
duckdb_tables().estimated_size, SQLite's max(rowid)), never a COUNT(*).
"""

from __future__ import annotations

import contextlib
import os
from typing import NamedTuple

from .contract import (
    DB_AUTH_FAILED,
    DB_CHOOSE_TABLE,
    DB_DRIVER_MISSING,
    DB_FAILED,
    DB_QUERY_INVALID,
    DB_TABLE_MISSING,
    DB_UNREACHABLE,
    INVALID_CONNECTION,
)
from .util import exception_line

KINDS = ("postgres", "duckdb", "sqlite", "url")
APPLICATION_NAME = "buckaroo-tauri"  # what pg_stat_activity shows for our sessions
# DuckDB and SQLite files the launcher opens as databases, not as tables.
DATABASE_FILE_EXTENSIONS = {".duckdb": "duckdb", ".ddb": "duckdb", ".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite"}


def database_file_kind(path) -> str | None:
    """"duckdb" or "sqlite" for a database file (by its first bytes, so a `.db` that is
    something else stays a file), else None."""
    if not isinstance(path, str) or os.path.splitext(path)[1].lower() not in DATABASE_FILE_EXTENSIONS:
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head.startswith(b"SQLite format 3\0"):
        return "sqlite"
    return "duckdb" if head[8:12] == b"DUCK" else None


class DbRefused(Exception):
    """A database request answered with a code (contract.CODES) and an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.status = code, status


class Spec(NamedTuple):
    kind: str
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    password: str | None = None
    schema: str | None = None
    path: str | None = None
    url: str | None = None


def parse_spec(raw) -> Spec:
    """The connection spec of a request body, or DbRefused(invalid_connection)."""
    if not isinstance(raw, dict):
        raise DbRefused(INVALID_CONNECTION, "connection must be an object with a kind")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise DbRefused(INVALID_CONNECTION, f"connection kind must be one of {', '.join(KINDS)}, not {kind!r}")
    text = {k: raw.get(k) for k in ("host", "database", "user", "password", "schema", "path", "url")}
    for key, value in text.items():
        if value is not None and not isinstance(value, str):
            raise DbRefused(INVALID_CONNECTION, f"connection {key} must be a string")
    port = raw.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536):
        raise DbRefused(INVALID_CONNECTION, "connection port must be a number from 1 to 65535")
    spec = Spec(kind=kind, port=port, **text)
    needed = {"postgres": ("host", "database", "user"), "duckdb": ("path",), "sqlite": ("path",), "url": ("url",)}[kind]
    missing = [k for k in needed if not getattr(spec, k)]
    if missing:
        raise DbRefused(INVALID_CONNECTION, f"a {kind} connection needs {', '.join(missing)}")
    if spec.path is not None and not os.path.isabs(spec.path):
        raise DbRefused(INVALID_CONNECTION, f"{spec.path}: a database file's path must be absolute")
    return spec


def describe(spec: Spec) -> str:
    """The connection in words, without its password: for titles, logs and messages."""
    if spec.kind == "postgres":
        return f"postgres://{spec.user}@{spec.host}:{spec.port or 5432}/{spec.database}"
    if spec.kind == "url":
        from urllib.parse import urlsplit

        parts = urlsplit(spec.url)
        host = parts.hostname or ""
        return f"{parts.scheme}://{parts.username + '@' if parts.username else ''}{host}{parts.path}"
    return spec.path


def scrub(text: str, spec: Spec) -> str:
    """`text` (a driver's message) without the connection's password."""
    secret = spec.password or ""
    return text.replace(secret, "***") if len(secret) >= 1 else text


def _postgres_options() -> str:
    """libpq's `options` for our sessions: read-only, plus PGOPTIONS (the statement timeout
    cli.remote_engine_timeouts sets, or the user's own), which an explicit `options`
    would otherwise replace."""
    return " ".join(filter(None, [os.environ.get("PGOPTIONS", "").strip(), "-c default_transaction_read_only=on"]))


def connect(spec: Spec, tag: str = ""):
    """A read-only xorq backend for `spec`, or DbRefused with the failure's code. A
    PostgreSQL one's connections carry the application_name `buckaroo-tauri/<tag>`, so
    the queries of one session can be found and cancelled (db_sources._cancel_postgres)."""
    try:
        if spec.kind == "postgres":
            import xorq.api as xo

            return xo.postgres.connect(host=spec.host, port=spec.port or 5432, user=spec.user, password=spec.password,
                                       database=spec.database, schema=spec.schema or None,
                                       application_name=f"{APPLICATION_NAME}/{tag}".rstrip("/"),
                                       options=_postgres_options())
        if spec.kind in ("duckdb", "sqlite"):
            if not os.path.isfile(spec.path):
                raise DbRefused(DB_UNREACHABLE, f"{spec.path} does not exist or is not a file", 404)
            import xorq.api as xo

            if spec.kind == "duckdb":
                return xo.duckdb.connect(spec.path, read_only=True)
            return _sqlite_read_only(spec.path)
        from xorq.vendor import ibis

        return ibis.connect(spec.url)
    except DbRefused:
        raise
    except ImportError as exc:
        raise DbRefused(DB_DRIVER_MISSING, f"the {spec.kind} driver does not import here ({exception_line(exc)}); "
                        f"install xorq's extra for it, e.g. pip install 'xorq[{spec.kind}]'", 501) from None
    except Exception as exc:  # noqa: BLE001 - classified, coded
        raise classify(exc, spec) from None


def _sqlite_read_only(path: str):
    """A read-only SQLite backend usable from the window workers (one connection; the
    load that makes it runs in another thread than the windows that use it)."""
    import sqlite3
    from urllib.parse import quote

    from xorq.backends.sqlite import Backend

    con = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, check_same_thread=False)
    con.execute("PRAGMA query_only = ON")
    return Backend.from_connection(con)


def classify(exc: BaseException, spec: Spec, table: str | None = None) -> DbRefused:
    """A driver's exception as a coded refusal (its message scrubbed of the password)."""
    # The whole message (libpq's last line alone says only "Is the server running…?").
    text = scrub(f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:400], spec)
    state = str(getattr(exc, "sqlstate", "") or getattr(getattr(exc, "diag", None), "sqlstate", "") or "")
    where = describe(spec)
    lowered = text.lower()
    if state.startswith("28") or "password authentication failed" in lowered or "authentication failed" in lowered:
        return DbRefused(DB_AUTH_FAILED, f"{where}: the server refused the user or password ({text})", 401)
    if state == "42P01" or "does not exist" in lowered and ("relation" in lowered or "table" in lowered) \
            or "no such table" in lowered or "catalog error: table" in lowered or "tablenotfound" in lowered:
        name = f" {table}" if table else ""
        return DbRefused(DB_TABLE_MISSING, f"{where}: the table{name} is not there (dropped or renamed?): {text}", 404)
    # 08: connection exceptions; 57P01-03: the server shut down (or is starting) under the session.
    if state.startswith(("08", "57P0")) or any(s in lowered for s in (
            "connection refused", "could not connect", "timeout expired", "could not translate host",
            "connection is bad", "server closed the connection", "connection timed out", "the connection is lost",
            "no route to host", "is the server running", "no connection to the server",
            "terminating connection due to administrator command", "the database system is shutting down")):
        return DbRefused(DB_UNREACHABLE, f"{where}: the server cannot be reached ({text})", 502)
    if state.startswith("42") or "syntax error" in lowered or "parser error" in lowered:
        return DbRefused(DB_QUERY_INVALID, f"{where}: {text}", 400)
    return DbRefused(DB_FAILED, f"{where}: {text}", 502)


def read_only_query(sql: str, kind: str) -> str:
    """`sql` when it is one read-only query (SELECT, WITH … SELECT, a set operation), else
    DbRefused(db_query_invalid). The read-only session is the real guard; this one says
    why before anything runs."""
    import sqlglot
    from sqlglot import expressions as exp

    dialect = {"postgres": "postgres", "duckdb": "duckdb", "sqlite": "sqlite"}.get(kind)
    text = (sql or "").strip().rstrip(";").strip()
    if not text:
        raise DbRefused(DB_QUERY_INVALID, "the query is empty")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise DbRefused(DB_QUERY_INVALID, f"the query does not parse: {exception_line(exc)}") from None
    if len(statements) != 1:
        raise DbRefused(DB_QUERY_INVALID, f"one query, please ({len(statements)} statements given)")
    if not isinstance(statements[0], exp.Query):
        raise DbRefused(DB_QUERY_INVALID, f"only a read-only query (SELECT …) is viewed, not {statements[0].key.upper()}")
    return text


def _postgres_tables(backend) -> list[dict]:
    sql = """
        SELECT n.nspname, c.relname, c.relkind, c.reltuples::bigint
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
          AND has_table_privilege(c.oid, 'SELECT')
        ORDER BY 1, 2"""
    kinds = {"r": "table", "p": "table", "v": "view", "m": "view", "f": "table"}
    with backend.con.cursor() as cur:
        rows = cur.execute(sql).fetchall()
    # reltuples is -1 for a table never vacuumed or analyzed: unknown, not empty.
    return [{"schema": s, "name": n, "kind": kinds[k], "rows": int(r) if r is not None and r >= 0 else None}
            for s, n, k, r in rows]


def _duckdb_tables(backend) -> list[dict]:
    tables = backend.con.execute(
        "SELECT schema_name, table_name, 'table', estimated_size FROM duckdb_tables() WHERE NOT internal "
        "UNION ALL SELECT schema_name, view_name, 'view', NULL FROM duckdb_views() WHERE NOT internal AND NOT temporary "
        "ORDER BY 1, 2").fetchall()
    return [{"schema": s, "name": n, "kind": k, "rows": r} for s, n, k, r in tables]


def _sqlite_tables(backend) -> list[dict]:
    names = backend.con.execute(
        "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "ORDER BY name").fetchall()
    found = []
    for name, kind in names:
        rows = None
        if kind == "table":
            try:  # the rowid b-tree's last key: O(log n), exact unless rows were deleted
                rows = backend.con.execute(f'SELECT max(rowid) FROM "{name.replace(chr(34), chr(34) * 2)}"').fetchone()[0] or 0
            except Exception:  # noqa: BLE001 - a WITHOUT ROWID table: no cheap estimate
                rows = None
        found.append({"schema": None, "name": name, "kind": kind, "rows": rows})
    return found


def only_table(backend, spec: Spec) -> dict:
    """The database's one table ({schema, name}), or DbRefused(db_choose_table) naming them."""
    tables = list_tables(backend, spec)
    if len(tables) == 1:
        return {"schema": tables[0]["schema"], "name": tables[0]["name"]}
    names = ", ".join(t["name"] for t in tables[:20]) + (", …" if len(tables) > 20 else "")
    raise DbRefused(DB_CHOOSE_TABLE, f"{describe(spec)} holds {len(tables)} tables ({names or 'none'}): choose one", 409)


def list_tables(backend, spec: Spec) -> list[dict]:
    """The connection's tables and views with a cheap row estimate (None: unknown)."""
    try:
        if spec.kind == "postgres":
            return _postgres_tables(backend)
        if spec.kind == "duckdb":
            return _duckdb_tables(backend)
        if spec.kind == "sqlite":
            return _sqlite_tables(backend)
        return [{"schema": None, "name": name, "kind": "table", "rows": None} for name in backend.list_tables()]
    except Exception as exc:  # noqa: BLE001 - classified, coded
        raise classify(exc, spec) from None


def close_quietly(backend) -> None:
    with contextlib.suppress(Exception):  # closing what may be broken already
        backend.disconnect()
