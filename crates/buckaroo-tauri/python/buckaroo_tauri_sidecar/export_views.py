"""What an export writes: the view the grid shows, as Arrow record batches.

The view is the session's data after buckaroo's cleaning, post-processing and search
box (its `processed_df`), filtered by the page's live search, in the order of the grid's
last row window (ws_handler notes it: `session.tauri_view`), columns in grid order with
the user's names. Each path orders its rows the way its row windows do, so an export is
the rows the grid pages through, in that order:

- pandas (buckaroo mode, viewer mode): buckaroo's own `search_df_str` and the very
  `sort_values` call of its window handler (same input, same order);
- a Parquet file on the engine: unsorted, the file in file order (the windows' polars
  slices); sorted (at SORTED_COPY_MIN_ROWS or more), the grid's own sorted copy (made
  if missing); otherwise the windows' query (xorq_windows: one partition, or the total
  order), streamed from the engine.

`whole_file` ignores sort and both searches: the loaded data as it came in. Nothing
here materialises an engine's rows in Python: batches stream to the writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from .engine_files import sliceable_source
from .sorted_copies import SORTED_COPIES, sorted_copy_min_rows

PANDAS_BATCH_ROWS = 65_536
FILE_BATCH_ROWS = 65_536


class ExportUnsupported(ValueError):
    """The session shows data no export path reads (nothing loaded, a polars or lazy
    session): the message says which."""


class View(NamedTuple):
    batches: Iterator  # of pyarrow.RecordBatch, the user's column names
    rows: int | None  # how many rows it will have, when known before (progress)
    how: str  # for the log and the reply: "pandas", "file", "sorted copy", "engine query"
    frame: object = None  # pandas views: the sorted, searched frame


class ViewSpec(NamedTuple):
    sort: str | None  # the grid's column id ("a", "b", …), as in row windows
    ascending: bool
    search: str
    whole_file: bool


def view_spec(session, whole_file: bool) -> ViewSpec:
    """The grid's current view of `session` (or the whole file)."""
    noted = getattr(session, "tauri_view", None) or {}
    if whole_file:
        return ViewSpec(None, True, "", True)
    return ViewSpec(noted.get("sort") or None, noted.get("sort_direction") == "asc", noted.get("search") or "", False)


def export_view(session, spec: ViewSpec, cancelled) -> View:
    """The batches of `spec` over what `session` shows. `cancelled()` is polled while a
    sorted copy is awaited."""
    if session is None:
        raise ExportUnsupported("no such session: load a file in the window first")
    if getattr(session, "backend", None) == "xorq" and getattr(session, "xorq_dataflow", None) is not None:
        return _expression_view(session.xorq_dataflow, spec, cancelled)
    if getattr(session, "backend", None) == "polars" or getattr(session, "mode", None) == "lazy":
        raise ExportUnsupported("exports of polars-backed and lazy sessions are not supported: "
                                "open the file with the default backend or on the engine")
    dataflow = getattr(session, "dataflow", None)
    if dataflow is not None:
        raw, processed, merged_sd = (dataflow.raw_df, *dataflow.widget_args_tuple[1:])
        frame = raw if spec.whole_file else processed
        return _pandas_view(frame, spec, lambda col: merged_sd[col]["orig_col_name"])
    if getattr(session, "df", None) is not None:
        from buckaroo.df_util import old_col_new_col

        renamed = {new: orig for orig, new in old_col_new_col(session.df)}
        return _pandas_view(session.df, spec, lambda col: renamed.get(col, col))
    raise ExportUnsupported("nothing is loaded in this window")


def view_block(session, spec: ViewSpec, start: int, end: int, columns: list[str]):
    """Rows [start, end) of the view, `columns` (the grid's ids: "a", "b", …) in that
    order, as a pyarrow Table with the user's names: a copied block of cells. Read the way
    its row window is (the same order), never the whole view."""
    import pyarrow as pa

    if getattr(session, "backend", None) == "xorq" and getattr(session, "xorq_dataflow", None) is not None:
        return _expression_block(session.xorq_dataflow, spec, start, end, columns)
    view = export_view(session, spec._replace(whole_file=False), lambda: False)
    frame = view.frame
    names = [_original(session, c) for c in columns]
    return pa.Table.from_pandas(frame.iloc[start:end][names].rename(columns=str), preserve_index=False)


def _original(session, wire: str) -> str:
    dataflow = getattr(session, "dataflow", None) or getattr(session, "xorq_dataflow", None)
    if dataflow is not None:
        return dataflow.widget_args_tuple[2][wire]["orig_col_name"]
    from buckaroo.df_util import old_col_new_col

    return {new: orig for orig, new in old_col_new_col(session.df)}.get(wire, wire)


def _expression_block(dataflow, spec: ViewSpec, start: int, end: int, columns: list[str]):
    """The block through the windows' own function (xorq_windows, patched into buckaroo)."""
    import io

    import pyarrow.parquet as pq
    from buckaroo.server import xorq_loading

    expr = dataflow.widget_args_tuple[1]
    merged_sd = dataflow.widget_args_tuple[2]
    if spec.search:
        from buckaroo.customizations.xorq_commands import search_expr

        expr = search_expr(expr, spec.search)
    sort_col = merged_sd[spec.sort]["orig_col_name"] if spec.sort else None
    table = pq.read_table(io.BytesIO(xorq_loading.window_to_parquet(expr, start, end, sort_col, spec.ascending)))
    return table.select(columns).rename_columns([merged_sd[c]["orig_col_name"] for c in columns])


def _pandas_view(frame, spec: ViewSpec, original_name) -> View:
    if frame is None:
        raise ExportUnsupported("nothing is loaded in this window")
    if spec.search:
        from buckaroo.customizations.pandas_commands import search_df_str

        frame = search_df_str(frame, spec.search)
    if spec.sort:
        # Exactly the window handler's call (data_loading.handle_infinite_request*): the
        # same frame sorted the same way gives the same order, ties included.
        frame = frame.sort_values(by=[original_name(spec.sort)], ascending=spec.ascending)
    return View(_pandas_batches(frame), len(frame), "pandas", frame)


def _pandas_batches(frame) -> Iterator:
    import pyarrow as pa

    frame = frame.rename(columns=str)
    # One schema for every batch: a batch of only nulls would otherwise get type null.
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    for start in range(0, len(frame), PANDAS_BATCH_ROWS):
        part = frame.iloc[start:start + PANDAS_BATCH_ROWS]
        yield pa.RecordBatch.from_pandas(part, schema=schema, preserve_index=False)


def _expression_view(dataflow, spec: ViewSpec, cancelled) -> View:
    from buckaroo.xorq_buckaroo import _expr_count

    expr = dataflow.raw_df if spec.whole_file else dataflow.widget_args_tuple[1]
    if expr is None:
        raise ExportUnsupported("nothing is loaded in this window")
    from xorq.vendor.ibis.expr.types import Table

    if not isinstance(expr, Table):  # a post-processor's pandas frame
        return _pandas_view(expr, spec, lambda col: dataflow.widget_args_tuple[2][col]["orig_col_name"])
    if spec.search:
        from buckaroo.customizations.xorq_commands import search_expr

        expr = search_expr(expr, spec.search)
    sort_col = dataflow.widget_args_tuple[2][spec.sort]["orig_col_name"] if spec.sort else None
    rows = _expr_count(expr)
    source = sliceable_source(expr)
    if source is not None and sort_col is None:
        return View(_file_batches(source.path, expr.columns), rows, "file")
    if source is not None and rows >= sorted_copy_min_rows():
        path = SORTED_COPIES.copy_path(expr, sort_col, spec.ascending, cancelled)
        if path is not None:
            return View(_file_batches(path, expr.columns), rows, "sorted copy")
    return View(_query_batches(expr, sort_col, spec.ascending), rows, "engine query")


def _file_batches(path: str, columns) -> Iterator:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        yield from file.iter_batches(batch_size=FILE_BATCH_ROWS, columns=list(columns))


def _query_batches(expr, sort_col, ascending: bool) -> Iterator:
    """The windows' query in their order (xorq_windows.window_in_total_order)."""
    from .orders import total_order
    from .xorq_windows import one_partition

    if sort_col is None:
        with one_partition(expr) as alone:
            if alone:
                yield from _batches_of(expr)
                return
    keys = total_order(expr, sort_col, ascending)
    yield from _batches_of(expr.order_by(keys) if keys else expr)


def _batches_of(expr) -> Iterator:
    reader = expr.to_pyarrow_batches()
    try:
        yield from reader
    finally:
        reader.close()

