"""Files on the engine: which /load goes there, and the file as an expression.

A file too big for a pandas load opens as an expression on xorq's embedded engine
(DataFusion): the load reads a footer or a schema sample, each row window is a query,
the stats follow the first rows (buckaroo's deferred delivery), and nothing is ever
materialised in Python. Which path a /load takes (engine_choice): `backend: "xorq"`
the engine, any other backend buckaroo's, none by format and size. The load itself is
buckaroo's /load_expr pipeline with the expression built here instead of from a build
(expr_loads.EngineFileLoads); its reply says `"backend": "xorq"` and keeps the file's
path. Unsorted, unsearched windows of one Parquet file are read by polars' page-aware
slice (slices.py: ~20 ms at any offset of 20M rows, where an engine OFFSET decodes
every row before it); sorted ones come from sorted copies (sorted_copies.py).
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple

from .contract import DEFAULT_ENGINE_MIN_BYTES, ENGINE_MIN_BYTES_ENV, XORQ_PIP
from .readers import DECIMAL_COMMA, sniff_separator
from .util import env_count, extension, log, sql_string
from .xorq_support import XORQ_LOCK, xorq_import_error

ENGINE_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".tab": "csv",
                  ".jsonl": "json", ".ndjson": "json"}
DECIMAL_SAMPLE_ROWS = 1000  # the engine's decimal-comma rule looks at this many rows
_FILE_SOURCES: dict = {}  # the table node of each engine file load -> its FileSource
_FILE_SOURCES_KEPT = 64


class FileSource(NamedTuple):
    path: str
    format: str  # "parquet", "csv" or "json"
    # What the file was when loaded (file_stamp); None for a folder, never compared.
    stamp: tuple | None = None


def file_stamp(path: str) -> tuple | None:
    """The file's identity now: size, mtime and inode (a writer's rename gives a new
    inode, an in-place rewrite a new size or mtime); `()` once it is gone, None for a
    folder. Engine windows read the file itself, so a changed one would mix old rows
    (cached in the page) with new ones."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ()
    if os.path.isdir(path):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def changed_on_disk(source: FileSource | None) -> str | None:
    """Why `source` no longer is the file that was loaded, or None."""
    if source is None or source.stamp is None:
        return None
    now = file_stamp(source.path)
    if now == source.stamp:
        return None
    gone = now == ()
    return f"{source.path} {'was deleted' if gone else 'changed on disk'} after it was opened: reload it to see it"


def engine_format(path: str) -> str | None:
    """The engine's reader for `path`: a file by extension, a folder holding parquet."""
    if os.path.isdir(path):
        with os.scandir(path) as entries:
            return "parquet" if any(e.name.endswith(".parquet") for e in entries) else None
    return ENGINE_FORMATS.get(extension(path))


def engine_min_bytes() -> int:
    return env_count(ENGINE_MIN_BYTES_ENV, DEFAULT_ENGINE_MIN_BYTES)


def _size_on_disk(path: str) -> int:
    if not os.path.isdir(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)


def engine_choice(body: dict, path: str) -> tuple[bool, str | None, str]:
    """Whether this /load goes through the engine, the engine's reader for the file (None:
    it reads no such file; looked for only when the engine may serve it), and why (logged)."""
    backend = body.get("backend")
    if backend is not None and str(backend).lower() != "xorq":
        return False, None, f"backend {backend} asked for"
    if backend is None and body.get("mode", "viewer") != "buckaroo":
        return False, None, "mode is not buckaroo"
    try:
        fmt = engine_format(path)
    except OSError:
        return False, None, "not readable here"  # buckaroo's own reply says why
    if backend is not None:
        return True, fmt, "backend xorq asked for"
    if fmt is None:
        return False, fmt, "not a format the engine reads"
    try:
        size = _size_on_disk(path)
    except OSError:
        return False, fmt, "not readable here"
    threshold = engine_min_bytes()
    if size < threshold:
        return False, fmt, f"{size} bytes, under {ENGINE_MIN_BYTES_ENV}={threshold}"
    if xorq_import_error() is not None:
        log.warning("%s (%d bytes) loads through pandas: xorq does not import (pip install %s)", path, size, XORQ_PIP)
        return False, fmt, "xorq does not import"
    return True, fmt, f"{size} bytes {fmt}"


def _decimal_comma_columns(table) -> list[str]:
    """Text columns whose first DECIMAL_SAMPLE_ROWS values are all decimal-comma numbers
    (at least one with a comma): read_delimited's rule, on a sample."""
    import re

    pattern = re.compile(DECIMAL_COMMA)
    text = [name for name, dtype in table.schema().items() if dtype.is_string()]
    if not text:
        return []
    sample = table.select(text).limit(DECIMAL_SAMPLE_ROWS).to_pyarrow().to_pydict()
    found = []
    for name in text:
        values = [v.strip() for v in sample[name] if v is not None]
        if values and all(pattern.fullmatch(v) for v in values) and any("," in v for v in values):
            found.append(name)
    return found


def _delimited_expr(con, path: str, name: str):
    sep = sniff_separator(path)
    table = con.read_csv(path, table_name=name, delimiter=sep, has_header=True,
                         file_extension=os.path.splitext(path)[1] or ".csv")
    if sep not in (";", "\t"):
        return table
    numbers = {c: table[c].strip().replace(".", "").replace(",", ".").try_cast("float64").name(c)
               for c in _decimal_comma_columns(table)}
    return table.select([numbers.get(c, table[c]) for c in table.columns]) if numbers else table


def _plain_parquet_schema(path: str):
    """The file's schema with dictionary columns (pandas categoricals) read as their
    values: the engine's aggregates (approx_distinct, ...) refuse dictionaries."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    schema = ds.dataset(path, format="parquet").schema
    return pa.schema([f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema])


def _json_lines_keys(path: str) -> list[str]:
    """The first object's keys, in the file's order (the engine infers them sorted)."""
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                first = json.loads(line)
                return list(first) if isinstance(first, dict) else []
    return []


def _in_file_order(table, keys: list[str]):
    order = [k for k in keys if k in table.columns] + [c for c in table.columns if c not in keys]
    return table if order == list(table.columns) else table.select(order)


def file_expr(source: FileSource, con=None):
    """`source` as an expression on its own embedded-engine connection (so a setting one
    session's windows change is that session's alone), or on `con`."""
    import uuid

    import xorq.api as xo

    con, name = con or xo.connect(), f"file_{uuid.uuid4().hex[:12]}"
    if source.format == "parquet":
        expr = con.read_parquet(source.path, table_name=name, schema=_plain_parquet_schema(source.path))
    elif source.format == "csv":
        expr = _delimited_expr(con, source.path, name)
    else:
        con.con.sql(f"CREATE EXTERNAL TABLE {name} STORED AS JSON LOCATION {sql_string(source.path)}").collect()
        expr = _in_file_order(con.table(name), _json_lines_keys(source.path))
    if not expr.columns:
        raise ValueError("the file has no columns")
    with XORQ_LOCK:
        _FILE_SOURCES[expr.op()] = source
        while len(_FILE_SOURCES) > _FILE_SOURCES_KEPT:
            _FILE_SOURCES.pop(next(iter(_FILE_SOURCES)))
    return expr


def optional_polars() -> object | None:
    try:
        import polars as pl
    except ImportError:
        return None
    return pl


def sliceable_source(processed_df) -> FileSource | None:
    """The file of an engine load that polars can slice: one Parquet file, unfiltered
    (processed_df is the load's own expression), polars installed."""
    source = _FILE_SOURCES.get(processed_df.op())
    if source is None or source.format != "parquet" or os.path.isdir(source.path) or optional_polars() is None:
        return None
    return source
