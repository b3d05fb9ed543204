"""A table (or a read-only query) of a database, as one session sees it, and its windows.

Each load opens its own connection (databases.connect); the session keeps it until it
loads something else or its window closes, then its running queries are cancelled on
the server and it is closed. Every row window is a query on that engine, in a total
order: the requested sort, then the table's primary key (PostgreSQL) or every other
orderable column. Nothing copies the table into the sidecar.

PostgreSQL: windows run on one ADBC connection the session keeps (xorq's backend opens
one per query, ~60 ms each); a `LIMIT … OFFSET n` walks n rows (1.1–3.0 s deep in 2M
rows), so a table with a one-column primary key gets bookmarks: its key every
BOOKMARK_ROWS rows, read once after the load in one index-order scan, and a window at
any offset, unsorted or sorted by the key either way, becomes `WHERE key >= bookmark
ORDER BY key LIMIT size OFFSET (< BOOKMARK_ROWS)`: an index range scan. The bookmarks
hold while the table does not change under the viewer (the same is true of OFFSET).
"""

from __future__ import annotations

import contextlib
import threading

from .databases import Spec, classify, close_quietly, describe
from .orders import requested_sort, total_order
from .util import exception_line, log

BOOKMARK_ROWS = 20_000
BOOKMARK_WAIT_FROM = 5 * BOOKMARK_ROWS  # a window this deep in the key's order waits for the bookmarks
BOOKMARK_WAIT_S = 30
_SOURCES: dict = {}  # the loaded table's node -> its DbSource
_SOURCES_LOCK = threading.Lock()


class DbSource:
    """One load's connection and table: `expr` is what buckaroo is given."""

    def __init__(self, spec: Spec, backend, expr, name: str, key: str | None):
        self.spec, self.backend, self.expr, self.name, self.key = spec, backend, expr, name, key
        self.bookmarks: list | None = None
        # Set once the bookmarks are read (or will never be): a deep window asked meanwhile
        # waits for them; its OFFSET would walk as many rows as their scan does.
        self.bookmarks_done = threading.Event()
        if key is None or spec.kind != "postgres":
            self.bookmarks_done.set()
        self.closed = False
        self._window_con = None
        self._window_lock = threading.Lock()  # one window query at a time on the kept connection
        with _SOURCES_LOCK:
            _SOURCES[expr.op()] = self

    @property
    def label(self) -> str:
        return f"{describe(self.spec)} · {self.name}"

    # -- running queries -------------------------------------------------------------
    def fetch(self, expr, kept: bool = True):
        """`expr`'s rows as an Arrow table, on the session's kept connection (PostgreSQL;
        `kept=False`: a connection of its own, for a long read that must not hold up the
        windows) or its backend; a driver's failure as a coded refusal."""
        try:
            if self.spec.kind != "postgres":
                return expr.to_pyarrow()
            sql = self.backend.compile(expr)
            if not kept:
                table = postgres_read(self.backend, sql)
            else:
                with self._window_lock:
                    if self._window_con is None:
                        self._window_con = postgres_adbc(self.backend)
                    table = _arrow_of(self._window_con, sql)
            return table.cast(expr.schema().to_pyarrow())
        except Exception as exc:  # noqa: BLE001 - classified, coded
            if self.spec.kind == "postgres" and kept:
                self._drop_window_con()  # a broken connection is opened afresh next time
            raise classify(exc, self.spec, self.name) from None

    def _drop_window_con(self) -> None:
        con, self._window_con = self._window_con, None
        if con is not None:
            with contextlib.suppress(Exception):  # it may be broken already
                con.close()

    def cancel(self) -> None:
        """Cancel what runs on the engine for this source (a window, a count, stats)."""
        try:
            if self.spec.kind == "postgres":
                _cancel_postgres(self.backend)
            else:
                interrupt = getattr(self.backend.con, "interrupt", None)
                if interrupt is not None:
                    interrupt()
        except Exception as exc:  # noqa: BLE001 - best effort; the statement timeout ends it anyway
            log.info("cancel on %s failed: %s", describe(self.spec), exception_line(exc))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.cancel()
        with _SOURCES_LOCK:
            _SOURCES.pop(self.expr.op(), None)
        self._drop_window_con()
        close_quietly(self.backend)

    # -- bookmarks ---------------------------------------------------------------------
    def build_bookmarks(self) -> None:
        """Read the key every BOOKMARK_ROWS rows (in a worker, after the load)."""
        if self.bookmarks_done.is_set():
            return
        try:
            self._read_bookmarks()
        finally:
            self.bookmarks_done.set()

    def _read_bookmarks(self) -> None:
        import time

        from xorq.vendor import ibis

        began = time.perf_counter()
        t = self.expr
        marks = (t.select(bookmark=t[self.key], position=ibis.row_number().over(order_by=t[self.key]))
                 .filter(lambda m: m.position % BOOKMARK_ROWS == 0).order_by("position").select("bookmark"))
        try:
            self.bookmarks = self.fetch(marks, kept=False).column("bookmark").to_pylist()
        except Exception as exc:  # noqa: BLE001 - windows use OFFSET without them
            log.warning("bookmarks of %s not read: %s", self.label, exception_line(exc))
            return
        log.info("bookmarks of %s: %d in %.2f s", self.label, len(self.bookmarks), time.perf_counter() - began)


def postgres_adbc(backend):
    """An ADBC connection like the backend's (its address, user, password, read-only
    option and application_name), in autocommit: never "idle in transaction" between
    windows, holding a snapshot and a lock that would keep a DROP TABLE or VACUUM waiting."""
    import adbc_driver_postgresql.dbapi
    from xorq.common.utils.postgres_utils import PgADBC

    return adbc_driver_postgresql.dbapi.connect(PgADBC(backend).get_uri(), autocommit=True)


def postgres_read(backend, sql: str):
    """`sql`'s rows as Arrow, on a connection of its own, closed after."""
    con = postgres_adbc(backend)
    try:
        return _arrow_of(con, sql)
    finally:
        con.close()


def _arrow_of(con, sql: str):
    cur = con.cursor()
    try:
        cur.execute(sql)
        return cur.fetch_arrow_table()
    finally:
        cur.close()


def _cancel_postgres(backend) -> None:
    """pg_cancel_backend on every connection of this backend's application_name (its
    kept window connection, xorq's per-query ones, the stats'), from a fresh one."""
    import psycopg

    info = backend.con.info
    name = dict(backend._con_kwargs).get("application_name")
    if not name:
        return
    with psycopg.connect(host=info.host, port=info.port, user=info.user, dbname=info.dbname,
                         password=dict(backend._con_kwargs).get("password"), autocommit=True,
                         application_name=f"{name}-cancel", connect_timeout=5) as con:
        con.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = %s "
                    "AND pid <> pg_backend_pid() AND state <> 'idle'", (name,))


def source_of(expr) -> DbSource | None:
    """The DbSource an expression reads (its table filtered by a search, say), or None."""
    if not _SOURCES:
        return None
    try:
        from xorq.common.utils.graph_utils import walk_nodes
        from xorq.vendor.ibis.expr import operations as ops

        nodes = walk_nodes((ops.DatabaseTable, ops.SQLQueryResult), expr)
    except Exception:  # noqa: BLE001 - not an expression
        return None
    with _SOURCES_LOCK:
        found = {id(s): s for s in (_SOURCES.get(n) for n in nodes) if s is not None}
    return next(iter(found.values())) if len(found) == 1 else None


def db_window(source: DbSource, processed_df, start: int, end: int, sort_col, ascending: bool, total: int) -> bytes:
    """Rows [start, end) of `processed_df` in its total order, as buckaroo's window parquet."""
    import pyarrow as pa

    key = source.key
    plain = processed_df.op() == source.expr.op()
    by_key = key is not None and plain and sort_col in (None, key)
    # Rows [low, high) in the key's ascending order: a descending window counts from the end.
    low, high = (start, end) if ascending or sort_col is None else (max(total - end, 0), total - start)
    if by_key and low > BOOKMARK_WAIT_FROM:
        source.bookmarks_done.wait(BOOKMARK_WAIT_S)
    if by_key and source.bookmarks:
        table = _bookmarked(source, processed_df, low, high)
        if not (ascending or sort_col is None):
            table = table.take(pa.array(range(table.num_rows - 1, -1, -1)))
        return _window_parquet(table, processed_df, start)
    ordered = processed_df.order_by(_total_order(processed_df, sort_col, ascending, key))
    return _window_parquet(source.fetch(_renamed(ordered, processed_df).limit(end - start, offset=start)), processed_df, start)


def _total_order(expr, sort_col, ascending: bool, key: str | None) -> list:
    if key is None:
        return total_order(expr, sort_col, ascending)
    return requested_sort(expr, sort_col, ascending) + ([] if sort_col == key else [expr[key].asc()])


def _bookmarked(source: DbSource, expr, low: int, high: int):
    mark = min(low // BOOKMARK_ROWS, len(source.bookmarks) - 1)
    begin = expr.filter(expr[source.key] >= source.bookmarks[mark])
    window = begin.order_by(expr[source.key].asc())
    return source.fetch(_renamed(window, expr).limit(high - low, offset=low - mark * BOOKMARK_ROWS))


def _renamed(expr, processed_df):
    """buckaroo's rename to the grid's column ids (a, b, …), before the LIMIT."""
    from buckaroo.df_util import old_col_new_col

    return expr.select([expr[orig].name(new) for orig, new in old_col_new_col(processed_df)])


def _window_parquet(table, processed_df, start: int) -> bytes:
    """buckaroo's window frame: the renamed columns and an absolute `index`."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = table.append_column("index", pa.array(range(start, start + table.num_rows), type=pa.int64()))
    out = io.BytesIO()
    pq.write_table(table, out, compression="none")
    return out.getvalue()


def postgres_key(backend, schema: str | None, table: str) -> str | None:
    """The table's primary key when it is one column (a total order on its own), else None."""
    sql = ("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
           "WHERE i.indisprimary AND i.indrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass")
    with backend.con.cursor() as cur:
        if schema is None:
            schema = cur.execute("SELECT current_schema()").fetchone()[0]
        keys = [row[0] for row in cur.execute(sql, (schema, table)).fetchall()]
    return keys[0] if len(keys) == 1 else None


class DbSessions:
    """The DbSources each session holds: the one it shows and any still loading."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_session: dict[str, list[DbSource]] = {}

    def add(self, session_id: str, source: DbSource) -> None:
        with self._lock:
            self._by_session.setdefault(session_id, []).append(source)

    def shown(self, session_id: str, source: DbSource) -> None:
        """`source` is what the session shows now: the others are closed."""
        with self._lock:
            held = self._by_session.get(session_id, [])
            old = [s for s in held if s is not source]
            self._by_session[session_id] = [source]
        _close_in_background(old)

    def drop(self, session_id: str, source: DbSource) -> None:
        with self._lock:
            held = self._by_session.get(session_id, [])
            if source in held:
                held.remove(source)
        _close_in_background([source])

    def cancel(self, session_id: str) -> None:
        """Cancel the session's running queries (a window past its deadline)."""
        with self._lock:
            held = list(self._by_session.get(session_id, []))
        for source in held:
            threading.Thread(target=source.cancel, daemon=True, name="db-cancel").start()

    def close(self, session_id: str) -> None:
        """The session's window closed: cancel and close everything it holds."""
        with self._lock:
            held = self._by_session.pop(session_id, [])
        _close_in_background(held)


def _close_in_background(sources) -> None:
    for source in sources:
        threading.Thread(target=source.close, daemon=True, name="db-close").start()


DB_SESSIONS = DbSessions()
