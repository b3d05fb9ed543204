"""Export throughput through the real launcher, next to DuckDB's own COPY of the same view.

    python -m buckaroo_tauri_dev.bench_export [--rows 1000000 20000000] [--json out/bench/export.json]

For each big Parquet file (bench_big's, made once in out/big): a fresh launcher opens it on
the engine, the grid's view is sorted by `score` (one sorted window, as a click does), and
the view is exported to Parquet and to CSV. Measured: seconds, rows/s, MB/s of the file
written, progress frames seen, the sidecar's peak RSS while it exported (sampled every
0.1 s) and its VmHWM over its whole life (load, stats, sorted copy, export). The floor:
DuckDB in this process, `COPY (… ORDER BY score, file_row_number) TO …` of the same rows in
the same order, same format. Then an export cancelled at ~50 %: no file left, the older
file at the path intact. Fails on a wrong row count or a left-over file, never on speed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

from .bench_big_paths import big_file, peak_rss_mib
from .xorq_scan import our_launcher, started

FORMATS = ("parquet", "csv")


def rss_mib(pid: int) -> float:
    total = 0
    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
    except psutil.Error:
        pass
    return total / 2**20


def sorted_session(srv, path: Path) -> tuple[str, object]:
    """A session on `path` (the engine), its grid sorted by score ascending."""
    from .xorq_scan import rewritten

    session = uuid.uuid4().hex
    status, reply = srv.request("POST", "/load", {"path": str(path), "mode": "buckaroo", "backend": "xorq",
                                                  "session": session, "no_browser": True}, timeout=600)
    if status != 200:
        raise RuntimeError(f"/load {status}: {reply}")
    ws = srv.ws(session, timeout=900)
    initial = ws.next_of_type("initial_state")
    columns = [c["header_name"] for c in initial["df_display_args"]["main"]["df_viewer_config"]["column_config"]
               if c["col_name"] != "index"]
    ws.rows(0, 100, sort=rewritten(columns, "score"), sort_direction="asc")
    return session, ws


def export_once(srv, session: str, ws, target: Path, fmt: str, cancel_at: float | None = None) -> dict:
    """One export; progress read off the socket, RSS sampled meanwhile."""
    pid, peak, done = srv.proc.pid, [0.0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mib(pid))
            time.sleep(0.1)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    began = time.monotonic()
    pending = srv.request_in_background("POST", f"/export/{session}", {
        "path": str(target), "part_path": str(target.with_name(f".{target.name}.bench.part")), "format": fmt},
        timeout=3600)
    frames, cancelled_at, ws.timeout = 0, None, 1.0
    while not pending.done.is_set():
        try:
            msg = ws.next_of_type("buckaroo_tauri_export_progress")
        except TimeoutError:
            continue
        frames += 1
        if cancel_at is not None and cancelled_at is None and (msg.get("percent") or 0) >= cancel_at:
            cancelled_at = msg["percent"]
            srv.request("POST", f"/export_cancel/{session}", {})
        if msg.get("rows") == msg.get("total"):
            break
    status, reply = pending.wait(3600)
    done.set()
    sampler.join()
    seconds = time.monotonic() - began
    out = {"status": status, "reply": reply, "seconds": round(seconds, 2), "progress_frames": frames,
           "peak_rss_mib": round(peak[0]), "cancelled_at_percent": cancelled_at}
    if status == 200:
        out.update(rows_per_s=round(reply["rows"] / seconds), mb_per_s=round(reply["bytes"] / 2**20 / seconds, 1),
                   mb=round(reply["bytes"] / 2**20, 1))
    return out


def duckdb_copy(path: Path, target: Path, fmt: str) -> float:
    """DuckDB's own COPY of the sorted view (the windows' order: score, then file order)."""
    import duckdb

    con = duckdb.connect()
    began = time.monotonic()
    con.execute(f"COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet('{path}', file_row_number = true) "
                f"ORDER BY score, file_row_number) TO '{target}' (FORMAT {fmt}{', HEADER' if fmt == 'csv' else ''})")
    seconds = time.monotonic() - began
    con.close()
    return round(seconds, 2)


def bench_file(rows: int, work: Path) -> dict:
    path = big_file(rows)
    entry: dict = {"rows": rows, "file_mb": round(path.stat().st_size / 2**20), "exports": {}}
    for fmt in FORMATS:
        with started(our_launcher(work), work) as srv:
            session, ws = sorted_session(srv, path)
            target = work / f"export.{fmt}"
            result = export_once(srv, session, ws, target, fmt)
            result["vmhwm_mib"] = round(peak_rss_mib(srv.proc.pid))
            ws.close()
        floor = work / f"duckdb.{fmt}"
        result["duckdb_s"] = duckdb_copy(path, floor, fmt)
        result["vs_duckdb"] = round(result["seconds"] / result["duckdb_s"], 2) if result["duckdb_s"] else None
        target.unlink(missing_ok=True)
        floor.unlink(missing_ok=True)
        entry["exports"][fmt] = result
        print(f"[bench-export] {rows:,} rows → {fmt}: {result.get('seconds')} s (DuckDB {result['duckdb_s']} s), "
              f"peak {result['peak_rss_mib']} MiB, {result['progress_frames']} progress frames", flush=True)
    return entry


def bench_cancel(rows: int, work: Path) -> dict:
    target = work / "kept.csv"
    target.write_text("the older file\n")
    with started(our_launcher(work), work) as srv:
        session, ws = sorted_session(srv, big_file(rows))
        result = export_once(srv, session, ws, target, "csv", cancel_at=50.0)
        ws.close()
    left = sorted(p.name for p in work.iterdir() if p.name.endswith(".part"))
    return {"rows": rows, "code": (result["reply"] or {}).get("error_code"), "cancelled_at_percent":
            result["cancelled_at_percent"], "older_file_intact": target.read_text() == "the older file\n",
            "part_files_left": left, "seconds": result["seconds"]}


def report(results: dict) -> str:
    lines = ["# Export (sorted view of the engine file, through the launcher; DuckDB's COPY the floor)", "",
             "| rows | format | seconds | rows/s | MB/s | file MB | DuckDB s | × DuckDB | peak RSS MiB (export) "
             "| VmHWM MiB | progress frames |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in results["files"]:
        for fmt, r in f["exports"].items():
            lines.append(f"| {f['rows']:,} | {fmt} | {r['seconds']} | {r.get('rows_per_s', 0):,} | {r.get('mb_per_s')} | "
                         f"{r.get('mb')} | {r['duckdb_s']} | {r['vs_duckdb']} | {r['peak_rss_mib']:,} | {r['vmhwm_mib']:,} | "
                         f"{r['progress_frames']} |")
    c = results["cancel"]
    lines += ["", f"Cancel of the {c['rows']:,}-row CSV export at {c['cancelled_at_percent']} %: {c['code']} after "
              f"{c['seconds']} s; older file intact: {c['older_file_intact']}; part files left: {c['part_files_left']}"]
    return "\n".join(lines)


def failures(results: dict) -> list[str]:
    bad = [f"{f['rows']:,} → {fmt}: {r['status']} {r['reply']}" for f in results["files"]
           for fmt, r in f["exports"].items() if r["status"] != 200 or r["reply"]["rows"] != f["rows"]]
    c = results["cancel"]
    if c["code"] != "export_cancelled" or not c["older_file_intact"] or c["part_files_left"]:
        bad.append(f"cancel: {c}")
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 20_000_000])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        work = Path(tmp).resolve()
        results = {"files": [bench_file(rows, work) for rows in args.rows], "cancel": bench_cancel(max(args.rows), work)}
    print(report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    bad = failures(results)
    for b in bad:
        print(f"[bench-export] FAILED {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
