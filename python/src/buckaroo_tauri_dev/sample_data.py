"""Deterministic sample data for tests, the demo and benchmarks.

Twelve columns covering every dtype family buckaroo renders differently: ints,
floats with and without nulls, categoricals, free text, datetimes with nulls and
booleans. The same seed always gives the same bytes-for-bytes frame, so tests can
compute expectations from the file instead of hard-coding them.

Small hand-written files cover text formats as people export them. What the
launcher must show for each (first row as it comes back through a real row
window; the same data as `CSV_VARIANTS` / `JSON_LINES_VARIANTS` below):

| file | what it exercises | columns | first row |
|---|---|---|---|
| csv_bom_semicolon.csv | UTF-8 BOM, `;`, decimal commas, quoted `;` and `""` | name, amount, note, qty | `Müller; Anna`, 1.5, `say "hi"`, 3 |
| csv_tab.tsv | tab, decimal commas, a comma and a quoted tab in text | id, city, price, comment | 1, `Lisbon, PT`, 3.75, `first` |
| csv_semicolon_decimal.csv | no BOM, `;`, decimal commas with `.` thousands | region, revenue, margin, units | `North`, 1234.5, -0.75, 12 |
| csv_plain.csv | `,`, quoted `,` and `""` | id, name, score, quote | 1, `Smith, John`, 2.5, `He said "yes"` |
| mixed_types.jsonl | JSON lines; `value` mixes ints, strings and lists, and row 3 holds half an emoji (a lone `\ud83d`, as JavaScript's slice() leaves it) | id, label, value | 1, `int`, 1 |

mixed_types.jsonl loads (5 rows), rows 0-2 serialize, and any row window that
includes row 3 cannot be serialized (UTF-8 has no lone surrogates): the launcher
answers it with `error_code: "serialization_failed"` and `column: "value"`.
Ints, strings and lists mixed in one column alone serialize fine in buckaroo
0.15.11 (its fastparquet writer JSON-encodes object columns).
"""  # noqa: E501 - the table above is Markdown, one row a line

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261124
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "data"

CITIES = ["Austin", "Boston", "Chicago", "Denver", "Houston", "Lisbon", "Madrid",
          "Nairobi", "Oslo", "Paris", "Quito", "Seoul", "Tokyo", "Vienna"]
STATUSES = ["open", "pending", "closed", "archived"]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
         "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"]

FILES = {
    "tiny.parquet": 50,
    "small_100k.parquet": 100_000,
    "small_100k.csv": 100_000,
    "big_1m.parquet": 1_000_000,
}


# Text exports, byte for byte, and what the launcher must read from them.
CSV_VARIANTS: dict[str, dict] = {
    "csv_bom_semicolon.csv": {
        "content": ('\ufeffname;amount;note;qty\n'
                    '"Müller; Anna";1,5;"say ""hi""";3\n'
                    'Bob;-2.000,25;plain;4\n'
                    'Çelik;0,75;"x;y";5\n'),
        "columns": ["name", "amount", "note", "qty"],
        "first_row": ["Müller; Anna", 1.5, 'say "hi"', 3],
        "rows": 3,
    },
    "csv_tab.tsv": {
        "content": ('id\tcity\tprice\tcomment\n'
                    '1\tLisbon, PT\t3,75\tfirst\n'
                    '2\tOslo\t12,5\t"tab\tinside"\n'
                    '3\tQuito\t-0,5\tlast\n'),
        "columns": ["id", "city", "price", "comment"],
        "first_row": [1, "Lisbon, PT", 3.75, "first"],
        "rows": 3,
    },
    "csv_semicolon_decimal.csv": {
        "content": ('region;revenue;margin;units\n'
                    'North;1.234,50;-0,75;12\n'
                    'South;987,00;12,5;8\n'
                    'East;-2.000,25;0,1;30\n'),
        "columns": ["region", "revenue", "margin", "units"],
        "first_row": ["North", 1234.5, -0.75, 12],
        "rows": 3,
    },
    "csv_plain.csv": {
        "content": ('id,name,score,quote\n'
                    '1,"Smith, John",2.5,"He said ""yes"""\n'
                    '2,Doe,3.25,plain\n'
                    '3,"Lee, Ann",-1.0,""\n'),
        "columns": ["id", "name", "score", "quote"],
        "first_row": [1, "Smith, John", 2.5, 'He said "yes"'],
        "rows": 3,
    },
}

MIXED_VALUES = [1, "two", [3, 4], "caf\u00e9 \ud83d", 5]  # the 4th: an emoji cut in half
JSON_LINES_VARIANTS: dict[str, dict] = {
    "mixed_types.jsonl": {
        # json.dumps writes the lone surrogate as the escape `\ud83d`, as JSON.stringify does.
        "content": "".join(json.dumps({"id": i + 1, "label": label, "value": value}) + "\n"
                           for i, (label, value) in enumerate(zip(
                               ["int", "text", "list", "cut emoji", "int"], MIXED_VALUES, strict=True))),
        "columns": ["id", "label", "value"],
        "first_row": [1, "int", 1],
        "rows": 5,
        "bad_row": 3,        # every window that includes it fails ...
        "bad_column": "value",  # ... naming this column
    },
}


def make_frame(rows: int, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def with_nulls(values: np.ndarray, fraction: float) -> np.ndarray:
        values = values.astype(object) if values.dtype.kind in "OU" else values.astype(float)
        mask = rng.random(rows) < fraction
        values[mask] = None if values.dtype == object else np.nan
        return values

    n_words = rng.integers(3, 9, size=rows)
    word_idx = rng.integers(0, len(WORDS), size=(rows, 8))
    description = np.array(
        [" ".join(WORDS[j] for j in word_idx[i, : n_words[i]]) for i in range(rows)], dtype=object
    )
    description[rng.random(rows) < 0.03] = None

    city = pd.Categorical(rng.choice(CITIES, size=rows), categories=CITIES)
    city[rng.random(rows) < 0.01] = np.nan

    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 730 * 86400, rows), unit="s")
    closed = pd.Series(created + pd.to_timedelta(rng.integers(3600, 60 * 86400, rows), unit="s"))
    closed[rng.random(rows) < 0.10] = pd.NaT

    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "count": rng.integers(0, 10_000, size=rows, dtype=np.int32),
            "amount": with_nulls(np.round(rng.gamma(2.0, 150.0, rows), 2), 0.05),
            "score": with_nulls(rng.normal(50, 15, rows), 0.02),
            "ratio": rng.random(rows),
            "city": city,
            "status": pd.Categorical(rng.choice(STATUSES, size=rows, p=[0.4, 0.3, 0.2, 0.1]),
                                     categories=STATUSES),
            "description": description,
            "code": np.array([f"C{v:06d}" for v in rng.integers(0, 1_000_000, rows)], dtype=object),
            "created": created.values,
            "closed": closed.values,
            "flag": rng.random(rows) < 0.5,
        }
    )


def write_all(out_dir: Path, include_big: bool = True) -> dict[str, Path]:
    """Write every sample file that is missing; return name -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    frames: dict[int, pd.DataFrame] = {}
    for name, rows in FILES.items():
        if rows >= 1_000_000 and not include_big:
            continue
        path = out_dir / name
        written[name] = path
        if path.exists() and path.stat().st_size > 0:
            continue
        df = frames.setdefault(rows, make_frame(rows))
        tmp = path.with_suffix(path.suffix + ".tmp")
        if name.endswith(".csv"):
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, path)  # never leave a half-written file a test would trust

    # Deliberately bad inputs for the error-path tests.
    bad = {
        "corrupt.parquet": b"PAR1" + np.random.default_rng(SEED).bytes(4096),
        "empty.csv": b"",
        "notes.txt": b"not a table\n",
    }
    for name, content in bad.items():
        path = out_dir / name
        if not path.exists():
            path.write_bytes(content)
        written[name] = path

    # Tiny, so rewritten whenever they differ from the spec above.
    for name, spec in {**CSV_VARIANTS, **JSON_LINES_VARIANTS}.items():
        path = out_dir / name
        content = spec["content"].encode("utf-8")
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
        written[name] = path
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("BUCKAROO_TAURI_DATA", DEFAULT_DIR)))
    parser.add_argument("--no-big", action="store_true", help="skip the 1,000,000-row file")
    args = parser.parse_args(argv)
    for name, path in write_all(args.out, include_big=not args.no_big).items():
        print(f"{name}\t{path.stat().st_size}\t{path}")


if __name__ == "__main__":
    main()
