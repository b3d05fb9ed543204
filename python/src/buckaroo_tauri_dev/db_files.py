"""Small database files for the database tests (launcher and E2E): a DuckDB file with
three tables and a SQLite file with one.

    ddb, lite = write(folder)   # folder/shop.duckdb, folder/people.sqlite

shop.duckdb: customers (1,000 rows: id, name, vip), notes (3: a non-ASCII text, a NULL,
a tab inside a value), orders (5,000: id, customer, label, total, at). people.sqlite:
people (300: id INTEGER PRIMARY KEY, name, score).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def write(folder: Path) -> tuple[Path, Path]:
    import duckdb

    ddb = folder / "shop.duckdb"
    with duckdb.connect(str(ddb)) as con:
        con.execute("CREATE TABLE customers AS SELECT i AS id, 'cust ' || i AS name, i % 7 = 0 AS vip FROM range(1000) t(i)")
        con.execute("CREATE TABLE orders AS SELECT i AS id, i % 1000 AS customer, 'order ' || i AS label, "
                    "(i * 13 % 997) / 10.0 AS total, TIMESTAMP '2024-01-01' + INTERVAL (i) MINUTE AS at FROM range(5000) t(i)")
        con.execute("CREATE TABLE notes (id INTEGER, note VARCHAR)")
        con.execute("INSERT INTO notes VALUES (1, 'héllo'), (2, NULL), (3, 'tab\there')")
    lite = folder / "people.sqlite"
    with sqlite3.connect(lite) as con:
        con.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
        con.executemany("INSERT INTO people VALUES (?, ?, ?)", [(i, f"person {i}", i / 3) for i in range(1, 301)])
    return ddb, lite
