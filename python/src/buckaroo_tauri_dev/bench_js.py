"""The bench's page-side scripts, run in the app's webview through WebDriver: row windows
through the plugin and through a direct socket (WINDOWS_JS), bursts of row requests
(BURST_JS), the adapter's startup marks (PAGE_MARKS_JS), and scrolling to a row
(SCROLL_TO_ROW_JS, ROW_PAINTED_JS)."""

from .e2e_page import DATA_GRID_JS

# One page-side script: times `send` → DataView delivered, through the plugin (the page's
# TauriIPCModel) or through a direct WebSocket from the same page to the same sidecar.
WINDOWS_JS = """
const [path, args, n, ep, session, done] = arguments;
const model = window.__buckaroo.model;
const tagged = (a) => ({...a, tag: Math.random().toString(36).slice(2)});
function viaPlugin(a) {
  return new Promise((resolve) => {
    const pa = tagged(a);
    const h = (msg, bufs) => {
      if (!msg.key || msg.key.tag !== pa.tag) return;
      model.off('msg:custom', h);
      resolve({ms: performance.now() - t0, bytes: bufs[0] ? bufs[0].byteLength : 0, err: msg.error_info || null, length: msg.length});
    };
    model.on('msg:custom', h);
    const t0 = performance.now();
    window.__TAURI_INTERNALS__.invoke('plugin:buckaroo-tauri|buckaroo_send', {msg: {type: 'infinite_request', payload_args: pa}})
      .catch((e) => { model.off('msg:custom', h); resolve({ms: -1, bytes: 0, err: JSON.stringify(e)}); });
  });
}
async function directSocket() {
  if (window.__benchWs && window.__benchWs.readyState === 1) return window.__benchWs;
  const ws = new WebSocket(`ws://127.0.0.1:${ep.port}/ws/${session}?token=${ep.token}`);
  ws.binaryType = 'arraybuffer';
  ws.pending = new Map();
  ws.onmessage = (m) => {
    if (typeof m.data === 'string') {
      const msg = JSON.parse(m.data);
      if (msg.type !== 'infinite_resp' || !msg.key || !ws.pending.has(msg.key.tag)) return;
      if (msg.payload && msg.payload.format === 'parquet_buffer') ws.stash = msg;
      else { const p = ws.pending.get(msg.key.tag); ws.pending.delete(msg.key.tag); p(msg, null); }
    } else if (ws.stash) {
      const msg = ws.stash; ws.stash = null;
      const p = ws.pending.get(msg.key.tag); ws.pending.delete(msg.key.tag); p(msg, new DataView(m.data));
    }
  };
  await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
  window.__benchWs = ws;
  return ws;
}
async function viaDirect(a) {
  const ws = await directSocket();
  const pa = tagged(a);
  return new Promise((resolve) => {
    const t0 = performance.now();
    ws.pending.set(pa.tag, (msg, view) =>
      resolve({ms: performance.now() - t0, bytes: view ? view.byteLength : 0, err: msg.error_info || null, length: msg.length}));
    ws.send(JSON.stringify({type: 'infinite_request', payload_args: pa}));
  });
}
(async () => {
  const out = {plugin: [], direct: []};
  for (let i = 0; i < n; i++) {
    const a = args[i % args.length];
    // Interleaved, order alternating, so both paths see the same machine.
    const order = i % 2 ? ['direct', 'plugin'] : ['plugin', 'direct'];
    for (const p of order) out[p].push(await (p === 'plugin' ? viaPlugin(a) : viaDirect(a)));
  }
  done(out);
})().catch((e) => done({error: String(e)}));
"""

BURST_JS = """
// `count` row requests in flight together. distinct: random windows with unique keys
// (throughput); otherwise block-aligned windows that repeat, as scrolling does, so
// buckaroo's row cache (keyed by request) stays bounded.
const [count, size, distinct, done] = arguments;
const model = window.__buckaroo.model;
const batch = distinct ? 'b' + Math.random().toString(36).slice(2) : 'scroll';
let left = count, bytes = 0, errors = 0;
const t0 = performance.now();
const h = (msg, bufs) => {
  if (!msg.key || msg.key.bench !== batch) return;
  bytes += bufs[0] ? bufs[0].byteLength : 0;
  if (msg.error_info) errors++;
  if (--left === 0) { model.off('msg:custom', h); done({ms: performance.now() - t0, bytes, errors}); }
};
model.on('msg:custom', h);
for (let i = 0; i < count; i++) {
  const start = distinct ? Math.floor(Math.random() * (100000 - size)) : size * Math.floor(Math.random() * (100000 / size));
  const payload_args = distinct ? {start, end: start + size, bench: batch, i} : {start, end: start + size, bench: batch};
  window.__TAURI_INTERNALS__.invoke('plugin:buckaroo-tauri|buckaroo_send', {msg: {type: 'infinite_request', payload_args}});
}
"""

# The adapter's User Timing marks (marks.ts), as epoch seconds.
PAGE_MARKS_JS = """
const prefix = 'buckaroo-tauri:';
const out = {origin: performance.timeOrigin / 1000};
for (const m of performance.getEntriesByType('mark'))
  if (m.name.startsWith(prefix)) out[m.name.slice(prefix.length)] = (performance.timeOrigin + m.startTime) / 1000;
return out;
"""

# Tauri's floor under a row reply (the bench build's `bench_channel`): an invoke with a
# Channel and no message, an invoke with one raw message of `bytes` bytes, and an invoke
# whose own reply is those bytes (how `buckaroo_poll` answers), each timed from the call
# to the bytes in JS; interleaved, `n` of each.
FLOOR_JS = """
const [bytes, n, done] = arguments;
(async () => {
  const invoke = window.__TAURI_INTERNALS__.invoke;
  // A Channel per call: Rust numbers a Channel's messages from 0 each time it is passed,
  // and the page's Channel waits for the number it expects next.
  const channel = (onmessage) => { const ch = window.__buckaroo.model.channel(); ch.onmessage = onmessage; return ch; };
  const out = {noop: [], raw: [], reply: [], bytes: 0};
  for (let i = 0; i < n; i++) {
    let t0 = performance.now();
    await invoke('bench_channel', {bytes: 0, on: channel(() => {})});
    out.noop.push(performance.now() - t0);
    let arrived;
    const got = new Promise((r) => { arrived = r; });
    const ch = channel((m) => arrived(m));
    t0 = performance.now();
    await invoke('bench_channel', {bytes, on: ch});
    const m = await got;
    out.raw.push(performance.now() - t0);
    out.bytes = m.byteLength;
    ch.onmessage = () => {};
    t0 = performance.now();
    const r = await invoke('bench_channel', {bytes, on: channel(() => {}), reply: true});
    out.reply.push(performance.now() - t0);
    if (r.byteLength !== bytes) throw new Error(`invoke reply of ${r.byteLength} bytes, not ${bytes}`);
  }
  done(out);
})().catch((e) => done({error: String(e && e.stack || e)}));
"""

# Scroll buckaroo's data grid to row `row` (AG Grid caps its scroll height and stretches: by fraction).
SCROLL_TO_ROW_JS = DATA_GRID_JS + """
const [row] = arguments;
const vp = dataGrid().querySelector('.ag-body-viewport');
const total = (window.__buckaroo.model.get('df_meta') || {}).total_rows || 1;
vp.scrollTop = Math.round(row / total * (vp.scrollHeight - vp.clientHeight));
vp.dispatchEvent(new Event('scroll'));
"""

# Whether row `row` of the data grid shows its data.
ROW_PAINTED_JS = DATA_GRID_JS + """
const [row] = arguments;
const root = dataGrid();
const cell = root && root.querySelector(`.ag-center-cols-container .ag-row[row-index="${row}"] .ag-cell[col-id="a"]`);
return Boolean(cell && cell.textContent.trim());
"""
