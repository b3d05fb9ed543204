"""Deterministic sample data for tests, the demo and benchmarks.

Twelve columns covering every dtype family buckaroo renders differently: ints,
floats with and without nulls, categoricals, free text, datetimes with nulls and
booleans. The same seed always gives the same bytes-for-bytes frame, so tests can
compute expectations from the file instead of hard-coding them.
"""

from __future__ import annotations

import argparse
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
