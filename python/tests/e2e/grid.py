"""Reading and driving buckaroo's grid in the real app (through WebDriver)."""

from __future__ import annotations

import time

from buckaroo_tauri_dev import e2e_page, e2e_procs

DATA_GRID_ROWS_JS = e2e_page.DATA_GRID_JS + """
const root = dataGrid();
if (!root) return null;
const out = {};
for (const row of root.querySelectorAll('.ag-center-cols-container .ag-row')) {
  const idx = row.getAttribute('row-index');
  if (idx === null || idx < 0) continue;
  const cells = {};
  for (const c of row.querySelectorAll('.ag-cell')) cells[c.getAttribute('col-id')] = (c.textContent || '').trim();
  out[idx] = cells;
}
return out;
"""


def data_rows(driver) -> dict[int, dict[str, str]]:
    raw = driver.execute_script(DATA_GRID_ROWS_JS) or {}
    return {int(k): v for k, v in raw.items()}


# pinnedCells(stat, col): the cells of column `col` in the pinned summary row `stat`
# (dtype, histogram, …): AG Grid draws a pinned row once per column section, the twins
# sharing its row-index.
PINNED_CELLS_JS = """
function pinnedCells(stat, col) {
  const cells = [];
  for (const row of document.querySelectorAll('.ag-floating-top .ag-row')) {
    if ((row.querySelector('.ag-cell[col-id="index"]')?.textContent || '').trim() !== stat) continue;
    const twin = row.getAttribute('row-index');
    for (const r of document.querySelectorAll(`.ag-floating-top .ag-row[row-index="${twin}"]`)) {
      const cell = r.querySelector(`.ag-cell[col-id="${col}"]`);
      if (cell) cells.push(cell);
    }
  }
  return cells;
}
"""


def pinned_text(driver, stat: str, col: str) -> str | None:
    """The text of column `col` in the pinned summary row `stat` (dtype, …), None without one."""
    return driver.execute_script(PINNED_CELLS_JS + """
const cell = pinnedCells(...arguments)[0];
return cell ? (cell.textContent || '').trim() : null;
""", stat, col)


def histogram_marks(driver, col: str) -> int:
    """SVG marks painted in column `col` of the pinned histogram row (0 until the stats arrive)."""
    return driver.execute_script(PINNED_CELLS_JS + """
return pinnedCells('histogram', arguments[0]).reduce((n, cell) => n + cell.querySelectorAll('svg rect, svg path').length, 0);
""", col)


def ids(rows: dict[int, dict[str, str]]) -> dict[int, int]:
    """row-index → the `id` column (col a), as an int; rows still loading are skipped."""
    out = {}
    for i, cells in rows.items():
        text = cells.get("a", "").replace(",", "")
        if text.lstrip("-").isdigit():
            out[i] = int(text)
    return out


def wait_ids(driver, predicate, timeout: float = 60, what: str = "grid rows"):
    return e2e_procs.wait_until(lambda: (lambda m: m if m and predicate(m) else None)(ids(data_rows(driver))), timeout=timeout, what=what)


def scroll_to_row(driver, row: int) -> None:
    driver.execute_script(
        e2e_page.DATA_GRID_JS + """
        const [row] = arguments;
        const root = dataGrid();
        const vp = root.querySelector('.ag-body-viewport');
        // AG Grid caps the scroll height (1,000,000 px) and stretches: scroll by fraction.
        const total = (window.__buckaroo.model.get('df_meta') || {}).total_rows || 1;
        vp.scrollTop = Math.round(row / total * (vp.scrollHeight - vp.clientHeight));
        vp.dispatchEvent(new Event('scroll'));
        """,
        row,
    )


def click_header(driver, col_id: str) -> None:
    driver.execute_script(
        e2e_page.DATA_GRID_JS + """
        const [col] = arguments;
        const root = dataGrid();
        const header = root.querySelector(`.ag-header-cell[col-id="${col}"]`);
        // Scroll the body (the header follows it), so the column's cells are rendered too.
        const left = parseFloat(header.style.left || '0');
        for (const sel of ['.ag-center-cols-viewport', '.ag-body-horizontal-scroll-viewport']) {
          const vp = root.querySelector(sel);
          if (vp) { vp.scrollLeft = Math.max(0, left - 200); vp.dispatchEvent(new Event('scroll')); }
        }
        (header.querySelector('.ag-header-cell-label') || header).click();
        """,
        col_id,
    )


def search(driver, term: str) -> None:
    """Type `term` into buckaroo's search box and press Enter, as a user does."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = e2e_procs.wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, '.ag-cell[col-id="search"] input'), what="search box")[0]
    box.click()
    box.send_keys(term)
    box.send_keys(Keys.ENTER)


def all_answered(driver) -> bool:
    """Every row request the page sent has had its reply (rows or a failure)."""
    c = e2e_page.page_state(driver)["counters"]
    return c["requests"] > 0 and c["requests"] == c["parquet"] + c["errors"]


def status_bar(driver) -> dict[str, str]:
    """buckaroo's own status bar cells (total_rows, filtered_rows, …)."""
    return driver.execute_script(
        """
        const out = {};
        for (const c of document.querySelectorAll('.ag-cell[col-id]')) {
          if (c.closest('.buckaroo-tauri-warmup')) continue;  // the widget's warm-up placeholder
          const id = c.getAttribute('col-id');
          if (['total_rows', 'filtered_rows', 'columns'].includes(id)) out[id] = (c.textContent || '').trim();
        }
        return out;
        """
    )


def settle(driver, seconds: float = 0.3) -> None:
    time.sleep(seconds)


def wait_painted(driver, timeout: float = 60) -> None:
    """The data grid shows rows (any cell with text)."""
    e2e_procs.wait_until(lambda: any(any(v.strip() for v in r.values()) for r in data_rows(driver).values()),
                         timeout=timeout, what="rows painted")


HEADER_NAMES_JS = e2e_page.DATA_GRID_JS + """
const root = dataGrid();
return root ? [...root.querySelectorAll('.ag-header-cell')].map(h => h.textContent.trim()).filter(Boolean) : [];
"""


def header_names(driver) -> list[str]:
    return driver.execute_script(HEADER_NAMES_JS) or []


# Every indicator the example shows while something is pending, and AG Grid's own
# loading overlay and loading rows: the names of those still on.
BUSY_JS = """
const on = (id) => { const el = document.getElementById(id); return el && !el.hidden ? id : null; };
// A progress text without its spinner waits for the user (a load paused until Retry).
const busy = [on('progress') && on('progress-spinner'), on('waiting'), on('provisioning')];
const stats = document.getElementById('stats');
if (stats && !stats.hidden && stats.dataset.status === 'pending') busy.push('stats');
const loading = document.querySelectorAll('.ag-overlay-loading-center, .ag-row-loading');
if ([...loading].some(e => e.offsetParent !== null)) busy.push('grid-loading');
return busy.filter(Boolean);
"""


def busy(driver) -> list[str]:
    return driver.execute_script(BUSY_JS)


def wait_idle(driver, timeout: float = 30) -> None:
    """Nothing pending, so no indicator stays on: every row request answered, and the
    page's status bar and the grid show nothing loading, still so a second later."""
    for _ in range(2):
        e2e_procs.wait_until(lambda: not busy(driver), timeout=timeout, interval=0.2, what="every indicator off")
        time.sleep(1.0)
    assert not busy(driver), busy(driver)
    c = e2e_page.page_state(driver)["counters"]
    assert c["requests"] == c["parquet"] + c["errors"], c
