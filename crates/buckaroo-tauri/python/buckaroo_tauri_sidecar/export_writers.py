"""Export writers: Arrow record batches to CSV, TSV, Parquet, JSON lines or Excel, one
batch at a time (memory stays one batch, whatever the row count; xlsxwriter's
constant-memory mode writes each row as it comes).

Values are written as held: whole numbers whole, decimals exact, a zoned timestamp in
its own zone with its offset (`2024-03-31 00:30:00+0100`), nested values as JSON text
in CSV/TSV (those formats have no nesting; Parquet and JSON lines keep them nested).
"""

from __future__ import annotations

FORMATS = ("csv", "tsv", "parquet", "jsonl", "xlsx")


class Writer:
    """Writes batches to the open binary file `sink`; `close()` finishes the format."""

    def __init__(self, sink):
        self.sink = sink

    def write(self, batch) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class DelimitedWriter(Writer):
    def __init__(self, sink, delimiter: str):
        super().__init__(sink)
        self.delimiter, self.writer = delimiter, None

    def write(self, batch) -> None:
        import pyarrow.csv as pacsv

        batch = _delimited_batch(batch)
        if self.writer is None:
            options = pacsv.WriteOptions(include_header=True, delimiter=self.delimiter)
            self.writer = pacsv.CSVWriter(self.sink, batch.schema, write_options=options)
        self.writer.write_batch(batch)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class ParquetWriter(Writer):
    def __init__(self, sink):
        super().__init__(sink)
        self.writer = None

    def write(self, batch) -> None:
        import pyarrow.parquet as pq

        if self.writer is None:
            self.writer = pq.ParquetWriter(self.sink, batch.schema)
        elif batch.schema != self.writer.schema:
            batch = batch.cast(self.writer.schema)  # an engine's later batch with a null-typed column
        self.writer.write_batch(batch)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class JsonLinesWriter(Writer):
    def write(self, batch) -> None:
        import polars as pl

        pl.from_arrow(batch).write_ndjson(self.sink)


class XlsxWriter(Writer):
    """One sheet, the header bold; numbers and dates as Excel's, other values as text
    (a zoned time in its zone, whole numbers beyond 2**53 whole). xlsxwriter is optional
    (contract.EXPORT_PIP); exports.py refuses an .xlsx without it, or with more rows
    than a sheet holds, before anything is written."""

    def __init__(self, sink):
        import xlsxwriter

        super().__init__(sink)
        self.book = xlsxwriter.Workbook(sink, {"constant_memory": True, "strings_to_numbers": False,
                                               "strings_to_formulas": False, "strings_to_urls": False})
        self.sheet, self.row = self.book.add_worksheet(), 0
        self.formats = {"header": self.book.add_format({"bold": True}),
                        "datetime": self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
                        "date": self.book.add_format({"num_format": "yyyy-mm-dd"})}

    def write(self, batch) -> None:
        if self.row == 0:
            self.sheet.write_row(0, 0, batch.schema.names, self.formats["header"])
            self.row = 1
        cells = [_xlsx_cells(col) for col in _delimited_batch(batch).columns]
        for values in zip(*cells, strict=True):
            for c, value in enumerate(values):
                self._cell(c, value)
            self.row += 1

    def _cell(self, c: int, value) -> None:
        import datetime as dt

        if value is None:
            return
        if isinstance(value, dt.datetime):
            self.sheet.write_datetime(self.row, c, value, self.formats["datetime"])
        elif isinstance(value, dt.date):
            self.sheet.write_datetime(self.row, c, dt.datetime.combine(value, dt.time()), self.formats["date"])
        elif isinstance(value, bool):
            self.sheet.write_boolean(self.row, c, value)
        elif isinstance(value, int) and abs(value) > 2**53:
            self.sheet.write_string(self.row, c, str(value))  # a double would round it
        elif isinstance(value, (int, float)):
            if value == value and value not in (float("inf"), float("-inf")):
                self.sheet.write_number(self.row, c, value)
        else:
            self.sheet.write_string(self.row, c, str(value))

    def close(self) -> None:
        self.book.close()


def _xlsx_cells(col) -> list:
    import decimal

    values = col.to_pylist()
    if values and any(isinstance(v, decimal.Decimal) for v in values):
        return [None if v is None else float(v) for v in values]
    return values


def writer_for(fmt: str, sink) -> Writer:
    if fmt == "csv":
        return DelimitedWriter(sink, ",")
    if fmt == "tsv":
        return DelimitedWriter(sink, "\t")
    if fmt == "parquet":
        return ParquetWriter(sink)
    if fmt == "jsonl":
        return JsonLinesWriter(sink)
    if fmt == "xlsx":
        return XlsxWriter(sink)
    raise ValueError(f"unknown export format {fmt!r}: one of {', '.join(FORMATS)}")


def delimited_columns(table) -> list:
    """A table's columns as one array each, with _delimited_batch's conversions."""
    import pyarrow as pa

    def one(col):
        return col.chunk(0) if col.num_chunks == 1 else pa.concat_arrays(col.chunks) if col.num_chunks else pa.array([], col.type)
    return [_delimited_column(one(col)) for col in table.columns]


def _delimited_batch(batch):
    """`batch` with the columns a CSV writer cannot take (or would write in UTC) as text."""
    import pyarrow as pa

    columns = [_delimited_column(col) for col in batch.columns]
    if all(a is b for a, b in zip(columns, batch.columns, strict=True)):
        return batch
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _delimited_column(col):
    import json

    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_dictionary(t):
        return _delimited_column(col.dictionary_decode())
    if pa.types.is_timestamp(t) and t.tz is not None:
        # In its own zone with the offset; the CSV writer would write UTC with a Z.
        return pc.strftime(col, format="%Y-%m-%d %H:%M:%S%z")
    if pa.types.is_nested(t) or pa.types.is_null(t):
        return pa.array([None if v is None else json.dumps(v, default=str) for v in col.to_pylist()], pa.string())
    return col
