"""The soak's page-side script, started in each of the app's windows through WebDriver.

It runs by itself until its deadline, on the grid's own path: row windows through the
page's model (`model.send`, the datasource's call; replies on `msg:custom`), sorts as the
grid asks for them (`sort` / `sort_direction` in the window's args), searches as buckaroo's
search box sets them (`quick_command_args.search`, `save_changes`). It keeps, per minute,
the latency of every answered window, and counts what was sent, answered, failed (by
code), never answered and answered with a wrong row count. `window.__soak.result()`
returns it all.
"""

# Arguments: a config object (see soak.WindowPlan.config). Returns at once; the loop runs on.
START_JS = """
const cfg = arguments[0];
const model = window.__buckaroo.model;
let seed = cfg.seed >>> 0;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const t0 = performance.now();
const s = {sent: 0, answered: 0, late: 0, wrongRows: 0, errors: {}, actions: {scroll: 0, sort: 0, search: 0},
           perMinute: [], searchMs: [], pending: new Map(), done: false, crash: null};
const minute = () => Math.floor((performance.now() - t0) / 60000);
const bucket = () => (s.perMinute[minute()] ||= {ms: [], errors: 0});
let sort = null, searched = false, rows = cfg.rows;

// One key per in-flight slot (0..inFlight-1): the server's row cache stays bounded, as
// the grid's repeated block requests keep it.
const keyOf = (a) => [a.soak, a.start, a.end, a.sort || '', a.sort_direction || ''].join('|');
model.on('msg:custom', (msg) => {
  if (msg.type !== 'infinite_resp' || !msg.key || msg.key.soak === undefined) return;
  const p = s.pending.get(keyOf(msg.key));
  if (!p) { s.late += 1; return; }
  s.pending.delete(keyOf(msg.key));
  s.answered += 1;
  const b = bucket();
  if (msg.error_info) {
    const code = String(msg.error_code || 'uncoded');
    s.errors[code] = (s.errors[code] || []).concat([String(msg.error_info).slice(0, 200)]).slice(-5);
    b.errors += 1;
  } else {
    b.ms.push(performance.now() - p.t);
    // Unsearched, every window counts the whole table; searched, at most that.
    if (searched ? msg.length > cfg.rows : msg.length !== cfg.rows) s.wrongRows += 1;
    rows = msg.length;
  }
  p.resolve();
});

function request(slot, size) {
  const blocks = Math.max(1, Math.floor(rows / size));
  const start = size * Math.floor(rand() * blocks);
  const a = {soak: slot, start, end: start + size};
  if (sort) Object.assign(a, sort);
  return new Promise((resolve) => {
    s.pending.set(keyOf(a), {t: performance.now(), resolve});
    s.sent += 1;
    model.send({type: 'infinite_request', payload_args: a});
    // An unanswered window stays in `pending`; the loop goes on after the row deadline.
    setTimeout(resolve, cfg.waitMs);
  });
}

async function scroll() {
  s.actions.scroll += 1;
  const size = pick(cfg.sizes);
  await Promise.all(Array.from({length: cfg.inFlight}, (_, i) => request(i, size)));
}

async function search() {
  s.actions.search += 1;
  const state = model.get('buckaroo_state');
  searched = !searched;
  const changed = new Promise((resolve) => {
    const h = () => { model.off('change:df_meta', h); resolve(); };
    model.on('change:df_meta', h);
    setTimeout(resolve, cfg.waitMs);
  });
  const t = performance.now();
  model.set('buckaroo_state', {...state, quick_command_args: searched ? {search: [pick(cfg.terms)]} : {}});
  model.save_changes();
  await changed;
  s.searchMs.push(performance.now() - t);
  rows = searched ? rows : cfg.rows;
}

(async () => {
  while (performance.now() - t0 < cfg.durationMs) {
    const r = rand();
    if (r < cfg.searchShare && cfg.terms.length) await search();
    else if (r < cfg.searchShare + cfg.sortShare) {
      s.actions.sort += 1;
      sort = cfg.sortColumns.length && rand() < 0.75
        ? {sort: pick(cfg.sortColumns), sort_direction: rand() < 0.5 ? 'asc' : 'desc'} : null;
    } else await scroll();
    await new Promise((r) => setTimeout(r, cfg.pauseMs));
  }
})().catch((e) => { s.crash = String(e && e.stack || e); }).finally(() => { s.done = true; });

window.__soak = {
  result: () => ({
    sent: s.sent, answered: s.answered, late: s.late, unanswered: s.pending.size, wrongRows: s.wrongRows,
    errors: s.errors, actions: s.actions, perMinute: s.perMinute, searchMs: s.searchMs, done: s.done, crash: s.crash,
  }),
};
"""

RESULT_JS = "return window.__soak ? window.__soak.result() : null;"
