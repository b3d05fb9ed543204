"""What `make bench`'s sections share: where results and the bench build go, and how a
series of timings is summed up and printed. bench.py runs the sections (bench_cold,
bench_windows, bench_scroll, bench_expr, bench_big; bench_big also runs alone) and
bench_report writes them up — all import from here, so no section imports bench.py back.
"""

from __future__ import annotations

import statistics

from . import e2e

OUT = e2e.REPO / "out" / "bench"
BENCH_BINARY = OUT / "buckaroo-tauri-example-bench"


def stats(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def fmt(s: dict) -> str:
    return f"{s['median']:.1f} ({s['min']:.1f}–{s['max']:.1f})"
