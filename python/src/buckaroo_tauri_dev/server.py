"""Spawn a real buckaroo server the way the plugin does, and talk to it.

Used by the contract tests (which pin upstream behaviour the plugin relies on),
the fixture recorder and the benchmarks. Standard library + websockets only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

HANDSHAKE_PREFIX = "BUCKAROO_PORT="
# The launcher package, and the folder the plugin puts on PYTHONPATH to run it (in the
# app, a cache copy of it).
LAUNCHER_PATH_ENTRY = Path(__file__).resolve().parents[3] / "crates" / "buckaroo-tauri" / "python"
LAUNCHER_PACKAGE = "buckaroo_tauri_sidecar"
LAUNCHER = LAUNCHER_PATH_ENTRY / LAUNCHER_PACKAGE
TOKEN_HEADER = "X-Buckaroo-Token"


def server_of_kind(kind: str) -> BuckarooServer:
    """`plain`: buckaroo's own `python -m buckaroo.server`; `launcher`: ours."""
    return BuckarooServer() if kind == "plain" else launcher_server()


def launcher_command(env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """How the plugin runs the launcher: the arguments after the interpreter
    (`-m buckaroo_tauri_sidecar`; the launcher's own follow), and `env` (default: this
    process's) with the package's folder first on PYTHONPATH, before the user's own, and
    PYTHONSAFEPATH=1 (nothing in the working directory shadows a module)."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(LAUNCHER_PATH_ENTRY), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    env["PYTHONSAFEPATH"] = "1"
    return ["-m", LAUNCHER_PACKAGE], env


def launcher_module(name: str) -> Any:
    """A module of the launcher package (`contract`, `probe`, `xorq_windows`, ...),
    imported in this process from the crate's folder."""
    import importlib

    if str(LAUNCHER_PATH_ENTRY) not in sys.path:
        sys.path.append(str(LAUNCHER_PATH_ENTRY))
    return importlib.import_module(f"{LAUNCHER_PACKAGE}.{name}")


def launcher_server(**kw: Any) -> BuckarooServer:
    """The crate's secure launcher, run exactly as the plugin runs it (launcher_command)
    with a fresh token in the environment and on every request; `extra_env` is the
    environment the plugin was started in (its PYTHONPATH comes after the launcher's)."""
    import secrets

    token = secrets.token_hex(32)
    args, env = launcher_command({**os.environ, **kw.pop("extra_env", {})})
    return BuckarooServer(
        module_args=args,
        extra_env={**env, "BUCKAROO_TAURI_TOKEN": token},
        headers={TOKEN_HEADER: token},
        **kw,
    )


@dataclass
class BuckarooServer:
    """A `python -m buckaroo.server --port 0 --no-browser --stdio-control` child.

    stdin is a pipe held open for the child's life: EOF is the server's signal to exit.
    """

    python: str = sys.executable
    module_args: list[str] = field(default_factory=lambda: ["-m", "buckaroo.server"])
    extra_env: dict[str, str] = field(default_factory=dict)
    handshake_timeout: float = 30.0
    proc: subprocess.Popen | None = None
    port: int | None = None
    stdout_lines: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    # Read stderr as it comes (into stderr_lines, see wait_for_stderr), as the plugin does:
    # for tests that wait on a log line, and so a chatty log (xorq's) cannot fill the pipe
    # and stall the server mid-load.
    watch_stderr: bool = True
    stderr_lines: list[str] = field(default_factory=list)
    _stderr_changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def start(self) -> BuckarooServer:
        env = {**os.environ, **self.extra_env}
        self.proc = subprocess.Popen(
            [self.python, *self.module_args, "--port", "0", "--no-browser", "--stdio-control"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            start_new_session=True,
        )
        collector = threading.Thread(target=self._collect_stderr, daemon=True)
        if self.watch_stderr:
            collector.start()
        deadline = time.monotonic() + self.handshake_timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.watch_stderr:
                    collector.join(timeout=10)  # ends at the child's stderr EOF
                err = "".join(self.stderr_lines) if self.watch_stderr else self.proc.stderr.read()
                raise RuntimeError(f"server exited before handshake (rc={self.proc.wait()}): {err[-2000:]}")
            self.stdout_lines.append(line)
            if line.startswith(HANDSHAKE_PREFIX):
                self.port = int(line.strip()[len(HANDSHAKE_PREFIX):])
                return self
        self.stop()
        raise TimeoutError("no BUCKAROO_PORT line within the handshake timeout")

    def _collect_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._stderr_changed:
                self.stderr_lines.append(line)
                self._stderr_changed.notify_all()

    def wait_for_stderr(self, text: str, timeout: float = 60.0) -> str:
        """The first stderr line containing `text`, waiting for it (needs watch_stderr)."""
        assert self.watch_stderr, "start the server with watch_stderr=True"

        def found() -> str | None:
            return next((line for line in self.stderr_lines if text in line), None)
        with self._stderr_changed:
            if not self._stderr_changed.wait_for(found, timeout):
                raise TimeoutError(f"no stderr line with {text!r}; last lines: {self.stderr_lines[-5:]}")
            return found()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()

    def __enter__(self) -> BuckarooServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP ----------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=dict(self.headers))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def request_in_background(self, method: str, path: str, body: Any = None,
                              timeout: float = 300.0) -> BackgroundRequest:
        """`request` in a thread, for a reply that cannot come until the test acts."""
        pending = BackgroundRequest()

        def run() -> None:
            try:
                pending.result = self.request(method, path, body, timeout)
            except BaseException as exc:  # noqa: BLE001 - re-raised by wait()
                pending.error = exc
            pending.done.set()
        threading.Thread(target=run, daemon=True).start()
        return pending

    def load(self, path: str | Path, mode: str = "buckaroo", session: str | None = None, **extra: Any) -> dict:
        body = {"path": str(path), "mode": mode, "no_browser": True, **extra}
        if session:
            body["session"] = session
        status, reply = self.request("POST", "/load", body)
        if status != 200:
            raise RuntimeError(f"/load {status}: {reply}")
        return reply

    def loaded(self, path: str | Path, mode: str = "buckaroo") -> Session:
        """A fresh session with `path` loaded (/load's reply kept as `load_reply`), its
        socket open and initial_state consumed."""
        session = uuid.uuid4().hex
        reply = self.load(path, mode=mode, session=session)
        ws = self.ws(session)
        ws.load_reply = reply
        ws.initial_state = ws.next_of_type("initial_state")
        return ws

    def ws(self, session: str, timeout: float = 30.0, caps: str = "") -> Session:
        """`caps="stats_update"` as the plugin sends: deferred stats come after the rows
        (a client without it gets them computed before its initial_state)."""
        conn = connect(
            f"ws://127.0.0.1:{self.port}/ws/{session}" + (f"?caps={caps}" if caps else ""),
            additional_headers=dict(self.headers),
            open_timeout=timeout,
            max_size=None,
        )
        return Session(conn, timeout)


@dataclass
class BackgroundRequest:
    done: threading.Event = field(default_factory=threading.Event)
    result: tuple[int, Any] | None = None
    error: BaseException | None = None

    def wait(self, timeout: float = 300.0) -> tuple[int, Any]:
        if not self.done.wait(timeout):
            raise TimeoutError("request not answered")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@dataclass
class Session:
    conn: ClientConnection
    timeout: float
    initial_state: dict | None = None
    load_reply: dict | None = None

    def recv(self) -> str | bytes:
        return self.conn.recv(timeout=self.timeout)

    def recv_json(self) -> dict:
        frame = self.recv()
        assert isinstance(frame, str), f"expected a text frame, got {len(frame)} binary bytes"
        return json.loads(frame)

    def send(self, msg: Any) -> None:
        self.conn.send(msg if isinstance(msg, str) else json.dumps(msg))

    def next_of_type(self, kind: str) -> dict:
        while True:
            msg = self.recv_json()
            if msg.get("type") == kind:
                return msg

    def rows(self, start: int, end: int, **payload: Any) -> tuple[dict, bytes | None]:
        """One row window; returns (infinite_resp, parquet bytes or None)."""
        self.send({"type": "infinite_request", "payload_args": {"start": start, "end": end, **payload}})
        resp = self.next_of_type("infinite_resp")
        if (resp.get("payload") or {}).get("format") == "parquet_buffer":
            frame = self.recv()
            assert isinstance(frame, bytes), "parquet_buffer reply must be followed by a binary frame"
            return resp, frame
        return resp, None

    def no_frame_within(self, seconds: float) -> bool:
        try:
            self.conn.recv(timeout=seconds)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
