"""Bench section `big`'s report: one markdown table per file (both paths, the app, DuckDB's
floor) and the issue's goals next to the numbers."""

from __future__ import annotations

from buckaroo_tauri_dev.bench_big_paths import DEFAULT_ROWS, JITTER, SORT_COLUMN, SORTED_REPEATS, WARM_XORQ_S, WINDOW_REPEATS
from buckaroo_tauri_dev.bench_common import fmt

GOAL_PAINTED_MS = 1_000.0
GOAL_RSS_MIB = 1024.0
GOAL_WINDOW_MS = 150.0


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def _verdict(value: float | None, goal: float) -> str:
    return "not measured" if value is None else "**pass**" if value <= goal else "**short**"


def report(r: dict) -> list[str]:
    big = r["big"]
    app = {f["rows"]: f for f in big["app"].get("files", [])}
    lines = []
    for f in big["files"]:
        a = app.get(f["rows"])
        lines += ["", f"### Big file: {f['rows']:,} rows (Parquet, {f['bytes'] / 2**20:,.0f} MiB), "
                  f"{big['window_rows']:,}-row windows, ms (medians)", "",
                  "| path | load → first rows (launcher) | load → first rows painted (app) | window 0 | middle | end "
                  f"| sorted on {SORT_COLUMN} | stats complete | peak RSS MiB |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, key in (("pandas path", "pandas"), ("engine path", "engine")):
            p = f[key]
            if "skipped" in p:
                lines.append(f"| {name} | {p['skipped']} | | | | | | | |")
                continue
            if a is None:
                painted = "—"
            elif key == "engine":
                painted = _ms(a["engine_rows_ms"]["median"])
            else:
                painted = _ms(a["pandas"].get("rows_ms")) if "skipped" not in a["pandas"] else "—"
            if p.get("rows_shown", f["rows"]) != f["rows"]:
                name += f" (buckaroo keeps a random {p['rows_shown']:,}-row sample: windows and sort are the sample's)"
            stats_cell = "inline (in the load)" if p["stats_ms"] is None else f"+{_ms(p['stats_ms'])} after first rows"
            w = p["windows"]
            lines.append(f"| {name} | {_ms(p['first_rows_ms'])} | {painted} | {_ms(w['0'])} | {_ms(w['middle'])} "
                         f"| {_ms(w['end'])} | {_ms(p['sorted_ms'])} | {stats_cell} | {p['peak_rss_mib']:,.0f} |")
        d = f["duckdb"]
        lines.append(f"| DuckDB floor (in process) | {_ms(d['load_ms'])} (count(*) {_ms(d['count_ms'])} + first window "
                     f"{_ms(d['first_ms'])}) | — | {_ms(d['windows']['0'])} | {_ms(d['windows']['middle'])} "
                     f"| {_ms(d['windows']['end'])} | {_ms(d['sorted_ms'])} | — | — |")
        if a is not None:
            first = a["engine_first"]
            lines += ["", f"In the app: the {'app’s first' if a['engine_first_is_apps_first'] else 'file’s first'} engine "
                      f"load painted rows in {_ms(first['rows_ms'])} ms (stats complete {_ms(first['stats_ms'])} ms; "
                      f"xorq had {big['app']['warm_xorq_s']:.0f} s after the sidecar was ready to import in the "
                      f"background); then {a['engine_rows_ms']['n']} engine loads: the first row frame in the page after "
                      f"{fmt(a['engine_frame_ms'])} ms, rows painted after {fmt(a['engine_rows_ms'])} ms, stats complete "
                      f"after {fmt(a['engine_stats_ms'])} ms" + ("." if "skipped" in a["pandas"] else
                      f"; one pandas load: row frame {_ms(a['pandas']['frame_ms'])} ms, painted {_ms(a['pandas']['rows_ms'])} ms.")]
    for f in big["files"]:
        lines += _search_lines(f)
        deep = f["engine"].get("sorted_deep")
        if deep:
            lines += ["", f"Engine, {f['rows']:,} rows, sorted on {SORT_COLUMN} past the top (the sorted copy): the first "
                      f"window in the middle answered after {_ms(deep['first_deep_ms'])} ms (it waits for DuckDB's copy); "
                      f"then windows at 0 / middle / end {_ms(deep['0'])} / {_ms(deep['middle'])} / {_ms(deep['end'])} ms."]
    if "skipped" in big["app"]:
        lines += ["", f"App part not run: {big['app']['skipped']}."]
    lines += ["", "Launcher numbers: POST /load → first window received over the socket, on a fresh launcher per path "
              f"(xorq imported in the background first, {WARM_XORQ_S:.0f} s, as a xorq() app does); windows: median of "
              f"{WINDOW_REPEATS}, offsets {JITTER} rows apart; sorted: offset 0, median of {SORTED_REPEATS}; "
              "peak RSS: the sidecar's VmHWM (/proc). The engine's stats are waited for before the windows."]
    lines += ["", *goals(big)]
    return lines


def _search_lines(f: dict) -> list[str]:
    found, floor = f["engine"].get("search"), f["duckdb"].get("search")
    if not found or not floor:
        return []
    lines = ["", f"Search on the engine, {f['rows']:,} rows (buckaroo's search box: `contains` on every string column), "
             "ms: the launcher from the state change, DuckDB in process with the same predicate:", "",
             "| term | matches | count (launcher) | first rows (launcher) | DuckDB count | DuckDB first rows "
             "| DuckDB ILIKE count | count, launcher / DuckDB |", "|---|---|---|---|---|---|---|---|"]
    for term, s in found.items():
        d = floor[term]
        lines.append(f"| `{term}` | {s['matches']:,} | {_ms(s['count_ms'])} | {_ms(s['first_ms'])} | {_ms(d['count_ms'])} "
                     f"| {_ms(d['first_ms'])} | {_ms(d['ilike_count_ms'])} | {s['count_ms'] / d['count_ms']:.2f} |")
    return lines


def goals(big: dict) -> list[str]:
    """The issue's goals next to the numbers: pass or short."""
    by_rows = {f["rows"]: f for f in big["files"]}
    app = {f["rows"]: f for f in big["app"].get("files", [])}
    base = by_rows.get(DEFAULT_ROWS)
    painted = app[DEFAULT_ROWS]["engine_rows_ms"]["median"] if DEFAULT_ROWS in app else None
    rss = base["engine"]["peak_rss_mib"] if base else None
    unsorted = max(((v, f"{f['rows']:,} rows @ {k}") for f in big["files"] for k, v in f["engine"]["windows"].items()),
                   default=None)
    by_sort = max(((f["engine"]["sorted_ms"], f"{f['rows']:,} rows, top-n while the copy is written")
                   for f in big["files"]), default=None)
    from_copy = max(((max(v for k, v in f["engine"]["sorted_deep"].items() if k != "first_deep_ms"), f"{f['rows']:,} rows")
                     for f in big["files"] if f["engine"].get("sorted_deep")), default=None)
    huge = [f for f in big["files"] if f["rows"] >= 100_000_000]
    lines = ["Goals (engine path):", ""]
    if base:
        first, floor = base["engine"]["sorted_first_ms"], base["duckdb"]["sorted_ms"]
        lines.append(f"- first sorted window on {SORT_COLUMN}, 20M rows, ≤ 1.0× DuckDB's `ORDER BY … LIMIT`: "
                     f"{_ms(first)} / {_ms(floor)} ms = {first / floor:.2f}× — {_verdict(first / floor, 1.0)}")
    if painted is None:
        note = "app not run" + (f"; launcher load → first rows {_ms(base['engine']['first_rows_ms'])} ms" if base else "")
        lines.append(f"- 20M-row file load → first rows painted ≤ {GOAL_PAINTED_MS / 1000:.1f} s in the app: {note} — not measured")
    else:
        lines.append(f"- 20M-row file load → first rows painted ≤ {GOAL_PAINTED_MS / 1000:.1f} s in the app: "
                     f"{painted / 1000:.2f} s — {_verdict(painted, GOAL_PAINTED_MS)}")
    lines.append(f"- sidecar peak RSS ≤ 1 GB ({GOAL_RSS_MIB:.0f} MiB), 20M rows: "
                 + ("20M-row file not run — not measured" if rss is None else f"{rss:,.0f} MiB — {_verdict(rss, GOAL_RSS_MIB)}"))
    if unsorted is not None and by_sort is not None:
        lines.append(f"- any window ≤ {GOAL_WINDOW_MS:.0f} ms: slowest unsorted median {_ms(unsorted[0])} ms ({unsorted[1]}) — "
                     f"{_verdict(unsorted[0], GOAL_WINDOW_MS)}; sorted on {SORT_COLUMN} {_ms(by_sort[0])} ms ({by_sort[1]}) — "
                     f"{_verdict(by_sort[0], GOAL_WINDOW_MS)}"
                     + ("" if from_copy is None else f"; sorted from the copy, slowest {_ms(from_copy[0])} ms ({from_copy[1]}) — "
                        f"{_verdict(from_copy[0], GOAL_WINDOW_MS)}"))
    if huge:
        h = max(huge, key=lambda f: f["rows"])
        rss_h = h["engine"]["peak_rss_mib"]
        lines.append(f"- the {h['rows']:,}-row file opens within the same memory bound: {rss_h:,.0f} MiB, rows after "
                     f"{_ms(h['engine']['first_rows_ms'])} ms (launcher) — {_verdict(rss_h, GOAL_RSS_MIB)}")
    else:
        lines.append("- the 100M-row file opens within the same memory bound: not run (`--big-rows 100000000`)")
    return lines
