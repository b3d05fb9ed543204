"""Nothing hangs, nothing fails silently (the real app, the real sidecar): loads show
progress from the first moment, failed row windows are said, CSV exports read as a
spreadsheet shows them, and a sidecar killed over and over keeps coming back."""

from __future__ import annotations

import os
import signal
import time

import psutil

from buckaroo_tauri_dev import e2e, e2e_page, e2e_procs

from . import grid
from .test_app import ready_pid, start_env

PROGRESS_JS = "const p = document.getElementById('progress'); return p.hidden ? null : p.textContent"


def test_autoload_shows_loading_from_the_first_moment(display, data_dir):
    """A 1M-row autoload: from the first look at the page until rows are painted the
    window says it is loading, never 'Ready' with an invitation to open a file."""
    # pandas (the engine would paint these rows before there is much to look at).
    with e2e.running_app(display, start_env(data_dir, autoload="big_1m.parquet", BUCKAROO_ENGINE_MIN_BYTES=str(1 << 40))) as (d, _):
        # One script per look: rows painted, progress and the empty-window hint read together.
        look_js = "const painted = (() => {" + e2e_page.ROWS_PAINTED_JS + "})();" + (
            "const p = document.getElementById('progress');"
            "return [painted, p.hidden ? null : p.textContent, document.getElementById('empty').hidden];")
        looks = []
        while len(looks) < 5000:
            painted, progress, empty_hidden = d.execute_script(look_js)
            if painted:
                break
            looks.append((progress, empty_hidden))
        assert painted, "rows never painted"
        assert looks, "rows were painted before the first look: nothing to check"
        # Before the sidecar is up the status bar says "Starting Python…"; from attach on, the load.
        loading = [p for p, _ in looks if p]
        assert loading and all(p == "Loading big_1m.parquet…" for p in loading), looks[:5]
        first_loading = next(i for i, (p, _) in enumerate(looks) if p)
        gaps = [i for i, (p, _) in enumerate(looks) if not p and i > first_loading]
        assert not gaps, ("progress vanished before rows were painted", gaps, len(looks))
        assert all(empty_hidden for _, empty_hidden in looks[first_loading:])
        e2e_procs.wait_until(lambda: d.execute_script(PROGRESS_JS) is None, what="progress cleared once rows are painted")
        print(f"\n[reliability] autoload: {len(looks)} looks before rows, {len(looks) - first_loading} of them showing progress")


def test_ten_kills_in_a_row_all_recover(display, data_dir, df100k):
    """The restart policy goes by health: a sidecar that became ready and served is
    restarted at once, however often it is killed. Each time the page keeps its grid and
    the rows it asked for while no sidecar was up come by themselves."""
    times = []
    with e2e.running_app(display, start_env(data_dir)) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="first rows")
        d.execute_script("document.querySelector('.buckaroo-tauri-grid').dataset.generation = 'old'")
        for n in range(10):
            pid = ready_pid(d)
            t0 = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            psutil.wait_procs([psutil.Process(pid)] if psutil.pid_exists(pid) else [], timeout=10)
            row = 5_000 * (n + 1)
            grid.scroll_to_row(d, row)

            def back():
                status = e2e_page.invoke(d, "buckaroo_status")["ok"]
                assert status["state"] != "failed", f"kill {n + 1}: {status}"
                return status["state"] == "ready" and status["pid"] != pid

            e2e_procs.wait_until(back, timeout=60, what=f"recovery after kill {n + 1}")
            near = grid.wait_ids(d, lambda m: any(row - 20 <= i <= row + 20 for i in m), timeout=60, what=f"rows after kill {n + 1}")
            times.append((time.monotonic() - t0) * 1000)
            assert all(v == int(df100k["id"].iloc[i]) for i, v in near.items())
            time.sleep(1.5)  # a user scrolling between crashes
        assert e2e_page.page_state(d)["error"] is None
        generation = d.execute_script("return document.querySelector('.buckaroo-tauri-grid').dataset.generation")
        assert generation == "old", "the grid was replaced"
        e2e_procs.wait_until(lambda: grid.all_answered(d), timeout=30, what="no row request left unanswered")
    print(f"\n[reliability] ten kill -9 → rows again (ms): {', '.join(f'{t:.0f}' for t in times)}")


HEADERS_JS = e2e_page.DATA_GRID_JS + """
const root = dataGrid();
if (!root) return null;
const out = {};
for (const h of root.querySelectorAll('.ag-header-cell[col-id]')) out[h.getAttribute('col-id')] = (h.textContent || '').trim();
return out;
"""


VISIBLE_CELLS_JS = e2e_page.DATA_GRID_JS + """
const root = dataGrid();
return root ? [...root.querySelectorAll('.ag-body .ag-row')].filter(r => getComputedStyle(r).visibility !== 'hidden')
  .flatMap(r => [...r.querySelectorAll('.ag-cell')].map(c => (c.textContent || '').trim())) : [];
"""


def _cell_matches(text: str, want) -> bool:
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        try:
            return abs(float(text.replace(",", "")) - want) < 1e-9
        except ValueError:
            return False
    return text == want


def test_csv_exports_read_as_a_spreadsheet_shows_them(display, data_dir):
    """BOM, `;` and tab separators, decimal commas, quoted separators: the columns and the
    first row's cells the user sees are the ones a spreadsheet shows."""
    from buckaroo_tauri_dev.sample_data import CSV_VARIANTS

    with e2e.running_app(display, start_env(data_dir, autoload=None)) as (d, _):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=60, what="ready")
        for name, spec in CSV_VARIANTS.items():
            d.execute_script("window.__buckarooApp.load(arguments[0])", str(data_dir / name))
            e2e_procs.wait_until(lambda: (e2e_page.page_state(d)["file"] or "").startswith(f"{name} · {spec['rows']} rows"),
                                 what=f"{name} loaded")
            def painted(spec=spec):
                rows = grid.data_rows(d)
                return len(rows) >= spec["rows"] and any(rows[0].values()) and rows

            rows = e2e_procs.wait_until(painted, what=f"{name} rows")
            headers = d.execute_script(HEADERS_JS)
            by_name = {headers[c]: c for c in sorted(headers) if c != "index"}  # buckaroo's col-ids a, b, c… in column order
            assert list(by_name) == spec["columns"], (name, headers)
            first = rows[0]
            got = [first[by_name[col]] for col in spec["columns"]]
            assert all(_cell_matches(t, w) for t, w in zip(got, spec["first_row"], strict=True)), (name, got, spec["first_row"])
            assert e2e_page.page_state(d)["error"] is None, name


def test_a_failed_row_window_is_said_not_shown_as_rows(display, data_dir):
    """A row window the server cannot serialize: the banner names the column with its
    code, the grid says so over its rows, and no cell pretends to be data."""
    from buckaroo_tauri_dev.sample_data import JSON_LINES_VARIANTS

    spec = JSON_LINES_VARIANTS["mixed_types.jsonl"]
    with e2e.running_app(display, start_env(data_dir, autoload=None)) as (d, _):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=60, what="ready")
        d.execute_script("window.__buckarooApp.load(arguments[0])", str(data_dir / "mixed_types.jsonl"))
        state = e2e_procs.wait_until(lambda: (s := e2e_page.page_state(d))["error"] and s, timeout=60, what="the banner")
        assert state["errorCode"] == "serialization_failed", state
        assert f"'{spec['bad_column']}'" in state["error"], state["error"]
        overlay = d.execute_script("return document.querySelector('.buckaroo-tauri-rows-error')?.textContent")
        assert overlay and "could not be shown" in overlay, overlay
        # buckaroo fills a failed block with "None" placeholders: none may be visible.
        visible = d.execute_script(VISIBLE_CELLS_JS)
        assert "None" not in visible, visible
        assert d.execute_script("return document.getElementById('progress').hidden"), "progress left running"
        # The window is still usable: a good file replaces the failed one.
        d.execute_script("window.__buckarooApp.load(arguments[0])", str(data_dir / "tiny.parquet"))
        grid.wait_ids(d, lambda m: 0 in m, what="rows of the next file")
        assert d.execute_script("return document.querySelector('.buckaroo-tauri-rows-error')") is None
        assert e2e_page.page_state(d)["error"] is None
