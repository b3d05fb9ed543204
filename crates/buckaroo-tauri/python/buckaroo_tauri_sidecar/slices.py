"""Row windows of a Parquet file read by polars' page-aware slice (~20 ms at any offset
of 20M rows), written the way buckaroo's window_to_parquet writes a window."""

from __future__ import annotations

from .engine_files import optional_polars, sliceable_source
from .util import exception_line, log


def sliced_parquet_window(processed_df, start: int, end: int) -> bytes | None:
    """Rows [start, end) of a Parquet file expression read by polars (None when it is not
    one polars can slice): the engine's file order."""
    source = sliceable_source(processed_df)
    return None if source is None else parquet_slice(processed_df, source.path, start, end)


def parquet_slice(processed_df, path: str, start: int, end: int) -> bytes | None:
    """Rows [start, end) of the Parquet file `path` (which has processed_df's columns);
    None when polars cannot read it (then the engine answers)."""
    from buckaroo.df_util import old_col_new_col

    names = [orig for orig, _ in old_col_new_col(processed_df)]
    try:
        frame = optional_polars().scan_parquet(path).select(names).slice(start, max(0, end - start)).collect()
    except BaseException as exc:  # polars panics (a PanicException) on zones like "+05:30"
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        log.info("polars cannot slice %s (%s); the engine reads the window", path, exception_line(exc))
        return None
    return window_frame(processed_df, frame.to_arrow(), start)


def window_frame(processed_df, table, start: int) -> bytes:
    """`table` (processed_df's columns, rows from `start` on) as window_to_parquet writes
    a window: columns renamed a, b, ..., an `index` column of absolute offsets."""
    from io import BytesIO

    import pyarrow as pa
    import pyarrow.parquet as pq
    from buckaroo.df_util import old_col_new_col

    pairs = old_col_new_col(processed_df)
    table = table.select([orig for orig, _ in pairs]).rename_columns([rew for _, rew in pairs])
    table = table.append_column("index", pa.array(range(start, start + table.num_rows), type=pa.int64()))
    out = BytesIO()
    pq.write_table(table, out, compression="none")
    return out.getvalue()
