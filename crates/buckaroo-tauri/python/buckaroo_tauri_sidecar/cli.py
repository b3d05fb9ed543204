"""The server: the CLI contract of `python -m buckaroo.server` (`--port 0 --no-browser
--stdio-control`, `BUCKAROO_PORT=<n>` as the only stdout line, exit on stdin EOF), with
the token read from the environment, logs to stderr (one line per event, level from
--log-level; a file only with --log-file) and TCP_NODELAY on every connection."""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading

from .app import checked_app
from .contract import (
    ALLOW_QUERY_TOKEN_ENV,
    EXIT_BAD_TOKEN,
    EXIT_OK,
    HANDSHAKE_PREFIX,
    LOG_LEVEL_ENV,
    PG_CONNECT_TIMEOUT_S,
    PG_STATEMENT_TIMEOUT_S,
    TOKEN_ENV,
    TOKEN_MIN_CHARS,
)
from .sorted_copies import SORTED_COPIES, remove_stale_sorted_copies
from .util import log
from .warm_up import warm_xorq


def _parse_args(argv: list[str]):
    import argparse

    parser = argparse.ArgumentParser(prog="buckaroo-tauri-sidecar")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--stdio-control", action="store_true")
    parser.add_argument("--log-level", default=os.environ.get(LOG_LEVEL_ENV, "WARNING"))
    parser.add_argument("--log-file")
    return parser.parse_args(argv)


def _setup_logging(level: str, log_file: str | None) -> None:
    """One line per event on stderr; a file only when asked for."""
    sys.stdout.reconfigure(line_buffering=True)
    handlers = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(level=level.upper(), handlers=handlers, force=True,
                        format="%(levelname)s %(name)s: %(message)s")
    # xorq logs to its own file (~/.config/xorq/xorq.log); through ours its import would
    # also copy the working directory's whole `git diff` onto stderr, once per load.
    logging.getLogger("xorq").propagate = False
    # The plugin asks /health every second (its liveness check): at INFO, one access
    # line a second would push a crash's traceback out of the stderr tail it keeps.
    logging.getLogger("tornado.access").addFilter(lambda record: "/health" not in record.getMessage())


def _after_handshake() -> None:
    warm_xorq(then=SORTED_COPIES.warm)
    threading.Thread(target=remove_stale_sorted_copies, daemon=True, name="stale-copies").start()


def remote_engine_timeouts() -> None:
    """Connect and statement timeouts for PostgreSQL, through libpq's environment (xorq's
    postgres backend passes neither, and opens a connection per row window): a server
    that stops answering fails a connect in PGCONNECT_TIMEOUT instead of libpq's
    forever, and a runaway statement ends server-side. The user's own values win."""
    os.environ.setdefault("PGCONNECT_TIMEOUT", str(PG_CONNECT_TIMEOUT_S))
    options = os.environ.get("PGOPTIONS", "")
    if "statement_timeout" not in options:
        os.environ["PGOPTIONS"] = f"{options} -c statement_timeout={PG_STATEMENT_TIMEOUT_S}s".strip()


def _start_stdin_watchdog() -> None:
    """Exit as soon as stdin reaches EOF: the plugin holds it open, so this is the
    app's death, however it died."""
    def watchdog():
        try:
            while sys.stdin.read(1):
                pass
        finally:
            SORTED_COPIES.remove_all()
            os._exit(EXIT_OK)
    threading.Thread(target=watchdog, daemon=True, name="stdin-watchdog").start()


def collect_from_now() -> None:
    """The collector back on (__main__.py turns it off for the start). What the start made
    (modules, the app) lives as long as the process: it is kept out of every later
    collection, so the first ones after the start do not walk it all."""
    gc.freeze()
    gc.enable()


def _listen(app, port: int, then=lambda: None) -> None:
    """Bind 127.0.0.1, print the handshake line, call `then`, run the loop until the
    process ends."""
    import tornado.httpserver
    import tornado.ioloop
    import tornado.netutil

    class NoDelayServer(tornado.httpserver.HTTPServer):
        def handle_stream(self, stream, address):
            stream.set_nodelay(True)  # HTTP replies (/load, /health); WebSockets: see ws_handler
            return super().handle_stream(stream, address)

    sockets = tornado.netutil.bind_sockets(port, address="127.0.0.1")
    port = sockets[0].getsockname()[1]
    app.settings["port"] = port
    server = NoDelayServer(app, max_buffer_size=64 * 1024 * 1024)
    server.add_sockets(sockets)
    log.info("listening on 127.0.0.1:%d", port)
    collect_from_now()
    print(f"{HANDSHAKE_PREFIX}{port}")
    then()
    tornado.ioloop.IOLoop.current().start()


def serve(argv: list[str]) -> int:
    args = _parse_args(argv)
    _setup_logging(args.log_level, args.log_file)

    # Read and drop the secret: nothing this process starts inherits it.
    token = os.environ.pop(TOKEN_ENV, "")
    allow_query_token = os.environ.pop(ALLOW_QUERY_TOKEN_ENV, "") == "1"
    if len(token) < TOKEN_MIN_CHARS:
        print(f"buckaroo-tauri-sidecar: {TOKEN_ENV} must hold a secret of {TOKEN_MIN_CHARS}+ characters", file=sys.stderr)
        return EXIT_BAD_TOKEN

    remote_engine_timeouts()
    app = checked_app(token, allow_query_token)
    if isinstance(app, int):
        return app
    # After the checks above, so their exit codes are never pre-empted by stdin EOF.
    if args.stdio_control:
        _start_stdin_watchdog()
    try:
        _listen(app, args.port, then=_after_handshake)
    finally:
        SORTED_COPIES.remove_all()
    return EXIT_OK
