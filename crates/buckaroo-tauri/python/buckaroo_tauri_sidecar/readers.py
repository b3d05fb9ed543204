"""Reading files as a spreadsheet shows them.

buckaroo reads CSV with pd.read_csv defaults: a `;` file (what spreadsheets export in
most of Europe) comes out as one column, and its serializer then fails on every row
window. The readers below replace buckaroo's `load_file` (and the polars ones) where
its load handler calls them (patches.install_readers), so the session's frame, and so
every sort, search and stat computed from it later, is the sniffed one: UTF-8 BOM
dropped, `,` `;` or tab sniffed, decimal commas (`1,5`, `-2.000,25`) turned into
numbers in `;` and tab files; `.jsonl`/`.ndjson` read as JSON lines; Parquet integer
columns with nulls read as pandas' nullable integers (pd.read_parquet makes them floats,
and the grid shows `1.000`).
"""

from __future__ import annotations

import json
import os

from .util import extension

SNIFF_BYTES = 64 * 1024
DELIMITED = (".csv", ".tsv")
JSON_LINES = (".jsonl", ".ndjson")
PARQUET = (".parquet", ".parq")
# Every extension the viewer opens: `.json` is buckaroo's own load_file's. The open
# dialog's filter (picker.rs) and the app's file associations are checked against it.
OPENED = (*DELIMITED, ".json", *JSON_LINES, *PARQUET)
# A number written with a decimal comma: `1,5`, `-2.000,25` (`.` thousands), `7`.
DECIMAL_COMMA = r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?"


def sniff_separator(path: str) -> str:
    """`,`, `;` or tab, from csv.Sniffer on the first 64 KiB; the extension when the
    sample says nothing (one column, empty file)."""
    import csv

    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    # errors="replace": a multi-byte character cut at 64 KiB must not stop the sniffing.
    text = head.decode("utf-8-sig", errors="replace")
    if len(head) == SNIFF_BYTES and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # whole lines only
    try:
        return csv.Sniffer().sniff(text, delimiters=",;\t").delimiter
    except csv.Error:
        return "\t" if path.lower().endswith(".tsv") else ","


def _decimal_comma_to_float(df):
    """Text columns whose every value is a decimal-comma number become floats. Only
    for `;` and tab files: there a comma cannot be a separator, so `1,5` is 1.5."""
    import pandas as pd

    for name in df.columns[df.dtypes == object]:  # noqa: E721 - a pandas dtype, not a type check
        text = df[name].dropna()
        if text.empty or not all(isinstance(v, str) for v in text.iloc[:100]):
            continue
        text = text.str.strip()
        # The first 100 values reject almost every text column before the full scan.
        if not text.iloc[:100].str.fullmatch(DECIMAL_COMMA).all():
            continue
        if not text.str.fullmatch(DECIMAL_COMMA).all() or not text.str.contains(",", regex=False).any():
            continue  # `1.000` alone could be one or a thousand: leave it as written
        plain = df[name].str.strip().str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        df[name] = pd.to_numeric(plain).astype(float)
    return df


def read_delimited(path: str):
    import pandas as pd

    sep = sniff_separator(path)
    # utf-8-sig: a UTF-8 BOM is not part of the first column's name.
    df = pd.read_csv(path, sep=sep, encoding="utf-8-sig")
    return _decimal_comma_to_float(df) if sep in (";", "\t") else df


def read_json_lines(path: str):
    """One JSON object per line. Python's json rather than pandas': pandas' reader drops
    a lone UTF-16 surrogate (half an emoji, as a JavaScript slice() leaves it) without
    a word and refuses integers wider than 64 bits; this keeps the values as written."""
    import pandas as pd

    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"line {number} is not JSON: {exc}") from exc
            if not isinstance(record, dict):
                raise ValueError(f"line {number} is not a JSON object")
            records.append(record)
    if not records:
        raise ValueError("No JSON records in file")  # ValueError: buckaroo answers 400 invalid_file
    return pd.DataFrame(records)


def read_parquet(path: str):
    """pd.read_parquet, except that an integer column holding a null stays an integer
    column (Int8 ... UInt64) instead of becoming float64; null-free ones stay numpy ints."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    nullable = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
                pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype()}
    df = pq.read_table(path).to_pandas(types_mapper=nullable.get)
    for position, dtype in enumerate(df.dtypes):
        column = df.iloc[:, position]
        if dtype in nullable.values() and not column.hasnans:
            df.isetitem(position, column.astype(dtype.numpy_dtype))
    return df


def parquet_folder(path: str) -> str:
    """`path`, a folder, if it holds Parquet files (a dataset, hive-partitioned or not);
    else the ValueError (400 invalid_file) that says so. buckaroo's load_file takes the
    folder's empty extension for a format: "Unsupported file format: " and nothing more."""
    for _root, _dirs, names in os.walk(path):
        if any(extension(n) in PARQUET for n in names):
            return path
    raise ValueError(f"{path} is a folder without Parquet files in it: open one of its files, "
                     "or a folder of Parquet files (a dataset)")


def pandas_reader(load_file):
    """buckaroo's load_file(path), with delimited and JSON lines files read here."""
    def load_file_sniffed(path):
        if os.path.isdir(path):
            return read_parquet(parquet_folder(path))
        ext = extension(path)
        if ext in DELIMITED:
            return read_delimited(path)
        if ext in JSON_LINES:
            return read_json_lines(path)
        if ext in PARQUET:
            return read_parquet(path)
        return load_file(path)
    return load_file_sniffed


def polars_reader(read_csv, read_parquet_files, load):
    """A polars loader that gets the sniffed separator (polars drops a BOM itself; it has
    no per-column decimal-comma rule, so those columns stay text in lazy/polars modes),
    and reads folders of Parquet files."""
    def load_sniffed(path):
        if os.path.isdir(path):
            return read_parquet_files(os.path.join(parquet_folder(path), "**", "*.parq*"), hive_partitioning=True)
        if extension(path) in DELIMITED:
            return read_csv(path, separator=sniff_separator(path))
        return load(path)
    return load_sniffed
