"""buckaroo's own Tornado application, wrapped: the token checked before routing, the
launcher's handlers on buckaroo's routes, its hooks installed (patches.py).

A per-launch secret from the environment (BUCKAROO_TAURI_TOKEN, never argv) is required
on every HTTP request and WebSocket upgrade (header X-Buckaroo-Token); anything else
gets 403 `forbidden` before any buckaroo handler runs.
"""

from __future__ import annotations

import json
import os
import sys
from types import SimpleNamespace

from . import patches
from .cell_copy import make_copy_handler
from .contract import EXIT_UNSUPPORTED, FORBIDDEN, LOAD_TIMEOUT_ENV, TESTED_BUCKAROO, TOKEN_HEADER, supported
from .db_loads import DbLoads, make_db_handlers
from .exports import Exports, make_export_handlers
from .expr_loads import EngineFileLoads, ExprLoads, make_reload_expr_handler
from .loads import DEFAULT_LOAD_TIMEOUT, LOADS_SETTING, FileLoads, PendingLoads, make_load_handler
from .probe import installed_version
from .util import Unsupported, error, log
from .warm_up import WARM_UP
from .window_pool import FairPool
from .ws_handler import EXPORTS_SETTING, WINDOW_WORKERS_SETTING, make_ws_handler


def _buckaroo_server():
    """buckaroo's make_app and the classes the launcher wraps; Unsupported when they are
    not the ones it was written against."""
    try:
        from buckaroo.server.app import make_app
        from buckaroo.server.handlers import LoadExprHandler, LoadHandler, ReloadExprHandler
        from buckaroo.server.session import SessionState
        from buckaroo.server.websocket_handler import DataStreamHandler
    except ImportError as exc:
        raise Unsupported(f"buckaroo.server.app.make_app / LoadHandler / DataStreamHandler not found: {exc}") from exc
    for helper in ("_parse_request_body", "_validate_request", "_push_state_to_clients"):
        if not callable(getattr(LoadHandler, helper, None)):
            raise Unsupported(f"LoadHandler.{helper} is missing")
    if not callable(getattr(LoadExprHandler, "_parse_request_body", None)):
        raise Unsupported("LoadExprHandler._parse_request_body is missing")
    return SimpleNamespace(make_app=make_app, LoadHandler=LoadHandler, SessionState=SessionState,
                           DataStreamHandler=DataStreamHandler, LoadExprHandler=LoadExprHandler,
                           ReloadExprHandler=ReloadExprHandler)


def make_authed_application(token: str, allow_query_token: bool):
    """A tornado Application class that answers 403 before routing unless the request
    carries the token."""
    import hmac

    import tornado.web

    class Forbidden(tornado.web.RequestHandler):
        def prepare(self):
            self.set_status(403)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(error(FORBIDDEN, "missing or wrong sidecar token")))

    class AuthedApplication(tornado.web.Application):
        def find_handler(self, request, **kwargs):
            WARM_UP.busy()
            given = request.headers.get(TOKEN_HEADER, "")
            if not given and allow_query_token:
                # Benchmark builds only: a page's WebSocket cannot send headers.
                given = request.query_arguments.get("token", [b""])[0].decode(errors="replace")
            if not hmac.compare_digest(given.encode(), token.encode()):
                log.warning("403 %s %s from %s (bad token)", request.method, request.path, request.remote_ip)
                return self.get_handler_delegate(request, Forbidden)
            return super().find_handler(request, **kwargs)

    return AuthedApplication


def build_app(token: str, allow_query_token: bool = False, load_timeout: float = DEFAULT_LOAD_TIMEOUT):
    """buckaroo's Application, wrapped: auth before routing, safer WebSocket handler,
    loads (files and xorq builds) in worker threads, sniffed readers, coded row-window
    errors."""

    server = _buckaroo_server()
    patches.install_readers()
    patches.install_window_errors()
    patches.install_cells()
    patches.install_broadcast_hold()
    patches.install_stat_checks()
    inner = server.make_app(port=0, open_browser=False)
    engine = EngineFileLoads(server.LoadExprHandler)
    patches.replace_routes(inner, {
        server.DataStreamHandler: make_ws_handler(server.DataStreamHandler),
        server.LoadHandler: make_load_handler(server.LoadHandler, server.SessionState,
                                               FileLoads(engine, DbLoads(server.LoadExprHandler))),
        server.LoadExprHandler: make_load_handler(server.LoadExprHandler, server.SessionState, ExprLoads()),
        server.ReloadExprHandler: make_reload_expr_handler(server.ReloadExprHandler)})
    # The routes' handlers get `inner` as their application, so its settings are theirs.
    inner.settings[LOADS_SETTING] = PendingLoads(load_timeout)
    inner.settings[WINDOW_WORKERS_SETTING] = FairPool()
    inner.settings[EXPORTS_SETTING] = Exports()
    patches.add_routes(inner, make_export_handlers() + make_copy_handler()
                       + make_db_handlers(server.LoadExprHandler, server.SessionState))
    app = make_authed_application(token, allow_query_token)(**inner.settings)
    app.wildcard_router = inner.wildcard_router
    app.default_router = inner.default_router
    return app


def load_timeout() -> float:
    raw = os.environ.get(LOAD_TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_LOAD_TIMEOUT
    except ValueError:
        value = 0
    if value > 0:
        return value
    log.warning("%s=%r is not a positive number of seconds; using %g", LOAD_TIMEOUT_ENV, raw, DEFAULT_LOAD_TIMEOUT)
    return DEFAULT_LOAD_TIMEOUT


def checked_app(token: str, allow_query_token: bool):
    """The wrapped app, or the exit code (with its message on stderr) when this buckaroo
    is not one the launcher supports."""
    # The plugin ran the full probe before spawning us; only the version matters here.
    version = installed_version("buckaroo")
    if not supported(version):
        print(f"buckaroo-tauri-sidecar: buckaroo {version} is not supported by this launcher "
              f"(tested: {TESTED_BUCKAROO}); use the plain server "
              f"(BuckarooConfig::with_plain_server)", file=sys.stderr)
        return EXIT_UNSUPPORTED
    try:
        return build_app(token, allow_query_token, load_timeout())
    except Unsupported as exc:
        print(f"buckaroo-tauri-sidecar: buckaroo {version} internals not recognised ({exc}); "
              "use the plain server (BuckarooConfig::with_plain_server)", file=sys.stderr)
        return EXIT_UNSUPPORTED
