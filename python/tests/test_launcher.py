"""The crate's secure sidecar launcher against the real buckaroo (issue: token,
TCP_NODELAY, logs, safe WebSocket handling, refusal of unknown internals)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from buckaroo_tauri_dev import contract
from buckaroo_tauri_dev.server import TOKEN_HEADER, launcher_command, launcher_server


@pytest.fixture(scope="module")
def srv():
    with launcher_server() as s:
        yield s


def status_of(url: str, headers: dict[str, str] | None = None, method: str = "GET", body: bytes | None = None) -> int:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


ROUTES = [("GET", "/health"), ("GET", "/diagnostics"), ("POST", "/load"), ("GET", "/static/widget.js"),
          ("GET", "/s/anything"), ("POST", "/load_expr"), ("POST", "/load_compare"), ("GET", "/nope")]


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("token", [None, "wrong", "x" * 64])
def test_every_route_needs_the_token(srv, samples, method, path, token):
    body = json.dumps({"path": str(samples["tiny.parquet"])}).encode() if method == "POST" else None
    headers = {} if token is None else {TOKEN_HEADER: token}
    assert status_of(srv.base + path, headers, method, body) == 403


def test_the_right_token_reaches_buckaroo(srv):
    assert status_of(srv.base + "/health", srv.headers) == 200
    assert status_of(srv.base + "/static/widget.js", srv.headers) == 200


@pytest.mark.parametrize("headers", [{}, {TOKEN_HEADER: "wrong"}])
def test_websocket_upgrade_needs_the_token(srv, headers):
    _, before = srv.request("GET", "/diagnostics")
    with pytest.raises(InvalidStatus) as info:
        connect(f"ws://127.0.0.1:{srv.port}/ws/{uuid.uuid4().hex}", additional_headers=headers, open_timeout=10)
    assert info.value.response.status_code == 403
    # Nothing reached buckaroo: an accepted upgrade to an unknown id would create a session.
    _, after = srv.request("GET", "/diagnostics")
    assert after["sessions"]["active"] == before["sessions"]["active"]


def test_rejected_requests_never_create_sessions(samples):
    with launcher_server() as s:
        for _ in range(3):
            status_of(s.base + "/load", {}, "POST", json.dumps({"path": str(samples["tiny.parquet"])}).encode())
            with pytest.raises(InvalidStatus):
                connect(f"ws://127.0.0.1:{s.port}/ws/{uuid.uuid4().hex}", open_timeout=10)
        _, diag = s.request("GET", "/diagnostics")
        assert diag["sessions"]["active"] == 0


def test_non_object_message_gets_an_error_and_the_socket_stays_open(srv, samples):
    with srv.loaded(samples["tiny.parquet"]) as ws:
        ws.send("[1, 2]")
        err = ws.next_of_type("error")
        assert err["error_code"] == "invalid_message"
        ws.send("42")
        assert ws.next_of_type("error")["error_code"] == "invalid_message"
        resp, parquet = ws.rows(0, 10)
        assert parquet is not None and resp["length"] == 50


def test_no_tracebacks_reach_the_client(srv, samples):
    with srv.loaded(samples["tiny.parquet"]) as ws:
        resp, _ = ws.rows(0, 10, sort="zz")
    assert "Traceback" not in resp["error_info"]
    assert resp["error_info"] == "KeyError: 'zz'"


def test_tracebacks_with_debug_flag(samples):
    with launcher_server(extra_env={"BUCKAROO_DEBUG": "1"}) as s, s.loaded(samples["tiny.parquet"]) as ws:
        resp, _ = ws.rows(0, 10, sort="zz")
    assert "Traceback" in resp["error_info"]


def test_logs_go_to_stderr_not_stdout_and_token_is_not_in_argv(samples):
    s = launcher_server(extra_env={"BUCKAROO_TAURI_LOG_LEVEL": "INFO"}).start()
    try:
        s.load(samples["tiny.parquet"], mode="viewer")
        status_of(s.base + "/health")  # a 403, logged
        with open(f"/proc/{s.proc.pid}/cmdline", "rb") as f:
            assert s.headers[TOKEN_HEADER].encode() not in f.read(), "the token must never be in argv"
    finally:
        s.proc.stdin.close()
        s.proc.wait(timeout=10)
    out = s.proc.stdout.read()
    assert out == "", out
    s.wait_for_stderr("listening on 127.0.0.1")
    s.wait_for_stderr("403 GET /health")


def test_stdin_eof_exits():
    s = launcher_server().start()
    t0 = time.monotonic()
    s.proc.stdin.close()
    assert s.proc.wait(timeout=10) == 0
    assert time.monotonic() - t0 < 5


def test_short_or_missing_token_refuses_to_start():
    args, env = launcher_command({"PATH": "/usr/bin", "BUCKAROO_TAURI_TOKEN": "short"})
    out = subprocess.run([sys.executable, *args, "--port", "0", "--stdio-control"],
                         input="", capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 2 and "32+" in out.stderr and out.stdout == ""


def test_unrecognised_internals_are_refused(tmp_path):
    # A fake buckaroo whose server package lacks make_app, first on sys.path.
    pkg = tmp_path / "site" / "buckaroo"
    (pkg / "server").mkdir(parents=True)
    version = contract.tested_buckaroo()  # a supported version, so the launcher gets as far as the internals
    (pkg / "__init__.py").write_text(f"__version__ = '{version}'\n")
    (pkg / "server" / "__init__.py").write_text("")
    dist = tmp_path / "site" / f"buckaroo-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: buckaroo\nVersion: {version}\n")
    import os
    args, env = launcher_command({**os.environ, "PYTHONPATH": str(tmp_path / "site"), "BUCKAROO_TAURI_TOKEN": "t" * 64})
    out = subprocess.run([sys.executable, *args, "--port", "0", "--stdio-control"],
                         input="", capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 3, out.stderr
    assert "internals not recognised" in out.stderr and "with_plain_server" in out.stderr
    assert out.stdout == ""
