"""Bench section `windows`: in one running bench build, row windows through the plugin
against a direct WebSocket from the same page, relay throughput, and memory across two
windows."""

from __future__ import annotations

import argparse
import contextlib
import statistics
from pathlib import Path

import psutil

from . import e2e, e2e_page, e2e_procs
from .bench_common import BENCH_BINARY, stats
from .bench_js import BURST_JS, FLOOR_JS, WINDOWS_JS


def window_latency(d, ep: dict, session: str, n: int, seed: int = 11) -> dict:
    import random

    rng = random.Random(seed)
    results = {}
    for size in (100, 1_000, 10_000):
        for sort in (None, "c"):
            args = []
            for i in range(n):
                start = rng.randrange(0, 100_000 - size)
                a = {"start": start, "end": start + size}
                if sort:
                    a.update(sort=sort, sort_direction="asc" if i % 2 else "desc")
                args.append(a)
            out = d.execute_async_script(WINDOWS_JS, "", args, n, ep, session)
            if "error" in out:
                raise SystemExit(f"bench page failed: {out['error']}")
            for path in ("plugin", "direct"):
                bad = [r for r in out[path] if r["err"] or r["ms"] < 0 or r["length"] != 100_000]
                if bad:
                    raise SystemExit(f"{path} {size} sort={sort}: failed replies {bad[:2]}")
            # Same request, same bytes: the plugin delivers exactly the server's parquet frame.
            pb = statistics.median(r["bytes"] for r in out["plugin"])
            db = statistics.median(r["bytes"] for r in out["direct"])
            results[f"{size}{' sorted' if sort else ''}"] = {
                "plugin": stats([r["ms"] for r in out["plugin"]]),
                "direct": stats([r["ms"] for r in out["direct"]]),
                "plugin_bytes": pb,
                "direct_bytes": db,
            }
    return results


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return total / 2**20


def tauri_floor(d, frame_bytes: int, n: int) -> dict:
    """Tauri's own cost for what the plugin does per row reply, with no work: an invoke,
    an invoke plus one raw Channel message of a 10,000-row frame's size, and an invoke
    replying with those bytes itself (the poll's way)."""
    out = d.execute_async_script(FLOOR_JS, int(frame_bytes), n)
    if "error" in out or out["bytes"] != int(frame_bytes):
        raise SystemExit(f"bench page: Tauri floor failed: {str(out)[:300]}")
    noop, raw, reply = stats(out["noop"]), stats(out["raw"]), stats(out["reply"])

    def rate(ms: dict) -> float | None:
        extra = ms["median"] - noop["median"]
        return (out["bytes"] / 2**20) / (extra / 1000) if extra > 0 else None

    return {"bytes": out["bytes"], "invoke_ms": noop, "invoke_and_message_ms": raw, "invoke_reply_ms": reply,
            "message_mib_s": rate(raw), "reply_mib_s": rate(reply)}


def relay_throughput(d, windows: dict) -> dict:
    print("[bench] relay throughput", flush=True)
    burst = d.execute_async_script(BURST_JS, 20, 10_000, True)
    if burst["errors"]:
        raise SystemExit(f"burst had {burst['errors']} failed replies")
    w10k = windows["10000"]
    extra_ms = w10k["plugin"]["median"] - w10k["direct"]["median"]
    return {"frames": 20, "bytes": burst["bytes"], "ms": burst["ms"],
            "mib_s": burst["bytes"] / 2**20 / (burst["ms"] / 1000),
            # The hop alone: the plugin's extra time over the direct socket for the same frame.
            "hop_extra_ms": extra_ms,
            "hop_mib_s": (w10k["plugin_bytes"] / 2**20) / (extra_ms / 1000) if extra_ms > 0 else None}


# Row requests per window before the baseline: the webviews' RSS right after their first
# paint depends on how soon that paint came (WebKit grows its heaps and caches over the
# page's first requests), so it is kept too but is not what a leak is measured from.
WARM_UP_REQUESTS = 200


def memory_across_windows(d, ep: dict, sample: Path, scroll_requests: int) -> dict:
    """RSS of the app, its webviews and the sidecar right after both windows painted, then
    before and after `scroll_requests` row requests spread over the first window and a
    second one, each warmed up by WARM_UP_REQUESTS first."""
    print("[bench] memory across two windows", flush=True)
    sidecar = psutil.Process(ep["pid"])
    app = sidecar.parent()
    first = d.current_window_handle
    d.execute_script("document.getElementById('new-window').click()")
    e2e_procs.wait_until(lambda: len(d.window_handles) == 2, timeout=30, what="second window")
    other = next(h for h in d.window_handles if h != first)
    d.switch_to.window(other)
    e2e_procs.wait_until(lambda: d.execute_script("return !!(window.__buckaroo && window.__buckaroo.sessionId)"), what="attach")
    d.execute_script("window.__buckarooApp.load(arguments[0])", str(sample))
    e2e_procs.wait_until(lambda: d.execute_script(e2e_page.ROWS_PAINTED_JS), timeout=90, what="second window rows")
    web = [c.pid for c in app.children(recursive=True) if c.pid != sidecar.pid]

    def rss() -> dict:
        return {"app": rss_mb([app.pid]), "webviews": rss_mb(web), "sidecar": rss_mb([sidecar.pid])}

    first_paint = rss()
    scroll_bursts(d, (first, other), WARM_UP_REQUESTS)
    before = rss()
    per_window = scroll_requests // 2
    scroll_bursts(d, (first, other), per_window)
    after = rss()
    d.switch_to.window(first)
    return {"first_paint": first_paint, "before": before, "after": after, "requests": per_window * 2,
            "warm_up_requests": WARM_UP_REQUESTS * 2}


def scroll_bursts(d, handles, per_window: int) -> None:
    """`per_window` row requests in each window, 50 in flight at a time, as scrolling sends them."""
    for handle in handles:
        d.switch_to.window(handle)
        for _ in range(per_window // 50):
            r = d.execute_async_script(BURST_JS, 50, 1_000, False)
            if r["errors"]:
                raise SystemExit(f"scroll burst had {r['errors']} failed replies")


def in_one_app(display: str, env: dict[str, str], sample: Path, args: argparse.Namespace) -> dict:
    """Row windows, relay throughput and memory, in one running bench build."""
    results: dict = {}
    with e2e.running_app(display, env, binary=BENCH_BINARY) as (d, _):
        d.set_script_timeout(600)
        e2e_procs.wait_until(lambda: d.execute_script(e2e_page.ROWS_PAINTED_JS), timeout=90, what="rows painted")
        ep = e2e_procs.wait_until(lambda: d.execute_async_script(
            "const done = arguments[0]; window.__TAURI_INTERNALS__.invoke('bench_endpoint').then(done, () => done(null));"),
            what="bench endpoint")
        session = d.execute_script("return window.__buckaroo.sessionId")
        print("[bench] row windows", flush=True)
        results["windows"] = window_latency(d, ep, session, args.n)
        results["throughput"] = relay_throughput(d, results["windows"])
        results["throughput"]["tauri_floor"] = tauri_floor(d, results["windows"]["10000"]["plugin_bytes"], args.n)
        results["memory_mb"] = memory_across_windows(d, ep, sample, args.scroll_requests)
    return results
