"""Every cell shows what the file holds (issue 29): a table of awkward values of every
kind (cell_rules.table) through the real app, the grid's text compared with the rule
for each value, column by column, in buckaroo mode and viewer mode. And every status
indicator ends once rows are painted: a file, a file on the engine, a 0-row file."""

from __future__ import annotations

import contextlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev import cell_rules, e2e, e2e_page, e2e_procs

from . import grid

# Scroll the data grid across its width (AG Grid renders only the columns in view) and
# read every body cell: {header name: {row index: text}}.
ALL_CELLS_JS = """
const root = [...document.querySelectorAll('.ag-root-wrapper')]
  .filter(r => r.querySelector('.ag-header-cell[col-id="index"]')).pop();
const cfg = window.__buckaroo?.model.get('df_display_args')?.main?.df_viewer_config?.column_config || [];
const header = Object.fromEntries(cfg.map(c => [c.col_name, c.header_name ?? c.col_name]));
const vp = root && root.querySelector('.ag-center-cols-viewport');
const bar = root && root.querySelector('.ag-body-horizontal-scroll-viewport');
if (!vp) return null;
const out = {};
const read = () => {
  for (const row of root.querySelectorAll('.ag-center-cols-container .ag-row')) {
    const idx = row.getAttribute('row-index');
    for (const c of row.querySelectorAll('.ag-cell')) {
      const name = header[c.getAttribute('col-id')];
      if (name === undefined) continue;
      (out[name] ||= {})[idx] = c.textContent;
    }
  }
};
const width = Math.max(vp.scrollWidth, bar ? bar.scrollWidth : 0);
for (let left = 0; ; left += Math.max(100, vp.clientWidth / 2)) {
  for (const el of [vp, bar]) if (el) { el.scrollLeft = left; el.dispatchEvent(new Event('scroll')); }
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  read();
  if (left >= width) break;
}
for (const el of [vp, bar]) if (el) { el.scrollLeft = 0; el.dispatchEvent(new Event('scroll')); }
return out;
"""


def all_cells(driver) -> dict[str, dict[int, str]]:
    script = "const done = arguments[arguments.length - 1];\n(async () => {" + ALL_CELLS_JS + "})().then(done, e => done(String(e)));"
    raw = driver.execute_async_script(script)
    assert isinstance(raw, dict), raw
    return {name: {int(i): text for i, text in cells.items()} for name, cells in raw.items()}


def mismatches(table: pa.Table, cells: dict[str, dict[int, str]], mode: str) -> list[str]:
    """Each cell whose text is not the rule's, as `column[row]: shown != expected`.
    Numbers are padded by buckaroo's displayers: compared trimmed."""
    out = []
    for name in table.column_names:
        want = cell_rules.expected(table[name], mode)
        got = cells.get(name, {})
        for row, text in enumerate(want):
            shown = got.get(row)
            if shown is None or shown.strip() not in (text if isinstance(text, tuple) else (text,)):
                out.append(f"{name}[{row}] ({table[name].type}): shown {shown!r}, expected {text!r}")
    return out


@pytest.mark.parametrize("mode", ["buckaroo", "viewer"])
def test_every_cell_shows_what_the_file_holds(display, tmp_path, mode):
    table = cell_rules.table()
    path = cell_rules.write(tmp_path / "awkward.parquet")
    with e2e.running_app(display, e2e.app_env(autoload=path, mode=mode, scope=[tmp_path])) as (d, _):
        grid.wait_painted(d)
        # Cells are painted as their windows are decoded: wait for the last (the mismatches are listed below).
        with contextlib.suppress(TimeoutError):
            e2e_procs.wait_until(lambda: not mismatches(table, all_cells(d), mode), timeout=30, interval=0.5,
                                 what="every cell as the rules say")
        bad = mismatches(table, all_cells(d), mode)
        print(f"\n[cells] {mode}: {table.num_columns} columns × {table.num_rows} rows, {len(bad)} mismatches")
        assert not bad, "\n".join(bad)
        grid.wait_idle(d)
        # The first window came as the page asked for it with the data (prefetch.ts), in both modes.
        assert e2e_page.page_state(d)["counters"]["firstWindowUsed"] == 1


def test_a_zero_row_file_shows_its_columns_and_nothing_keeps_loading(display, tmp_path):
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.int64()), "name": pa.array([], pa.string())}), path)
    with e2e.running_app(display, e2e.app_env(autoload=path, scope=[tmp_path])) as (d, _):
        headers = e2e_procs.wait_until(lambda: (lambda h: h if {"id", "name"} <= set(h) else None)(grid.header_names(d)),
                                       timeout=60, what="the 0-row file's columns")
        assert {"id", "name"} <= set(headers), headers
        grid.wait_idle(d)


def test_a_file_on_the_engine_ends_every_indicator(display, data_dir):
    env = e2e.app_env(autoload=data_dir / "small_100k.parquet", scope=[data_dir], BUCKAROO_ENGINE_MIN_BYTES="0")
    with e2e.running_app(display, env) as (d, _):
        grid.wait_painted(d)
        grid.wait_idle(d)
        # Asked for early with the owed stats generation, which the engine's deferred stats need.
        counters = e2e_page.page_state(d)["counters"]
        assert counters["firstWindowUsed"] == 1 and counters["statsUpdates"] >= 1, counters
