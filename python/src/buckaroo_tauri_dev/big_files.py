"""Generated files bigger than a pandas load should take: the big-file benchmark's data.

    python -m buckaroo_tauri_dev.big_files out/big/rows_20m.parquet --rows 20000000

The columns are the kinds a real extract has: a unique id, floats, a small int, a
low-cardinality (dictionary) string and a high-cardinality string. Written a chunk at a
time, so generating a file never holds it in memory; the same seed gives the same rows.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

CHUNK_ROWS = 1_000_000
CITIES = ["Amsterdam", "Berlin", "Cairo", "Dakar", "Edinburgh", "Florence", "Geneva", "Hanoi",
          "Istanbul", "Jakarta", "Kyoto", "Lagos", "Madrid", "Nairobi", "Oslo", "Porto"]


def chunk(start: int, rows: int, seed: int = 7):
    """Rows [start, start + rows) as a pyarrow Table; the same rows for the same start."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed + start)
    ids = np.arange(start, start + rows, dtype=np.int64)
    codes = rng.integers(0, len(CITIES), rows).astype(np.int32)
    return pa.table({
        "id": ids,
        "price": rng.normal(100.0, 25.0, rows).round(4),
        "score": rng.random(rows),
        "qty": rng.integers(0, 1000, rows).astype(np.int32),
        "city": pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(CITIES)),
        "tag": pa.array(np.char.add("t", rng.integers(0, 10**9, rows).astype(str))),
    })


def write_parquet(path: Path, rows: int, row_group_rows: int = CHUNK_ROWS) -> Path:
    """A Parquet file of `rows` rows (row groups of `row_group_rows`), written atomically."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    writer = None
    try:
        for start in range(0, rows, CHUNK_ROWS):
            table = chunk(start, min(CHUNK_ROWS, rows - start))
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=row_group_rows)
        if writer is None:
            raise ValueError("rows must be > 0")
        writer.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_csv(path: Path, rows: int) -> Path:
    """The same rows as CSV (the dictionary column as plain text)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with pacsv.CSVWriter(tmp, _plain_schema(pa)) as writer:
            for start in range(0, rows, CHUNK_ROWS):
                writer.write_table(chunk(start, min(CHUNK_ROWS, rows - start)).cast(_plain_schema(pa)))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _plain_schema(pa):
    return chunk(0, 1).schema.set(4, pa.field("city", pa.string()))


def ensure(path: Path, rows: int) -> Path:
    """`path` with `rows` rows, generated once (kept across runs: 20M rows take ~20 s)."""
    if path.exists():
        import pyarrow.parquet as pq

        if path.suffix != ".parquet" or pq.ParquetFile(path).metadata.num_rows == rows:
            return path
    return (write_parquet if path.suffix == ".parquet" else write_csv)(path, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=20_000_000)
    args = parser.parse_args()
    print(ensure(args.path, args.rows))


if __name__ == "__main__":
    main()
