"""A loopback update server for tauri-plugin-updater: `latest.json` and one package,
both replaceable while it runs, every request recorded. Stops and starts again on
the same port (a server that is down, then back)."""

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
    _server: ThreadingHTTPServer | None = None

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
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
