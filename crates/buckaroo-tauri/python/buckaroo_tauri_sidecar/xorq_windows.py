"""xorq expressions: row windows in a total order, and the expression of an engine file.

/load_expr serves a xorq build directory (expr.yaml + reads/, from `xorq build`); each
row window is a query on its expression. Every row window is read in one fixed order:
LIMIT/OFFSET alone on DataFusion's parallel partitions returns rows in a different
order each query, so paging repeated some rows and never sent others. Unsorted windows
on xorq's embedded engine run on one partition (file order, as cheap as buckaroo's
query); sorted windows, and unsorted ones on any other engine, get tie-breakers
(total_order), which costs a sort of the whole expression per window. Windows of an
engine file are polars slices or sorted copies where they can be (slices.py,
sorted_copies.py). Both wrappers here replace buckaroo's xorq_loading functions
(patches.install_xorq_hooks).
"""

from __future__ import annotations

import contextlib
import threading

from .databases import DbRefused
from .db_sources import db_window, source_of
from .engine_files import file_expr
from .orders import total_order
from .slices import sliced_parquet_window
from .sorted_copies import SORTED_COPIES
from .util import exception_line, log, refuse
from .xorq_support import EXPR_LOAD, XORQ_LOCK

TARGET_PARTITIONS = "datafusion.execution.target_partitions"
_PARTITION_LOCKS: dict = {}  # id(context) -> the lock its one-partition windows take
_NOT_ON_ONE_PARTITION = object()


def _partition_lock(contexts) -> threading.Lock:
    """One lock per session context: windows of one session change its setting in turn;
    a slow scan in one session never waits for another's."""
    with XORQ_LOCK:
        lock = _PARTITION_LOCKS.setdefault(id(contexts[0]), threading.Lock())
        while len(_PARTITION_LOCKS) > 256:
            _PARTITION_LOCKS.pop(next(iter(_PARTITION_LOCKS)))
        return lock


def _embedded_contexts(expr) -> list | None:
    """The SessionContexts of the xorq-datafusion backends `expr` reads, when they are
    all it runs on; None for anything else (other engines, remote tables, caches and
    memtables, whose queries run elsewhere too). Each load has its own backends, so
    their settings are the session's alone."""
    try:
        from xorq.common.utils.graph_utils import walk_nodes
        from xorq.expr.relations import CachedNode, RemoteTable
        from xorq.vendor.ibis.expr import operations as ops
    except ImportError:
        return None
    if walk_nodes((CachedNode, RemoteTable, ops.InMemoryTable), expr):
        return None
    backends = {id(table.source): table.source for table in walk_nodes(ops.DatabaseTable, expr)}
    if not backends or any(getattr(b, "name", None) != "xorq_datafusion" for b in backends.values()):
        return None
    return [b.con for b in backends.values()]


def _set_target_partitions(contexts, value: str | None) -> list | None:
    """Set target_partitions on every context (None: back to what it was); the previous
    values, or None when a context refused (then nothing is left changed)."""
    done = []
    try:
        for ctx in contexts:
            rows = ctx.sql(f"SELECT value FROM information_schema.df_settings WHERE name = '{TARGET_PARTITIONS}'")
            done.append((ctx, rows.to_pylist()[0]["value"]))
            ctx.sql(f"SET {TARGET_PARTITIONS} = '{value}'").collect()
        return done
    except Exception as exc:  # noqa: BLE001 - then the window is ordered instead
        log.info("one-partition window not possible (%s); ordering it", exc)
        _restore_target_partitions(done)
        return None


def _restore_target_partitions(saved) -> None:
    for ctx, value in saved:
        ctx.sql(f"SET {TARGET_PARTITIONS} = '{value}'").collect()


@contextlib.contextmanager
def one_partition(expr):
    """While inside, `expr`'s embedded engine runs on one partition (its scans in file
    order); yields False (nothing changed) when it does not run there alone or a context
    refused the setting."""
    contexts = _embedded_contexts(expr)
    if not contexts:
        yield False
        return
    # Windows run in parallel workers: the setting is changed and put back
    # by one window at a time.
    with _partition_lock(contexts):
        saved = _set_target_partitions(contexts, "1")
        try:
            yield saved is not None
        finally:
            if saved is not None:
                _restore_target_partitions(saved)


def _one_partition_window(window_to_parquet, processed_df, start, end):
    """An unsorted window on one partition of the embedded engine, or _NOT_ON_ONE_PARTITION
    when the expression does not run there alone (or a context refused the setting)."""
    with one_partition(processed_df) as alone:
        return window_to_parquet(processed_df, start, end, None, True) if alone else _NOT_ON_ONE_PARTITION


def totally_ordered_windows(window_to_parquet):
    """buckaroo's window_to_parquet(expr, start, end, sort_col, ascending) in one fixed
    order, so a full scan sends every row once and the same window asked twice is the
    same rows: unsorted on the embedded engine, its query on one partition (a scan and
    filter in file order); otherwise the expression ordered by total_order."""
    from xorq.vendor.ibis.expr.types import Table

    def window_in_total_order(processed_df, start, end, sort_col=None, ascending=True):
        if not isinstance(processed_df, Table):  # a pandas frame from a post-processor
            return window_to_parquet(processed_df, start, end, sort_col, ascending)
        database = source_of(processed_df)
        if database is not None:
            from buckaroo.xorq_buckaroo import _expr_count

            try:
                return db_window(database, processed_df, start, end, sort_col, ascending, _expr_count(processed_df))
            except DbRefused as refused:  # coded: a dropped table, a server gone
                refuse(refused.code, str(refused))
        sliced = (sliced_parquet_window(processed_df, start, end) if sort_col is None
                  else SORTED_COPIES.window(processed_df, sort_col, ascending, start, end))
        if sliced is not None:
            return sliced
        if sort_col is None:
            one_partition = _one_partition_window(window_to_parquet, processed_df, start, end)
            if one_partition is not _NOT_ON_ONE_PARTITION:
                return one_partition
        keys = total_order(processed_df, sort_col, ascending)
        if not keys:
            return window_to_parquet(processed_df, start, end, sort_col, ascending)
        # ibis folds the ORDER BY into buckaroo's rename SELECT ... LIMIT/OFFSET.
        return window_to_parquet(processed_df.order_by(keys), start, end, None, True)
    return window_in_total_order


def expression_loader(load_expr_build_dir):
    """buckaroo's load_expr_build_dir, except in an engine file load (the worker's
    EXPR_LOAD.file): that file's expression. buckaroo logs why a build did not load
    and answers without the cause; keep it."""
    def load_expr_or_file(build_dir, *args, **kwargs):
        try:
            database = getattr(EXPR_LOAD, "db", None)
            if database is not None:
                return database.expr
            source = getattr(EXPR_LOAD, "file", None)
            return file_expr(source) if source is not None else load_expr_build_dir(build_dir, *args, **kwargs)
        except Exception as exc:
            EXPR_LOAD.failure = exception_line(exc)
            raise
    return load_expr_or_file
