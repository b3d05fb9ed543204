"""Scrolling as the user sees it: the grid's viewport is scrolled to a row, and the time
until that row shows its data is taken, in the app and in buckaroo's own browser page,
same file, same positions, one script for both. `scrolling` is the bench's `scroll` section.
"""

from __future__ import annotations

import contextlib
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

from . import e2e, e2e_page, e2e_procs
from .bench_common import BENCH_BINARY, stats
from .server import BuckarooServer

# Where a scroll's time goes: each path's page notes (in `window.__scrollSteps`) when the
# grid asked for rows and when a reply reached the grid. The app's through its model; the
# browser page's through its WebSocket (a request sent, a binary reply's bytes read).
APP_STEPS_JS = """
window.__scrollSteps = [];
const model = window.__buckaroo.model;
const send = model.send.bind(model);
model.send = (msg) => { if (msg.type === 'infinite_request') window.__scrollSteps.push(['asked', performance.now()]); return send(msg); };
model.on('msg:custom', (msg) => { if (msg.type === 'infinite_resp') window.__scrollSteps.push(['arrived', performance.now()]); });
"""
BROWSER_STEPS_JS = """
window.__scrollSteps = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data === 'string' && data.includes('"infinite_request"')) window.__scrollSteps.push(['asked', performance.now()]);
  return send.call(this, data);
};
const data = Object.getOwnPropertyDescriptor(MessageEvent.prototype, 'data');
Object.defineProperty(MessageEvent.prototype, 'data', {get() {
  const v = data.get.call(this);
  if (typeof v !== 'string' && !this.__noted) { this.__noted = true; window.__scrollSteps.push(['arrived', performance.now()]); }
  return v;
}});
"""

# Scroll the data grid so row `target` is near the top, then wait (each animation frame)
# until every row in view shows its data: column `a` (the sample's `id`) must read the
# row's own index, anything else is a wrong row, reported as such. With the steps above
# installed, each scroll also says when its first request and first reply came.
SCROLL_JS = e2e_page.DATA_GRID_JS + """
const [positions, settleMs, done] = arguments;
const steps = window.__scrollSteps || [];
const firstAfter = (kind, t0) => { const s = steps.find(([k, t]) => k === kind && t >= t0); return s ? s[1] - t0 : null; };
const root = dataGrid();
const viewport = root && root.querySelector('.ag-body-viewport');
const rows = () => [...root.querySelectorAll('.ag-center-cols-container .ag-row')];
if (!viewport || !rows().length) { done({error: 'no painted grid to scroll'}); return; }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Rows in view, [index, painted, id shown]; null while the scroll has not moved the view.
function inView(target) {
  const box = viewport.getBoundingClientRect();
  const seen = rows().filter((r) => { const b = r.getBoundingClientRect(); return b.bottom > box.top + 1 && b.top < box.bottom - 1; })
    .map((r) => [Number(r.getAttribute('row-index')), !r.classList.contains('ag-row-loading'),
                 (r.querySelector('.ag-cell[col-id="a"]')?.textContent || '').replace(/[^0-9]/g, '')]);
  return seen.some(([i]) => Math.abs(i - target) < 200) ? seen : null;
}
(async () => {
  const out = [], asked = [], arrived = [];
  const rowHeight = viewport.scrollHeight / 100000;
  for (const target of positions) {
    await sleep(settleMs);
    const t0 = performance.now();
    viewport.scrollTop = target * rowHeight;
    const r = await new Promise((resolve) => {
      const look = () => {
        const seen = inView(target);
        const wrong = seen && seen.find(([i, ok, id]) => ok && id && id !== String(i));
        if (wrong) resolve({error: `row ${wrong[0]} showed id ${wrong[2]}`});
        else if (seen && seen.every(([, ok, id]) => ok && id)) resolve({ms: performance.now() - t0});
        else if (performance.now() - t0 > 20000) resolve({error: `rows near ${target} not painted within 20 s: ${JSON.stringify(seen)}`});
        else requestAnimationFrame(look);
      };
      look();
    });
    if (r.error) { done(r); return; }
    out.push(r.ms);
    asked.push(firstAfter('asked', t0));
    arrived.push(firstAfter('arrived', t0));
  }
  done({ms: out, asked, arrived});
})().catch((e) => done({error: String(e)}));
"""


def positions(n: int, rows: int, seed: int = 7) -> list[int]:
    """`n` rows to scroll to, far enough apart that each needs a block the grid has not
    fetched yet (the widget caches what it fetched)."""
    rng = random.Random(seed)
    picked: list[int] = []
    while len(picked) < n:
        p = rng.randrange(0, rows - 100)
        if all(abs(p - q) > 2_000 for q in picked):
            picked.append(p)
    return picked


def measure(driver, targets: list[int], steps_js: str, settle_ms: int = 400) -> dict:
    """Scroll → painted per target (`ms`), and the steps: scroll → first row request
    (`asked`) and → first reply at the grid (`arrived`), where the page saw them."""
    driver.execute_script(steps_js)
    out = driver.execute_async_script(SCROLL_JS, targets, settle_ms)
    if "error" in out:
        raise SystemExit(f"scroll bench: {out['error']}")
    return out


def in_app(driver, targets: list[int]) -> dict:
    """In a running app whose grid shows the sample."""
    print("[bench] scrolling: app", flush=True)
    return measure(driver, targets, APP_STEPS_JS)


def in_browser(sample, targets: list[int]) -> dict:
    """buckaroo's own page for the same file: buckaroo-server, /load, /s/<session> in
    headless Chromium."""
    print("[bench] scrolling: browser", flush=True)
    with chromium() as browser, buckaroo_page(browser, sample):
        browser.set_script_timeout(300)
        return measure(browser, targets, BROWSER_STEPS_JS)


@contextlib.contextmanager
def chromium() -> Iterator:
    """Headless Chromium through chromedriver, the app's window size; quit after."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,800"):
        opts.add_argument(arg)
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    try:
        yield browser
    finally:
        browser.quit()


@contextlib.contextmanager
def buckaroo_page(browser, sample) -> Iterator[None]:
    """buckaroo's browser path for `sample`: a fresh buckaroo-server, its /load, its
    /s/<session> page in `browser`, until rows are painted; the server stopped after."""
    srv = BuckarooServer().start()
    try:
        reply = srv.load(sample, mode="buckaroo")
        browser.get(f"{srv.base}/s/{reply['session']}")
        e2e_procs.wait_until(lambda: browser.execute_script(e2e_page.ROWS_PAINTED_JS), timeout=90, interval=0.02,
                             what="rows painted (browser)")
        yield
    finally:
        srv.stop()


def scrolling(display: str, env: dict[str, str], sample: Path, n: int) -> dict:
    """Scroll → the row painted, app and browser page, the same positions."""
    targets = positions(n, rows=100_000)
    with e2e.running_app(display, env, binary=BENCH_BINARY) as (d, _):
        d.set_script_timeout(600)
        e2e_procs.wait_until(lambda: d.execute_script(e2e_page.ROWS_PAINTED_JS), timeout=90, what="rows painted")
        app = in_app(d, targets)
    browser = in_browser(sample, targets)
    return {"positions": targets, "app": stats(app["ms"]), "browser": stats(browser["ms"]),
            "steps": {path: steps(out) for path, out in (("app", app), ("browser", browser))}}


def steps(out: dict) -> dict:
    """Medians of scroll → first request, → first reply at the grid, → painted."""
    def median(xs):
        xs = [x for x in xs if x is not None]
        return stats(xs)["median"] if xs else None
    return {"asked": median(out["asked"]), "arrived": median(out["arrived"]), "painted": median(out["ms"])}
