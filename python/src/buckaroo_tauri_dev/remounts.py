"""What the scaffold test needs to remount the grid in a React page and to see the
result (issue 28): a hot-reload edit that adds a hide/show toggle, the grid's hosts,
the search box's computed style with and without the host's global rules, and the
page's JavaScript heap as JavaScriptCore reports it after a full collection."""

from __future__ import annotations

import re
import time
from pathlib import Path

# The mount's own element (grid.ts createHost): one while a grid is live, none when hidden.
HOSTS_JS = "return document.querySelectorAll('.buckaroo-tauri-host').length;"
# Marks the live host, so a remount (a fresh host) can be told from a grid kept as it was.
MARK_HOST_JS = "const h = document.querySelector('.buckaroo-tauri-host'); if (h) h.dataset.before = '1'; return !!h;"
# The widget gave no cleanup for its React tree (grid.ts marks it).
# How the grid's React tree ends: "yes" (the widget's cleanup), "root" (the root its render made), "none".
CLEANUP_JS = "return document.querySelector('.buckaroo-tauri-grid')?.dataset.cleanup;"
KEPT_HOST_JS = "return !!document.querySelector('.buckaroo-tauri-host[data-before]');"

# buckaroo's search box, as the page computes it; then again with every stylesheet that has a
# global `input, button` rule (create-tauri-app's App.css) turned off. Also a host button's
# radius, to show that rule is live outside the grid.
FORM_STYLE_JS = """
const box = document.querySelector('.ag-cell[col-id="search"] input');
if (!box) return null;
const props = ['padding-left', 'padding-top', 'border-top-left-radius', 'border-top-width', 'box-shadow',
               'font-size', 'font-weight', 'background-color', 'height'];
const read = () => Object.fromEntries(props.map((p) => [p, getComputedStyle(box).getPropertyValue(p)]));
const globalRule = (s) => {
  try { return [...s.cssRules].some((r) => /^input,\\s*button$/.test(r.selectorText || '')); } catch { return false; }
};
const sheets = [...document.styleSheets].filter(globalRule);
const withHost = read();
sheets.forEach((s) => { s.disabled = true; });
const withoutHost = read();
sheets.forEach((s) => { s.disabled = false; });
const open = document.getElementById('open');
return {withHost, withoutHost, hostSheets: sheets.length, openRadius: open && getComputedStyle(open).borderTopLeftRadius};
"""

# ~256 MiB of garbage, 1 MiB at a time: enough to make JavaScriptCore collect at least once.
GARBAGE_JS = "for (let i = 0; i < 256; i++) new Array(131072).fill(i); return true;"

_FULL_GC = re.compile(rb"GC<(0x[0-9a-f]+)>: START M \d+kb => FullCollection.*?=> (\d+)kb", re.S)


def add_toggle(app_tsx: Path) -> None:
    """A hot-reload edit of init's App.tsx: one hook more (Fast Refresh then remounts the
    component, and the grid with it) and `window.toggleGrid()` to hide and show the grid."""
    text = app_tsx.read_text()
    edits = [
        ('  const [file, setFile] = useState("");\n',
         '  const [file, setFile] = useState("");\n  const [shown, setShown] = useState(true);\n'
         '  (window as unknown as { toggleGrid: () => void }).toggleGrid = () => setShown((v) => !v);\n'),
        ("        <BuckarooGrid\n", "        {shown && (\n        <BuckarooGrid\n"),
        ("        />\n      </main>", "        />\n        )}\n      </main>"),
    ]
    for old, new in edits:
        if text.count(old) != 1:
            raise AssertionError(f"App.tsx no longer has {old!r}: update add_toggle")
        text = text.replace(old, new)
    app_tsx.write_text(text)


def full_collections(log: Path, since: int) -> list[tuple[str, int]]:
    """(heap, KiB live after it) of every full collection logged past byte `since`."""
    with open(log, "rb") as f:
        f.seek(since)
        return [(m.group(1).decode(), int(m.group(2))) for m in _FULL_GC.finditer(f.read())]


def settled_heap_kib(driver, log: Path, timeout: float = 60) -> int:
    """The page's JS heap: what JavaScriptCore kept after the collection the garbage
    causes (a full one: the dev launcher turns generational collection off), in the
    largest heap the web process logs, the page's."""
    since = log.stat().st_size
    driver.execute_script(GARBAGE_JS)
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        found = full_collections(log, since)
        if found:
            time.sleep(2)  # more may follow: the last one is after all the garbage
            found = full_collections(log, since)
            page = max(found, key=lambda hk: hk[1])[0]
            return [kib for heap, kib in found if heap == page][-1]
        time.sleep(0.5)
    raise AssertionError(f"no full collection logged in {timeout:.0f} s ({log})")
