"""Row-window and /load latency through the secure launcher vs buckaroo's plain server,
in one run on the same machine (interleaved, so both see the same load). A benchmark,
not a test: it fails only if a reply is wrong."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid
from pathlib import Path

from .sample_data import DEFAULT_DIR, write_all
from .server import BuckarooServer, server_of_kind


def measure(servers: dict[str, BuckarooServer], path: Path, windows: list[int], repeats: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    sessions = {}
    for kind, srv in servers.items():
        sid = uuid.uuid4().hex
        srv.load(path, mode="buckaroo", session=sid)
        ws = srv.ws(sid)
        ws.next_of_type("initial_state")
        ws.rows(0, 10)  # warm
        sessions[kind] = ws
    results: dict = {}
    for size in windows:
        for _ in range(repeats):
            start = rng.randrange(0, 100_000 - size)
            for kind, ws in sessions.items():  # interleaved
                t0 = time.perf_counter()
                resp, parquet = ws.rows(start, start + size)
                dt = (time.perf_counter() - t0) * 1000
                if parquet is None or resp["key"]["start"] != start:
                    raise SystemExit(f"{kind}: wrong reply for window {start}+{size}: {resp}")
                results.setdefault((kind, size), []).append(dt)
    for ws in sessions.values():
        ws.close()
    return results


def measure_loads(servers: dict[str, BuckarooServer], path: Path, repeats: int) -> dict[str, list[float]]:
    """/load of `path` into a new session, ms, interleaved; each server's first load
    (imports, caches) left out."""
    times: dict[str, list[float]] = {kind: [] for kind in servers}
    for i in range(repeats + 1):
        for kind, srv in servers.items():
            t0 = time.perf_counter()
            reply = srv.load(path, mode="buckaroo", session=uuid.uuid4().hex)
            if i and reply.get("rows") != 100_000:
                raise SystemExit(f"{kind}: wrong /load reply: {reply}")
            if i:
                times[kind].append((time.perf_counter() - t0) * 1000)
    return times


def table(results: dict, windows: list[int]) -> str:
    rows = ["| window | plain median ms (min–max) | launcher median ms (min–max) | launcher / plain |", "|---|---|---|---|"]
    for size in windows:
        p, lch = results[("plain", size)], results[("launcher", size)]
        fmt = lambda xs: f"{statistics.median(xs):.1f} ({min(xs):.1f}–{max(xs):.1f})"  # noqa: E731
        rows.append(f"| {size:,} rows | {fmt(p)} | {fmt(lch)} | {statistics.median(lch) / statistics.median(p):.2f} |")
    return "\n".join(rows)


LOAD_REPEATS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path = write_all(DEFAULT_DIR, include_big=False)["small_100k.parquet"]
    windows = [100, 1000]
    servers = {k: server_of_kind(k).start() for k in ("plain", "launcher")}
    try:
        results = measure(servers, path, windows, args.repeats)
        loads = measure_loads(servers, path, LOAD_REPEATS)
    finally:
        for s in servers.values():
            s.stop()
    print(f"100k rows, buckaroo mode, {args.repeats} random windows each, interleaved\n")
    print(table(results, windows))
    p, lch = (statistics.median(loads[k]) for k in ("plain", "launcher"))
    print(f"\n/load of the 100k file into a new session ({LOAD_REPEATS} each, interleaved): "
          f"plain {p:.0f} ms, launcher {lch:.0f} ms, launcher / plain {lch / p:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**{f"{k}:{s}": v for (k, s), v in results.items()},
                                         **{f"{k}:load": v for k, v in loads.items()}}, indent=1))


if __name__ == "__main__":
    main()
