"""A web page in the user's browser that finds the sidecar's port must not be able to
read data through it. Headless Chromium, a page on another origin, the real server.
Against buckaroo's plain server the same page *does* get rows: the test can fail."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
import uuid

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from buckaroo_tauri_dev.server import server_of_kind

ATTACK_PAGE = """<!doctype html><meta charset="utf-8"><title>attack</title><script>
async function attack(base, wsBase, path, session) {
  const out = {loadStatus: null, wsOpened: false, messages: [], binary: 0};
  try {
    // A "simple" request: no preflight, the server runs it even though the page cannot read the reply.
    const r = await fetch(base + '/load', {method: 'POST', mode: 'no-cors', body: JSON.stringify({path, session, mode: 'viewer'})});
    out.loadStatus = r.type;
  } catch (e) { out.loadStatus = 'error ' + e; }
  await new Promise((resolve) => {
    const ws = new WebSocket(wsBase + '/ws/' + session);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => { out.wsOpened = true; ws.send(JSON.stringify({type: 'infinite_request', payload_args: {start: 0, end: 5}})); };
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') out.messages.push(JSON.parse(m.data).type); else { out.binary += 1; ws.close(); }
    };
    ws.onclose = () => resolve();
    ws.onerror = () => {};
    setTimeout(resolve, 5000);
  });
  return out;
}
</script>"""


@pytest.fixture(scope="module")
def attacker_origin(tmp_path_factory):
    root = tmp_path_factory.mktemp("attacker")
    (root / "index.html").write_text(ATTACK_PAGE)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    httpd.shutdown()


@pytest.fixture(scope="module")
def chromium():
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver:
        pytest.fail("chromium / chromedriver missing: run `make setup`")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    browser = webdriver.Chrome(service=Service(driver), options=opts)
    browser.set_script_timeout(30)
    yield browser
    browser.quit()


@pytest.mark.parametrize("kind", ["plain", "launcher"])
def test_other_origin_cannot_read_rows(kind, chromium, attacker_origin, samples):
    with server_of_kind(kind) as srv:
        chromium.get(attacker_origin)
        session = "evil" + uuid.uuid4().hex
        out = chromium.execute_async_script(
            "const [b, w, p, s, done] = arguments; attack(b, w, p, s).then(done);",
            srv.base, f"ws://127.0.0.1:{srv.port}", str(samples["tiny.parquet"]), session,
        )
        _, diag = srv.request("GET", "/diagnostics")
    print(kind, json.dumps(out))
    if kind == "plain":
        # Documents the hole the launcher closes: the page loads a file and reads rows.
        assert out["wsOpened"] and "initial_state" in out["messages"] and out["binary"] >= 1, out
    else:
        assert not out["wsOpened"], out
        assert out["messages"] == [] and out["binary"] == 0, out
        assert diag["sessions"]["active"] == 0, "the page's /load reached buckaroo"
