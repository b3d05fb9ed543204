"""Page helpers: what the E2E tests and the benches read from, or call in, the app's page
through WebDriver (plugin commands, the page's state, the data grid), and screenshots of
the X display it is shown on."""

from __future__ import annotations

from pathlib import Path

from selenium import webdriver


def invoke(driver: webdriver.Remote, cmd: str, args: dict | None = None) -> dict:
    """Call a plugin command from the page; returns {"ok": result} or {"err": error}."""
    return driver.execute_async_script(
        """
        const [cmd, args, done] = arguments;
        window.__TAURI_INTERNALS__.invoke('plugin:buckaroo-tauri|' + cmd, args || {})
          .then(r => done({ok: r}), e => done({err: e}));
        """,
        cmd, args or {},
    )


# The data grid: the AG Grid with an index column (buckaroo's columns are renamed a, b, c…
# and virtualised); the status bar above it is an AG Grid too, and so is the placeholder
# the adapter mounts unseen before the first data (its warm-up), which is left out. Cell
# text is read as textContent: every cell is under overflow:hidden, where WebDriver's text is "".
DATA_GRID_JS = """
const dataGrid = () => [...document.querySelectorAll('.ag-root-wrapper')]
  .filter(r => r.querySelector('.ag-header-cell[col-id="index"]') && !r.closest('.buckaroo-tauri-warmup')).pop();
"""

# How many data rows show a value in column `a` (0 until the first rows are painted).
ROWS_PAINTED_JS = DATA_GRID_JS + """
const root = dataGrid();
if (!root) return 0;
return [...root.querySelectorAll('.ag-center-cols-container .ag-row .ag-cell[col-id="a"]')].filter(c => c.textContent.trim()).length;
"""


# The element showing the page's error: the status bar's, else a failed sidecar's panel
# (its cause and fix, whole).
SHOWN_ERROR = "['error', 'failure'].map(id => document.getElementById(id)).find(e => e && !e.hidden)"
# [code, text] of the error shown, or null.
ERROR_JS = f"const e = {SHOWN_ERROR}; return e ? [e.dataset.code, e.textContent] : null;"


def page_state(driver: webdriver.Remote) -> dict:
    return driver.execute_script(
        """
        const h = window.__buckaroo;
        const shownError = () => """ + SHOWN_ERROR + """;
        return {
          sidecar: document.getElementById('sidecar')?.dataset.state,
          sidecarText: document.getElementById('sidecar')?.textContent,
          error: shownError()?.textContent ?? null,
          errorCode: shownError()?.dataset.code || null,
          file: document.getElementById('file')?.textContent,
          progress: document.getElementById('progress-text')?.textContent ?? null,
          session: h?.sessionId ?? null,
          counters: h ? {...h.model.counters} : null,
          renderFunc: h ? h.model.get('render_func_name') : null,
          totalRows: h ? (h.model.get('df_meta') || {}).total_rows : null,
        };
        """
    )


def grab(display: str, path: Path) -> Path:
    """Screenshot of the X display: the pixels a user would see. (WebKitWebDriver's own
    screenshot command hangs on this build whenever the page has no animation frame
    pending, so it is not used.)"""
    from PIL import ImageGrab

    path.parent.mkdir(parents=True, exist_ok=True)
    ImageGrab.grab(xdisplay=display).save(path)
    return path


def screenshot_ok(path: Path, min_colors: int = 8) -> bool:
    """Not blank: a real grid has many distinct colours and is not one flat block."""
    from PIL import Image

    with Image.open(path) as img:
        small = img.convert("RGB").resize((320, 200))
        colors = small.getcolors(maxcolors=1 << 16) or []
        extrema = small.convert("L").getextrema()
    return len(colors) >= min_colors and extrema[1] - extrema[0] > 50
