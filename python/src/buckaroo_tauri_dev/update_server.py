"""A loopback update server for tauri-plugin-updater: `latest.json` and one package,
both replaceable while it runs, every request recorded. Stops and starts again on
the same port (a server that is down, then back), and stalls on request: the
manifest before its first byte, the package after `stall_after` bytes (a server or
network that hangs mid-body), until `recover()` or `stop()`."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class UpdateServer:
    port: int
    #: The manifest served at /latest.json (None: 204, no update).
    manifest: dict | None = None
    #: The file served at /package.deb.
    package: Path | None = None
    requests: list[str] = field(default_factory=list)
    #: Stall the package after this many bytes (its full Content-Length is announced).
    stall_after: int | None = None
    #: Stall the manifest before it answers.
    stall_manifest: bool = False
    _server: ThreadingHTTPServer | None = None
    _released: threading.Event = field(default_factory=threading.Event)

    def recover(self) -> None:
        """The stalls end: stalled replies are dropped, new ones are served whole."""
        self.stall_after, self.stall_manifest = None, False
        self._released.set()
        self._released = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def offer(self, version: str, package: Path, signature: str, notes: str = "") -> None:
        """Announce `version` for Debian packages: `package`, signed `signature`."""
        self.package = package
        self.manifest = {"version": version, "notes": notes, "pub_date": "2026-12-01T00:00:00Z",
                         "platforms": {"linux-x86_64-deb": {"signature": signature, "url": f"{self.url}/package.deb"}}}

    def start(self) -> UpdateServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                if self.path == "/latest.json" and outer.stall_manifest:
                    outer._released.wait()
                    return None
                if self.path == "/latest.json" and outer.manifest is not None:
                    return self._send(json.dumps(outer.manifest).encode(), "application/json")
                if self.path == "/latest.json":
                    self.send_response(204)
                    return self.end_headers()
                if self.path == "/package.deb" and outer.package is not None:
                    return self._send(outer.package.read_bytes(), "application/vnd.debian.binary-package")
                self.send_error(404)

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                stall = outer.stall_after if kind != "application/json" else None
                if stall is None:
                    return self.wfile.write(body)
                self.wfile.write(body[:stall])
                self.wfile.flush()
                outer._released.wait()  # the connection stays open, sending nothing

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
