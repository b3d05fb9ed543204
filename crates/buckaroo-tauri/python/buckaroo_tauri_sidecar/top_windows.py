"""A sorted window near the top of a big Parquet file, while its sorted copy is written.

The order is the copy's: the column, then file order for ties. As one query, `ORDER BY
col, file_row_number LIMIT`, DuckDB cannot prune on the tie-breaker the way it prunes its
own `ORDER BY col LIMIT` (its heap's bound skips row groups and rows as it fills), so
it reads every column of every row: slower than that on every key, ~5x on a tied one.
Key first instead:

1. the window's values alone, `ORDER BY col LIMIT n OFFSET start` (pruned as DuckDB's own);
2. all one value (a run of ties): that value's rows in file order after the rows before
   it, a scan that stops at the window's end;
   else: the rows up to the last value, ordered with the tie-breaker (a filtered scan
   keeps only them).

A key of plain strings would be read twice that way, which costs more than the one query
saves: it keeps the one query, as do floats descending (NaN first, see _top_window) and
windows that reach the nulls (last), NaN or the end.
"""

from __future__ import annotations

from .util import sql_string

TOP_N_MEMORY = "400MB"  # one limit for every top window at once: they share one DuckDB


class TopWindows:
    """One in-memory DuckDB for every top window (one memory limit and one thread pool,
    however many windows ask at once), a cursor per query."""

    def __init__(self, duckdb):
        import threading

        self._duckdb, self._db, self._lock = duckdb, None, threading.Lock()

    def window(self, path: str, column: str, ascending: bool, start: int, end: int):
        """Rows [start, end) of `path` in (column, file order) as a pyarrow Table, every column."""
        con = self._cursor()
        try:
            return _top_window(con, path, column, ascending, start, end)
        finally:
            con.close()

    def warm(self) -> None:
        """The database made and its threads started, before a window needs them."""
        con = self._cursor()
        try:
            con.sql("SELECT count(*) FROM range(1000000)").fetchall()
        finally:
            con.close()

    def _cursor(self):
        with self._lock:
            if self._db is None:
                db = self._duckdb.connect()
                db.execute(f"SET memory_limit = '{TOP_N_MEMORY}'")
                # Step 2's scan in file order: LIMIT without ORDER BY keeps it only with this.
                db.execute("SET preserve_insertion_order = true")
                self._db = db
            return self._db.cursor()


def order_sql(path: str, column: str, ascending: bool, kind=None) -> str:
    """Every row of the file in (column, file order); a sorted copy's query too. `kind`:
    the column's type when the caller has read it already."""
    key = f"{_ident(column)} {_direction(ascending)}"
    if _nan_first(kind if kind is not None else column_type(path, column), ascending):
        # NaN leads, as DuckDB sorts it; said outright, because its LIMIT prunes row groups
        # on Parquet statistics, which leave NaN out, and so lost NaN rows here.
        key = f"isnan({_ident(column)}) DESC, {key}"
    return (f"SELECT * EXCLUDE (file_row_number) FROM read_parquet({sql_string(path)}, file_row_number = true) "
            f"ORDER BY {key}, file_row_number")


def _top_window(con, path: str, column: str, ascending: bool, start: int, end: int):
    n, kind = max(0, end - start), column_type(path, column)
    # Descending, NaN comes first and no filter finds it (`isnan(x)` found none of 5,943
    # here: the same pruning on statistics).
    if n == 0 or not key_first(kind) or _nan_first(kind, ascending):
        return _one_query(con, path, column, ascending, start, n, kind)
    col, src = _ident(column), f"read_parquet({sql_string(path)})"

    lo, hi, valued, rows = con.sql(
        f"SELECT min(v), max(v), count(v), count(*) FROM "
        f"(SELECT {col} AS v FROM {src} ORDER BY {col} {_direction(ascending)} LIMIT {n} OFFSET {start})").fetchall()[0]
    if rows == 0 or valued < rows or _is_nan(lo) or _is_nan(hi):
        return _one_query(con, path, column, ascending, start, n, kind)
    first, last = (lo, hi) if ascending else (hi, lo)
    if first == last:
        before = con.sql(f"SELECT count(*) FROM {src} WHERE {col} {'<' if ascending else '>'} $v", params={"v": first}).fetchall()[0][0]
        return con.sql(f"SELECT * FROM {src} WHERE {col} = $v LIMIT {n} OFFSET {start - before}", params={"v": first}).to_arrow_table()
    return con.sql(
        f"SELECT * EXCLUDE (file_row_number) FROM read_parquet({sql_string(path)}, file_row_number = true) "
        f"WHERE {col} {'<=' if ascending else '>='} $v ORDER BY {col} {_direction(ascending)}, file_row_number "
        f"LIMIT {n} OFFSET {start}", params={"v": last}).to_arrow_table()


def _one_query(con, path: str, column: str, ascending: bool, start: int, n: int, kind):
    return con.sql(f"{order_sql(path, column, ascending, kind)} LIMIT {n} OFFSET {start}").to_arrow_table()


def column_type(path: str, column: str):
    """The column's Arrow type in the file's schema; None when it cannot be read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path).field(column).type
    except (KeyError, OSError, pa.ArrowException):
        return None


def key_first(kind) -> bool:
    """Cheap to read twice: numbers, dates, booleans, dictionary strings."""
    import pyarrow as pa

    t = pa.types
    return kind is not None and not (t.is_string(kind) or t.is_large_string(kind) or t.is_binary(kind)
                                     or t.is_large_binary(kind) or t.is_nested(kind)
                                     or getattr(t, "is_string_view", _never)(kind))


def _nan_first(kind, ascending: bool) -> bool:
    import pyarrow as pa

    return not ascending and kind is not None and pa.types.is_floating(kind)


def _is_nan(value) -> bool:
    """NaN sorts after every number in DuckDB but compares as no Python value does."""
    return isinstance(value, float) and value != value


def _never(_kind) -> bool:
    return False


def _ident(column: str) -> str:
    return '"' + str(column).replace('"', '""') + '"'


def _direction(ascending: bool) -> str:
    return "ASC" if ascending else "DESC"
