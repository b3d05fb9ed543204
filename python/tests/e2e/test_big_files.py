"""A file over the example's engine threshold (32 MiB) in the real app: big_1m.parquet
(58 MiB, 1M rows) opens on xorq's embedded engine. Progress from the first moment, rows
first, the stats after them, then a scroll to the last rows and a sort (its top a
top-n query, deeper rows from a sorted copy); every row request answered. Expectations come from pyarrow over the same file."""

from __future__ import annotations

import pyarrow.parquet as pq

from buckaroo_tauri_dev import e2e, e2e_page, e2e_procs

from . import grid
from .test_app import start_env
from .test_xorq import stats_state

ROWS = 1_000_000


def test_a_big_file_opens_on_the_engine(display, data_dir, shots):
    big = data_dir / "big_1m.parquet"
    want = pq.read_table(big, columns=["id", "score"]).to_pandas()
    # Sorted copies from 0 rows (default 2M): the sort below goes the way a 20M-row file's does.
    with e2e.running_app(display, start_env(data_dir, autoload=None, BUCKAROO_TAURI_SORTED_COPY_MIN_ROWS="0")) as (d, _):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=60, what="ready")
        d.execute_script("window.__buckarooApp.load(arguments[0])", str(big))
        shown = d.execute_script("const p = document.getElementById('progress'); return [p.hidden, p.textContent]")
        assert shown == [False, "Loading big_1m.parquet…"], shown

        # 1. Rows first, in the file's order; the label says the engine serves them.
        first = grid.wait_ids(d, lambda m: 0 in m and len(m) >= 20, timeout=90, what="first rows")
        assert all(first[i] == i for i in first), first
        e2e_procs.wait_until(lambda: grid.status_bar(d).get("total_rows") == "1,000,000", timeout=30, what="1M rows")
        assert e2e_page.page_state(d)["file"] == "big_1m.parquet · 1,000,000 rows · engine"
        e2e_procs.wait_until(lambda: d.execute_script("return document.getElementById('progress').hidden"), what="progress cleared")

        # 2. The stats follow the rows (a stats_update), and the "Computing stats…" state ends.
        done = e2e_procs.wait_until(lambda: (s := stats_state(d))["stats"] and s["stats"].get("status") == "complete" and s,
                                    timeout=120, what="stats complete")
        assert done["counters"]["statsUpdates"] >= 1, done
        assert d.execute_script("return document.getElementById('stats').hidden")
        e2e_procs.wait_until(lambda: grid.histogram_marks(d, "d") > 0, timeout=30, what="score's histogram painted")

        # 3. The last rows: a window at the end of the file.
        grid.scroll_to_row(d, ROWS - 10)
        last = grid.wait_ids(d, lambda m: ROWS - 1 in m, timeout=60, what="the last row")
        assert all(last[i] == i for i in last), last

        # 4. Sorted by score (unique): the top from a top-n query, then deep in the order
        # from the sorted copy.
        grid.scroll_to_row(d, 0)
        grid.wait_ids(d, lambda m: 0 in m, timeout=30, what="back at the top")
        grid.click_header(d, "d")
        order = want.sort_values("score", kind="stable")["id"].tolist()
        got = grid.wait_ids(d, lambda m: [m.get(i) for i in range(15)] == order[:15], timeout=90, what="sorted by score")
        assert [got[i] for i in range(15)] == order[:15]
        grid.scroll_to_row(d, 600_000)
        deep = grid.wait_ids(d, lambda m: min(m) > 500_000, timeout=90, what="deep in the sorted order")
        assert all(deep[i] == order[i] for i in deep), {i: (deep[i], order[i]) for i in list(deep)[:5]}
        shot = shots / "30-big-file-engine.png"
        e2e_page.grab(display, shot)
        assert e2e_page.screenshot_ok(shot)

        e2e_procs.wait_until(lambda: grid.all_answered(d), timeout=60, what="every row request answered")
        c = e2e_page.page_state(d)["counters"]
        assert c["errors"] == 0, c
