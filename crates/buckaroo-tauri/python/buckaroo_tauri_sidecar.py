"""buckaroo-tauri sidecar, run with the user's Python (`python -c <this file> ...`).

`--probe [--deep]` prints one JSON line describing whether this interpreter can run
the buckaroo server and what to install if not; standard library only, so it works
where buckaroo is missing or broken.

Otherwise it is a launcher for buckaroo's own Tornado application with the CLI
contract of `python -m buckaroo.server` (`--port 0 --no-browser --stdio-control`,
`BUCKAROO_PORT=<n>` as the only stdout line, exit on stdin EOF), plus:
- a per-launch secret from the environment (BUCKAROO_TAURI_TOKEN, never argv),
  required on every HTTP request and WebSocket upgrade (header X-Buckaroo-Token);
  anything else gets 403 before any buckaroo handler runs;
- TCP_NODELAY on every connection (no ~40 ms Nagle/delayed-ACK stall on small replies);
- logs to stderr, one line per event, level from --log-level; a file only with --log-file;
- a WebSocket message that is valid JSON but not an object gets an error reply
  instead of a dropped connection; tracebacks never reach the client unless
  BUCKAROO_DEBUG=1.
"""

from __future__ import annotations

import json
import logging
import os
import sys

TESTED_BUCKAROO = ("0.15.11",)
PIP_SPEC = '"buckaroo[server,polars]==0.15.11" six "pandas<3"'


def _version(dist: str) -> str | None:
    """Installed version from package metadata: no import, so the probe costs
    ~50 ms instead of the ~500 ms that importing pandas and buckaroo takes."""
    from importlib import metadata, util

    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
    return version if util.find_spec(dist) is not None else None


def probe(deep: bool = False) -> dict:
    info: dict = {
        "python": sys.executable,
        "python_version": ".".join(map(str, sys.version_info[:3])),
        "problems": [],
        "warnings": [],
        "pip": PIP_SPEC,
    }
    problems, warnings = info["problems"], info["warnings"]
    if sys.version_info < (3, 11):
        problems.append(f"Python {info['python_version']} is too old; buckaroo needs 3.11+")
    for mod in ("six", "tornado", "pandas"):
        info[mod] = _version(mod)
        if info[mod] is None:
            problems.append(f"{mod} is not installed")
    info["buckaroo"] = _version("buckaroo")
    if info["buckaroo"] is None:
        problems.append("buckaroo is not installed (or fails to import)")
    elif info["buckaroo"] not in TESTED_BUCKAROO:
        warnings.append(f"buckaroo {info['buckaroo']} is outside the tested versions {', '.join(TESTED_BUCKAROO)}")
    if info["pandas"] and info["pandas"].split(".")[0].isdigit() and int(info["pandas"].split(".")[0]) >= 3:
        problems.append(f"pandas {info['pandas']} breaks buckaroo's row serialisation; install pandas<3")
    if deep and info["buckaroo"] is not None and info["tornado"] is not None:
        try:
            import buckaroo.server.__main__  # noqa: F401
        except Exception as exc:  # noqa: BLE001
            problems.append(f"buckaroo.server does not import: {type(exc).__name__}: {exc}")
    info["ok"] = not problems
    return info


TOKEN_ENV = "BUCKAROO_TAURI_TOKEN"
TOKEN_HEADER = "X-Buckaroo-Token"
EXIT_UNSUPPORTED = 3


class Unsupported(RuntimeError):
    """buckaroo's internals are not what this launcher was written against."""


def _debug() -> bool:
    return os.environ.get("BUCKAROO_DEBUG", "") not in ("", "0", "false")


def _short_error(text: str) -> str:
    """The last line of a traceback ('KeyError: 'zz''), never the frames."""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1].strip() if len(lines) > 1 else str(text)


def build_app(token: str, allow_query_token: bool = False):
    """buckaroo's Application, wrapped: auth before routing, safer WebSocket handler."""
    import hmac

    import tornado.web
    import tornado.websocket

    try:
        from buckaroo.server.app import make_app
        from buckaroo.server.websocket_handler import DataStreamHandler
    except ImportError as exc:
        raise Unsupported(f"buckaroo.server.app.make_app / websocket_handler.DataStreamHandler not found: {exc}") from exc
    if not callable(getattr(DataStreamHandler, "on_message", None)):
        raise Unsupported("DataStreamHandler.on_message is missing")

    class SafeDataStreamHandler(DataStreamHandler):
        def open(self, *args, **kwargs):
            # Here, not when the connection is accepted: Tornado turns Nagle back on after
            # every HTTP response, the 101 upgrade included.
            self.set_nodelay(True)
            return super().open(*args, **kwargs)

        def on_message(self, message):
            if isinstance(message, str):
                try:
                    parsed = json.loads(message)
                except ValueError:
                    parsed = None  # buckaroo answers invalid JSON itself
                else:
                    if not isinstance(parsed, dict):
                        self.write_message(json.dumps({
                            "type": "error", "error_code": "invalid_message",
                            "message": "message must be a JSON object"}))
                        return None
            return super().on_message(message)

        def write_message(self, message, binary=False):
            needle = "Traceback" if isinstance(message, str) else b"Traceback"
            if not binary and not _debug() and isinstance(message, (str, bytes)) and needle in message:
                try:
                    msg = json.loads(message)
                except ValueError:
                    msg = None
                if isinstance(msg, dict):
                    for key in ("error_info", "message", "details"):
                        if isinstance(msg.get(key), str):
                            msg[key] = _short_error(msg[key])
                    message = json.dumps(msg)
            return super().write_message(message, binary=binary)

    class Forbidden(tornado.web.RequestHandler):
        def prepare(self):
            self.set_status(403)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error_code": "forbidden", "message": "missing or wrong sidecar token"}))

    class AuthedApplication(tornado.web.Application):
        def find_handler(self, request, **kwargs):
            given = request.headers.get(TOKEN_HEADER, "")
            if not given and allow_query_token:
                # Benchmark builds only: a page's WebSocket cannot send headers.
                given = request.query_arguments.get("token", [b""])[0].decode(errors="replace")
            if not hmac.compare_digest(given.encode(), token.encode()):
                logging.getLogger("buckaroo_tauri").warning(
                    "403 %s %s from %s (bad token)", request.method, request.path, request.remote_ip)
                return self.get_handler_delegate(request, Forbidden)
            return super().find_handler(request, **kwargs)

    inner = make_app(port=0, open_browser=False)
    replaced = 0
    for rule in inner.wildcard_router.rules:
        if getattr(rule, "target", None) is DataStreamHandler:
            rule.target = SafeDataStreamHandler
            replaced += 1
    if replaced != 1:
        raise Unsupported(f"expected one /ws/ route using DataStreamHandler, found {replaced}")
    app = AuthedApplication(**inner.settings)
    app.wildcard_router = inner.wildcard_router
    app.default_router = inner.default_router
    return app


def serve(argv: list[str]) -> int:
    import argparse
    import logging
    import threading

    parser = argparse.ArgumentParser(prog="buckaroo-tauri-sidecar")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--stdio-control", action="store_true")
    parser.add_argument("--log-level", default=os.environ.get("BUCKAROO_TAURI_LOG_LEVEL", "WARNING"))
    parser.add_argument("--log-file")
    args = parser.parse_args(argv)

    sys.stdout.reconfigure(line_buffering=True)
    handlers = [logging.StreamHandler(sys.stderr)]
    if args.log_file:
        handlers.append(logging.FileHandler(args.log_file))
    logging.basicConfig(level=args.log_level.upper(), handlers=handlers, force=True,
                        format="%(levelname)s %(name)s: %(message)s")

    # Read and drop the secret: nothing this process starts inherits it.
    token = os.environ.pop(TOKEN_ENV, "")
    allow_query_token = os.environ.pop("BUCKAROO_TAURI_ALLOW_QUERY_TOKEN", "") == "1"
    if len(token) < 32:
        print(f"buckaroo-tauri-sidecar: {TOKEN_ENV} must hold a secret of 32+ characters", file=sys.stderr)
        return 2

    # The plugin ran the full probe before spawning us; only the version matters here.
    version = _version("buckaroo")
    if version is None or not version.startswith("0.15."):
        print(f"buckaroo-tauri-sidecar: buckaroo {version} is not supported by this launcher "
              f"(tested: {', '.join(TESTED_BUCKAROO)}); use the plain server "
              f"(BuckarooConfig::with_plain_server)", file=sys.stderr)
        return EXIT_UNSUPPORTED
    try:
        app = build_app(token, allow_query_token)
    except Unsupported as exc:
        print(f"buckaroo-tauri-sidecar: buckaroo {version} internals not recognised ({exc}); "
              "use the plain server (BuckarooConfig::with_plain_server)", file=sys.stderr)
        return EXIT_UNSUPPORTED

    # After the checks above, so their exit codes are never pre-empted by stdin EOF.
    if args.stdio_control:
        def watchdog():
            try:
                while sys.stdin.read(1):
                    pass
            finally:
                os._exit(0)
        threading.Thread(target=watchdog, daemon=True, name="stdin-watchdog").start()

    import tornado.httpserver
    import tornado.ioloop
    import tornado.netutil

    class NoDelayServer(tornado.httpserver.HTTPServer):
        def handle_stream(self, stream, address):
            stream.set_nodelay(True)  # HTTP replies (/load, /health); WebSockets: see open()
            return super().handle_stream(stream, address)

    sockets = tornado.netutil.bind_sockets(args.port, address="127.0.0.1")
    port = sockets[0].getsockname()[1]
    app.settings["port"] = port
    server = NoDelayServer(app, max_buffer_size=64 * 1024 * 1024)
    server.add_sockets(sockets)
    logging.getLogger("buckaroo_tauri").info("listening on 127.0.0.1:%d", port)
    print(f"BUCKAROO_PORT={port}")
    tornado.ioloop.IOLoop.current().start()
    return 0


def main(argv: list[str]) -> int:
    if "--probe" in argv:
        print(json.dumps(probe(deep="--deep" in argv)), flush=True)
        return 0
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
