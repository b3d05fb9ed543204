"""Row windows of a 10M-row PostgreSQL table through the launcher, next to psql.

    python -m buckaroo_tauri_dev.bench_databases [--rows 10000000] [--json out/bench/databases.json]

A throwaway cluster (postgres.cluster) gets a table of --rows rows (primary key `id`, a
float `amount` no index holds); a fresh launcher opens it (/load_db, as the plugin does,
with a password) and, once its bookmarks are read, asks 100-row windows at offsets 0, 1M
and rows-10,000, unsorted, sorted by the key descending, and sorted by `amount`. Each is
timed 5 times (median) over the launcher's WebSocket (query, Arrow, parquet, frame) and
next to it in the same run:
- psql running the SQL the launcher sent (from the statement log): that path's floor;
- psql running the plain `ORDER BY … LIMIT 100 OFFSET n` a user would write.
psql's `\\timing` is its round trip (no process start). Also: the load, the launcher's
RSS after the windows. Fails only on wrong rows, never on speed.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from . import postgres, xorq_builds
from .server import launcher_server

PASSWORD = "bench-pw-not-logged"
SIZE = 100
RUNS = 5
TIMING = re.compile(r"^Time: ([\d.]+) ms", re.M)


def psql_ms(pg: postgres.Postgres, sql: str) -> float:
    """psql's own timing of `sql` (median of RUNS), output discarded."""
    script = "\\timing on\n\\o /dev/null\n" + "".join(f"{sql};\n" for _ in range(RUNS))
    out = subprocess.run(["psql", pg.socket_dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1"], input=script,
                         capture_output=True, text=True, check=True).stdout
    times = [float(t) for t in TIMING.findall(out)]
    assert len(times) == RUNS, out
    return statistics.median(times)


def window_ms(ws, start: int, sort: str | None, direction: str) -> tuple[float, list[int]]:
    import pyarrow.parquet as pq

    took, ids = [], []
    for _ in range(RUNS):
        payload = {"sourceName": "default", "origEnd": start + SIZE, "request_time": int(time.time() * 1000)}
        if sort:
            payload |= {"sort": sort, "sort_direction": direction}
        began = time.perf_counter()
        resp, frame = ws.rows(start, start + SIZE, **payload)
        took.append((time.perf_counter() - began) * 1000)
        if frame is None:
            raise RuntimeError(f"window at {start}: {resp}")
        ids = pq.read_table(io.BytesIO(frame)).column("a").to_pylist()
    return statistics.median(took), ids


def plain_sql(copy_sql: str) -> str:
    """The query inside ADBC's `COPY (…) TO STDOUT (FORMAT binary)`."""
    sql = " ".join(copy_sql.split())
    match = re.fullmatch(r"COPY \((.*)\) TO STDOUT \(FORMAT binary\)", sql)
    return match.group(1) if match else sql


def cases(rows: int) -> list[tuple[str, int, str | None, str, str]]:
    deep = rows - 10_000
    return [
        ("unsorted", 0, None, "asc", "ORDER BY id"),
        ("unsorted", 1_000_000, None, "asc", "ORDER BY id"),
        ("unsorted", deep, None, "asc", "ORDER BY id"),
        ("by key, descending", deep, "a", "desc", "ORDER BY id DESC"),
        ("by amount (no index)", 0, "c", "asc", "ORDER BY amount, id"),
        ("by amount (no index)", 1_000_000, "c", "asc", "ORDER BY amount, id"),
    ]


def expected(rows: int, start: int, sort: str | None, direction: str) -> list[int] | None:
    if sort is None:
        return list(range(start + 1, start + SIZE + 1))
    if sort == "a" and direction == "desc":
        return list(range(rows - start, rows - start - SIZE, -1))
    return None


def bench(rows: int, work: Path) -> dict:
    results: dict = {"rows": rows, "windows": []}
    with postgres.cluster(work / "pg") as pg:
        postgres.series_table(pg, "big", rows, password=PASSWORD)
        results["table_seconds"] = round(pg.timings["load"], 1)
        conn = {"kind": "postgres", "host": pg.host, "port": pg.port, "database": pg.dbname, "user": pg.user,
                "password": PASSWORD}
        env = {**xorq_builds.scratch_env(work), "BUCKAROO_TAURI_LOG_LEVEL": "info"}
        with launcher_server(extra_env=env) as srv:
            session = uuid.uuid4().hex
            with srv.ws(session, timeout=300, caps="stats_update") as ws:
                began = time.monotonic()
                status, reply = srv.request("POST", "/load_db", {"session": session, "connection": conn,
                                                                 "table": {"name": "big"}}, timeout=300)
                if status != 200:
                    raise RuntimeError(f"/load_db {status}: {reply}")
                results["load_s"] = round(time.monotonic() - began, 2)
                srv.wait_for_stderr("bookmarks of", timeout=120)
                results["bookmarks_ready_s"] = round(time.monotonic() - began, 2)
                for label, start, sort, direction, order in cases(rows):
                    mark = pg.log_offset()
                    ours, ids = window_ms(ws, start, sort, direction)
                    want = expected(rows, start, sort, direction)
                    sent = [plain_sql(s) for s in pg.statements(since=mark) if '"big"' in s and "LIMIT" in s]
                    floor = psql_ms(pg, sent[-1])
                    naive = psql_ms(pg, f"SELECT * FROM big {order} LIMIT {SIZE} OFFSET {start}")
                    results["windows"].append({
                        "window": label, "offset": start, "launcher_ms": round(ours, 1),
                        "psql_same_sql_ms": round(floor, 1), "psql_offset_ms": round(naive, 1),
                        "vs_same_sql": round(ours / floor, 2) if floor else None,
                        "vs_offset": round(ours / naive, 3) if naive else None,
                        "rows_right": want is None or ids == want, "sql": sent[-1][:400]})
            results["launcher_rss_mib"] = round(postgres.tree_rss(srv.proc.pid) / 2**20)
    return results


def report(r: dict) -> str:
    lines = [f"PostgreSQL {r['rows']:,} rows (table made in {r['table_seconds']} s): /load_db {r['load_s']} s, "
             f"bookmarks read {r['bookmarks_ready_s']} s after it began; launcher RSS {r['launcher_rss_mib']} MiB", "",
             "| window | offset | launcher (ms) | psql, same SQL (ms) | ratio | psql, plain OFFSET (ms) | ratio | rows right |",
             "|---|---|---|---|---|---|---|---|"]
    for w in r["windows"]:
        lines.append(f"| {w['window']} | {w['offset']:,} | {w['launcher_ms']} | {w['psql_same_sql_ms']} | {w['vs_same_sql']} | "
                     f"{w['psql_offset_ms']} | {w['vs_offset']} | {w['rows_right']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-db-") as tmp:
        results = bench(args.rows, Path(tmp).resolve())
    print(report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    bad = [w for w in results["windows"] if not w["rows_right"]]
    for w in bad:
        print(f"[bench-databases] FAILED wrong rows: {w}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
