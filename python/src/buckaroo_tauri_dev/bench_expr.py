"""Bench section: a 1M-row xorq build opened in the app, stats inline vs deferred.

Measures, in the page, `loadExpr` called → the load's first rows painted (the handle's
`loading` ends then), and → the summary stats complete. One app, one window; loads
alternate between the two deliveries after a warm-up load (xorq's first import is
~0.6 s and belongs to neither)."""

from __future__ import annotations

from pathlib import Path

from buckaroo_tauri_dev import e2e, e2e_page, e2e_procs, xorq_builds
from buckaroo_tauri_dev.bench_common import fmt, stats

# `handle[method](args)` timed in the page: resolves with {frame_ms, rows_ms, stats_ms,
# total_rows, file} or {error}: called → the first row frame in the page → the load's
# first rows painted (the handle's `loading` ends then) → its summary stats complete.
TIMED_LOAD_JS = """
const [method, args, timeoutMs, done] = arguments;
const h = window.__buckaroo;
const t0 = performance.now();
let rowsMs = null, frameMs = null;
const onFrame = (msg, bufs) => {
  if (frameMs === null && msg.type === 'infinite_resp' && bufs && bufs[0]) frameMs = performance.now() - t0;
};
h.model.on('msg:custom', onFrame);
h[method](args).catch((e) => done({error: String(e && e.message || e)}));
const statsDone = () => {
  const s = (h.model.get('df_meta') || {}).stats;
  return !s || s.status === 'complete';
};
const tick = () => {
  const now = performance.now() - t0;
  if (rowsMs === null && !h.loading && now > 0) rowsMs = now;
  if (rowsMs !== null && statsDone()) {
    h.model.off('msg:custom', onFrame);
    return done({frame_ms: frameMs, rows_ms: rowsMs, stats_ms: now, total_rows: (h.model.get('df_meta') || {}).total_rows,
                 file: document.getElementById('file')?.textContent});
  }
  if (now > timeoutMs) return done({error: 'timed out'});
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
"""


def build_1m(sample_1m: Path, workdir: Path) -> Path:
    return xorq_builds.build(workdir / "project", xorq_builds.parquet_pipeline(sample_1m))


def expr_loads(display: str, binary: Path, build: Path, workdir: Path, runs: int) -> dict:
    """{inline|deferred: {rows_ms, stats_ms}} medians over `runs` loads each."""
    print("[bench] xorq build, 1M rows: stats inline vs deferred", flush=True)
    env = e2e.app_env(scope=[build.parent], RUST_LOG="info", HOME=str(xorq_builds.scratch_env(workdir)["HOME"]))
    out: dict = {"inline": {"rows_ms": [], "stats_ms": []}, "deferred": {"rows_ms": [], "stats_ms": []}}
    with e2e.running_app(display, env, binary=binary) as (d, _):
        d.set_script_timeout(180)
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=90, what="sidecar ready")
        warm = d.execute_async_script(TIMED_LOAD_JS, "loadExpr", {"buildDir": str(build), "statsDelivery": "deferred"}, 120_000)
        if "error" in warm:
            raise SystemExit(f"xorq build load failed: {warm['error']}")
        for _ in range(runs):
            for delivery in ("inline", "deferred"):
                r = d.execute_async_script(TIMED_LOAD_JS, "loadExpr", {"buildDir": str(build), "statsDelivery": delivery}, 120_000)
                if "error" in r:
                    raise SystemExit(f"{delivery} load failed: {r['error']}")
                out[delivery]["rows_ms"].append(r["rows_ms"])
                out[delivery]["stats_ms"].append(r["stats_ms"])
    return {k: {m: stats(v) for m, v in d_.items()} for k, d_ in out.items()}


def report(r: dict) -> list[str]:
    e = r["expr_1m"]
    return ["", "### xorq build, 1M rows (embedded DataFusion): `loadExpr` → ..., ms: median (min–max)", "",
            "| stats | first rows painted | stats complete |", "|---|---|---|",
            f"| inline | {fmt(e['inline']['rows_ms'])} | {fmt(e['inline']['stats_ms'])} |",
            f"| deferred | {fmt(e['deferred']['rows_ms'])} | {fmt(e['deferred']['stats_ms'])} |",
            f"| ratio deferred / inline, first rows | {e['deferred']['rows_ms']['median'] / e['inline']['rows_ms']['median']:.2f} | |"]
