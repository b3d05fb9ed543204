"""What the launcher and the plugin (and the page behind it) agree on: the codes the
launcher sends, the token's header and variable, the variables the plugin sets, the
exit codes, and the buckaroo version it was tested against.

Standard library only, no imports at all: the probe reads it on broken interpreters.
python/tests/test_drift.py ties every value here to its other copies (the crate's
launcher.rs and config.rs, the adapter's `ServerErrorCode`, docs/protocol.md and the
plugin's hints in error.rs); no other module of the package writes a code as a string.
"""

from __future__ import annotations

# The buckaroo version this launcher was tested against. The source of truth is
# TESTED_BUCKAROO in crates/buckaroo-tauri/src (launcher.rs); python/tests/test_drift.py
# fails when this copy (or any other) disagrees.
TESTED_BUCKAROO = "0.15.11"
PIP_SPEC = f'"buckaroo[server,polars]=={TESTED_BUCKAROO}" six "pandas<3"'
# What /load_expr and big files need on top (optional: files load without them); duckdb
# writes the sorted copies of big files (sorted_copies.py).
XORQ_PIP = f'"buckaroo[server,polars,xorq]=={TESTED_BUCKAROO}" duckdb==2.0.1 six "pandas<3"'
# What an .xlsx export needs (optional: every other format works without it); the
# managed environment's locks carry it.
EXPORT_PIP = "xlsxwriter==3.3.1"
# Excel's sheet: 1,048,576 rows, the header one of them.
XLSX_MAX_ROWS = 1_048_575
# A copy of more cells than this is refused (export them instead): a clipboard of ~50 MB.
COPY_MAX_CELLS = 1_000_000


def supported(version: str | None) -> bool:
    """Same minor as the tested version (0.15.x for 0.15.11): the adapter's rule too."""
    minor = ".".join(TESTED_BUCKAROO.split(".")[:2])
    return version is not None and version.startswith(minor + ".")


# -- The secret ---------------------------------------------------------------------------
TOKEN_ENV = "BUCKAROO_TAURI_TOKEN"  # read once and dropped from the environment
TOKEN_HEADER = "X-Buckaroo-Token"  # on every HTTP request and WebSocket upgrade
TOKEN_MIN_CHARS = 32
# Benchmark builds only: `?token=` accepted too (a page's WebSocket cannot send headers).
ALLOW_QUERY_TOKEN_ENV = "BUCKAROO_TAURI_ALLOW_QUERY_TOKEN"

# -- What the plugin sets (config.rs holds the same names) -------------------------------
LOAD_TIMEOUT_ENV = "BUCKAROO_TAURI_LOAD_TIMEOUT"
ENGINE_MIN_BYTES_ENV = "BUCKAROO_TAURI_ENGINE_MIN_BYTES"
# Below this a pandas load takes under 2 s here with every stat inline, and keeps what
# only it reads (mixed-type columns, any JSON value); above it the engine shows rows
# 10x sooner in a fraction of the memory (docs/benchmarks.md "Big files"). The plugin
# passes its own (BuckarooConfig::with_engine_min_bytes, DEFAULT_ENGINE_MIN_BYTES).
DEFAULT_ENGINE_MIN_BYTES = 32 << 20
WARM_XORQ_ENV = "BUCKAROO_TAURI_WARM_XORQ"
LOG_LEVEL_ENV = "BUCKAROO_TAURI_LOG_LEVEL"
# Remote engines (cli.remote_engine_timeouts): a connect gives up after this long; a
# statement (a window, a stats query, a load's count) after that.
PG_CONNECT_TIMEOUT_S = 10
PG_STATEMENT_TIMEOUT_S = 300

# -- The handshake and the exit codes ------------------------------------------------------
HANDSHAKE_PREFIX = "BUCKAROO_PORT="  # the only stdout line: BUCKAROO_PORT=<n>
EXIT_OK = 0  # stdin reached EOF (the app is gone), or the loop ended
EXIT_BAD_TOKEN = 2  # TOKEN_ENV missing or shorter than TOKEN_MIN_CHARS
EXIT_UNSUPPORTED = 3  # buckaroo's version or internals are not the tested ones

# -- The codes the launcher sends ----------------------------------------------------------
# HTTP refusals ({"error_code", "message"}, buckaroo's own shape).
FORBIDDEN = "forbidden"
INVALID_FILE = "invalid_file"
FILE_NOT_FOUND = "file_not_found"
LOAD_ERROR = "load_error"
LOAD_EXPR_ERROR = "load_expr_error"
LOAD_CANCELLED = "load_cancelled"
LOAD_TIMEOUT = "load_timeout"
XORQ_NOT_INSTALLED = "xorq_not_installed"
EXPR_UNREADABLE = "expr_unreadable"
INVALID_SESSION = "invalid_session"
ENGINE_UNSUPPORTED = "engine_unsupported"
NOT_XORQ_SESSION = "not_xorq_session"
# Databases (databases.py, db_loads.py): refusals of /db_tables and /load_db; a row
# window of a table dropped meanwhile fails with DB_TABLE_MISSING too.
INVALID_CONNECTION = "invalid_connection"
DB_AUTH_FAILED = "db_auth_failed"
DB_UNREACHABLE = "db_unreachable"
DB_TABLE_MISSING = "db_table_missing"
DB_QUERY_INVALID = "db_query_invalid"
DB_DRIVER_MISSING = "db_driver_missing"
DB_FAILED = "db_failed"
DB_CHOOSE_TABLE = "db_choose_table"
# WebSocket frames: a refused message, and failed row windows (infinite_resp).
INVALID_MESSAGE = "invalid_message"
SERIALIZATION_FAILED = "serialization_failed"
ROW_REQUEST_FAILED = "row_request_failed"
ROWS_SUPERSEDED = "rows_superseded"
FILE_CHANGED = "file_changed"
ROW_REQUEST_TIMEOUT = "row_request_timeout"
DISK_FULL = "disk_full"
# Exports (exports.py): HTTP refusals of /export.
INVALID_EXPORT = "invalid_export"
EXPORT_BUSY = "export_busy"
EXPORT_CANCELLED = "export_cancelled"
EXPORT_UNSUPPORTED = "export_unsupported"
EXPORT_FAILED = "export_failed"
EXPORT_TOO_MANY_ROWS = "export_too_many_rows"
# Copied cells (cell_copy.py): HTTP refusals of /copy.
INVALID_COPY = "invalid_copy"
COPY_TOO_BIG = "copy_too_big"
COPY_FAILED = "copy_failed"

CODES = {
    FORBIDDEN: "403: a request or WebSocket upgrade without the launch's token",
    INVALID_FILE: "400: a FIFO, device or socket, or a file the engine cannot read (buckaroo's own code too)",
    FILE_NOT_FOUND: "404: an engine load's file vanished before its worker ran (buckaroo's own code too)",
    LOAD_ERROR: "500: a /load crashed outside buckaroo's own error handling (buckaroo's own code too)",
    LOAD_EXPR_ERROR: "500: a /load_expr crashed outside buckaroo's own error handling (buckaroo's own code too)",
    LOAD_CANCELLED: "409: a newer load of the session, or its window closing, cancelled the load",
    LOAD_TIMEOUT: "504: the load took longer than BUCKAROO_TAURI_LOAD_TIMEOUT seconds",
    XORQ_NOT_INSTALLED: "501: /load_expr, /reload_expr or an engine load where xorq.api does not import",
    EXPR_UNREADABLE: "422: a xorq build whose data cannot be read",
    INVALID_SESSION: "400: a /load_expr whose session is not a string",
    ENGINE_UNSUPPORTED: "400: backend xorq asked for a file format the engine does not read",
    NOT_XORQ_SESSION: "400: /reload_expr on a session showing a file on the engine, not a build",
    INVALID_CONNECTION: "400: a /db_tables or /load_db whose connection spec (or table/query) is missing or mis-shaped",
    DB_AUTH_FAILED: "401: the database refused the user or password",
    DB_UNREACHABLE: "502: the database server cannot be reached (or its file is not there: 404)",
    DB_TABLE_MISSING: "404: the table is not in the database (dropped or renamed); row window: dropped while viewed",
    DB_QUERY_INVALID: "400: a query that is not one read-only SELECT, or that the engine rejects",
    DB_DRIVER_MISSING: "501: the backend's driver (xorq's extra for it) does not import",
    DB_CHOOSE_TABLE: "409: a /load of a DuckDB or SQLite file holding more (or fewer) than one table: list them (/db_tables), open one",
    DB_FAILED: "502: the database failed otherwise (the message says why, without the password)",
    INVALID_MESSAGE: "WebSocket error frame: a message that is JSON but not an object",
    SERIALIZATION_FAILED: "row window: its rows cannot be turned into parquet (column names the culprit)",
    ROW_REQUEST_FAILED: "row window: any other failure of a row request",
    ROWS_SUPERSEDED: "row window: the session loaded something else while the window was computed",
    ROW_REQUEST_TIMEOUT: "row window: an expression's window not done within BUCKAROO_TAURI_ROW_DEADLINE seconds (a stuck engine)",
    DISK_FULL: "row window: a sorted window whose sorted copy ran out of space; 507: an export that did (names the folder)",
    INVALID_EXPORT: "400: an /export with an unknown format, a relative path, a missing folder or a bad part_path",
    EXPORT_BUSY: "409: an /export while the session's previous one still runs",
    EXPORT_CANCELLED: "409: an /export cancelled (/export_cancel, or its window closed); nothing written",
    EXPORT_UNSUPPORTED: "400: an /export of a session with nothing loaded, or a polars-backed or lazy one",
    EXPORT_TOO_MANY_ROWS: "400: an .xlsx export of more rows than a sheet holds (1,048,575 under the header)",
    EXPORT_FAILED: "500: an /export that failed otherwise (the message says why); nothing written",
    INVALID_COPY: "400: a /copy without start < end or with an unknown column id",
    COPY_TOO_BIG: "400: a /copy of more than COPY_MAX_CELLS cells",
    COPY_FAILED: "500: a /copy that failed otherwise (the message says why)",
    FILE_CHANGED: "row window: the engine file it reads changed on disk since the load (no mix of old and new rows)",
}
