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
  BUCKAROO_DEBUG=1;
- `/load` runs buckaroo's own load handler in a worker thread (one per load), so a
  slow or stuck file never stalls other windows or /health; replies and WebSocket
  pushes stay on the event loop. A load times out after BUCKAROO_TAURI_LOAD_TIMEOUT
  seconds (default 120; 504 `load_timeout`), is cancelled by a newer load of the
  same session or by its window closing (409 `load_cancelled`), and a FIFO, device
  or socket is refused before anything opens it (400 `invalid_file`). A load that
  did not finish in time never touches the session;
- CSV/TSV read as a spreadsheet shows them: UTF-8 BOM dropped, `,` `;` or tab
  sniffed, decimal commas (`1,5`, `-2.000,25`) turned into numbers in `;` and tab
  files; `.jsonl`/`.ndjson` read as JSON lines;
- every failed row window carries an `error_code` (`serialization_failed` with the
  offending `column`, else `row_request_failed`);
- `/load_expr` (a xorq build) runs in a worker like `/load`; without a working xorq it
  and `/reload_expr` answer 501 `xorq_not_installed`, a build whose data cannot be read
  422 `expr_unreadable`, and its row windows come in a total order (see "xorq
  expressions");
- a big file (or any, with `backend: "xorq"`) opens on xorq's embedded engine: rows
  first, stats after, windows as polars slices or sorted copies (see "files on the
  engine"); expression windows and stats run off the event loop.

Test seam: with BUCKAROO_TAURI_TEST_LOAD_GATE=1, a load of `<path>` first reads
`<path>.gate` (when it exists) to EOF in its worker (a /load_expr: `<build_dir>.gate`),
so tests can hold a load the way a FIFO or a hung network mount holds open().
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from contextvars import ContextVar
from types import SimpleNamespace
from typing import NamedTuple

# The buckaroo version this launcher was tested against. The source of truth is
# TESTED_BUCKAROO in crates/buckaroo-tauri/src/sidecar.rs; python/tests/test_drift.py
# fails when this copy (or any other) disagrees.
TESTED_BUCKAROO = "0.15.11"
PIP_SPEC = f'"buckaroo[server,polars]=={TESTED_BUCKAROO}" six "pandas<3"'
# What /load_expr and big files need on top (optional: files load without them); duckdb
# writes the sorted copies of big files (see "Sorted windows").
XORQ_PIP = f'"buckaroo[server,polars,xorq]=={TESTED_BUCKAROO}" duckdb==2.0.1 six "pandas<3"'


def supported(version: str | None) -> bool:
    """Same minor as the tested version (0.15.x for 0.15.11): the adapter's rule too."""
    minor = ".".join(TESTED_BUCKAROO.split(".")[:2])
    return version is not None and version.startswith(minor + ".")


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
        "xorq_pip": XORQ_PIP,
    }
    problems, warnings = info["problems"], info["warnings"]
    if sys.version_info < (3, 11):  # noqa: UP036 - the probe runs under any Python, to say so
        problems.append(f"Python {info['python_version']} is too old; buckaroo needs 3.11+")
    for mod in ("six", "tornado", "pandas"):
        info[mod] = _version(mod)
        if info[mod] is None:
            problems.append(f"{mod} is not installed")
    info["buckaroo"] = _version("buckaroo")
    if info["buckaroo"] is None:
        problems.append("buckaroo is not installed (or fails to import)")
    elif info["buckaroo"] != TESTED_BUCKAROO:
        warnings.append(f"buckaroo {info['buckaroo']} is outside the tested versions {TESTED_BUCKAROO}")
    if info["pandas"] and info["pandas"].split(".")[0].isdigit() and int(info["pandas"].split(".")[0]) >= 3:
        problems.append(f"pandas {info['pandas']} breaks buckaroo's row serialisation; install pandas<3")
    if deep and info["buckaroo"] is not None and info["tornado"] is not None:
        try:
            import buckaroo.server.__main__  # noqa: F401
        except Exception as exc:  # noqa: BLE001
            problems.append(f"buckaroo.server does not import: {type(exc).__name__}: {exc}")
    # Optional (only /load_expr needs it), so never a problem.
    info["xorq"] = _version("xorq")
    if deep and info["xorq"] is not None:
        try:
            import xorq.api  # noqa: F401
        except Exception as exc:  # noqa: BLE001
            warnings.append(f"xorq {info['xorq']} does not import (/load_expr will answer 501): "
                            f"{type(exc).__name__}: {exc}")
    info["ok"] = not problems
    return info


TOKEN_ENV = "BUCKAROO_TAURI_TOKEN"
TOKEN_HEADER = "X-Buckaroo-Token"
EXIT_UNSUPPORTED = 3
LOAD_TIMEOUT_ENV = "BUCKAROO_TAURI_LOAD_TIMEOUT"
DEFAULT_LOAD_TIMEOUT = 120.0
TEST_LOAD_GATE_ENV = "BUCKAROO_TAURI_TEST_LOAD_GATE"
LOADS_SETTING = "buckaroo_tauri_loads"  # application setting holding the PendingLoads

log = logging.getLogger("buckaroo_tauri")


class Unsupported(RuntimeError):
    """buckaroo's internals are not what this launcher was written against."""


def _debug() -> bool:
    return os.environ.get("BUCKAROO_DEBUG", "") not in ("", "0", "false")


def _short_error(text: str) -> str:
    """The last line of a traceback ('KeyError: 'zz''), never the frames."""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1].strip() if len(lines) > 1 else str(text)


def _error(code: str, message: str) -> dict:
    """buckaroo's own shape for a refused HTTP request."""
    return {"error_code": code, "message": message}


def _replace(module, name: str, wrap) -> None:
    """Swap `module.name` (a buckaroo function, looked up at call time by its callers)
    for `wrap(original)`: the hook points below, without touching buckaroo's files."""
    original = getattr(module, name, None)
    if not callable(original):
        raise Unsupported(f"{module.__name__}.{name} not found")
    if not getattr(original, "_buckaroo_tauri_hook", False):
        hooked = wrap(original)
        hooked._buckaroo_tauri_hook = True
        setattr(module, name, hooked)


# -- Reading files --------------------------------------------------------------------
# buckaroo reads CSV with pd.read_csv defaults: a `;` file (what spreadsheets export in
# most of Europe) comes out as one column, and its serializer then fails on every row
# window. The readers below replace buckaroo's `load_file` (and the polars ones) where
# its load handler calls them, so the session's frame, and so every sort, search and
# stat computed from it later, is the sniffed one.

SNIFF_BYTES = 64 * 1024
DELIMITED = (".csv", ".tsv")
JSON_LINES = (".jsonl", ".ndjson")
# A number written with a decimal comma: `1,5`, `-2.000,25` (`.` thousands), `7`.
DECIMAL_COMMA = r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?"


def sniff_separator(path: str) -> str:
    """`,`, `;` or tab, from csv.Sniffer on the first 64 KiB; the extension when the
    sample says nothing (one column, empty file)."""
    import csv

    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    # errors="replace": a multi-byte character cut at 64 KiB must not stop the sniffing.
    text = head.decode("utf-8-sig", errors="replace")
    if len(head) == SNIFF_BYTES and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # whole lines only
    try:
        return csv.Sniffer().sniff(text, delimiters=",;\t").delimiter
    except csv.Error:
        return "\t" if path.lower().endswith(".tsv") else ","


def _decimal_comma_to_float(df):
    """Text columns whose every value is a decimal-comma number become floats. Only
    for `;` and tab files: there a comma cannot be a separator, so `1,5` is 1.5."""
    import pandas as pd

    for name in df.columns[df.dtypes == object]:  # noqa: E721 - a pandas dtype, not a type check
        text = df[name].dropna()
        if text.empty or not all(isinstance(v, str) for v in text.iloc[:100]):
            continue
        text = text.str.strip()
        # The first 100 values reject almost every text column before the full scan.
        if not text.iloc[:100].str.fullmatch(DECIMAL_COMMA).all():
            continue
        if not text.str.fullmatch(DECIMAL_COMMA).all() or not text.str.contains(",", regex=False).any():
            continue  # `1.000` alone could be one or a thousand: leave it as written
        plain = df[name].str.strip().str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        df[name] = pd.to_numeric(plain).astype(float)
    return df


def read_delimited(path: str):
    import pandas as pd

    sep = sniff_separator(path)
    # utf-8-sig: a UTF-8 BOM is not part of the first column's name.
    df = pd.read_csv(path, sep=sep, encoding="utf-8-sig")
    return _decimal_comma_to_float(df) if sep in (";", "\t") else df


def read_json_lines(path: str):
    """One JSON object per line. Python's json rather than pandas': pandas' reader drops
    a lone UTF-16 surrogate (half an emoji, as a JavaScript slice() leaves it) without
    a word and refuses integers wider than 64 bits; this keeps the values as written."""
    import pandas as pd

    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"line {number} is not JSON: {exc}") from exc
            if not isinstance(record, dict):
                raise ValueError(f"line {number} is not a JSON object")
            records.append(record)
    if not records:
        raise ValueError("No JSON records in file")  # ValueError: buckaroo answers 400 invalid_file
    return pd.DataFrame(records)


def _extension(path) -> str:
    return os.path.splitext(path)[1].lower() if isinstance(path, str) else ""


def _pandas_reader(load_file):
    def load_file_sniffed(path):
        ext = _extension(path)
        if ext in DELIMITED:
            return read_delimited(path)
        if ext in JSON_LINES:
            return read_json_lines(path)
        return load_file(path)
    return load_file_sniffed


def _polars_reader(read_csv, load):
    """A polars loader that gets the sniffed separator (polars drops a BOM itself; it has
    no per-column decimal-comma rule, so those columns stay text in lazy/polars modes)."""
    def load_sniffed(path):
        if _extension(path) in DELIMITED:
            return read_csv(path, separator=sniff_separator(path))
        return load(path)
    return load_sniffed


def install_readers() -> None:
    from buckaroo.server import handlers

    _replace(handlers, "load_file", _pandas_reader)
    try:
        import polars as pl
        from buckaroo.server import data_loading_polars
    except ImportError:
        return  # no polars: lazy mode and backend=polars answer missing_dependency themselves
    _replace(handlers, "load_file_lazy", lambda load: _polars_reader(pl.scan_csv, load))
    _replace(data_loading_polars, "load_file_polars", lambda load: _polars_reader(pl.read_csv, load))


# -- Row windows ----------------------------------------------------------------------
# buckaroo answers a window it cannot serialize with `length: 0` and a traceback, which
# the grid shows as empty rows. The serializer hook below names the column (tried one by
# one, only once the whole window failed), and the dispatch hook turns that into a coded
# error frame; SafeDataStreamHandler.write_message codes every other failed window.


class WindowSerializationError(ValueError):
    def __init__(self, column, reason: str):
        self.column = None if column is None else str(column)
        where = "this row window" if column is None else f"column {self.column!r}"
        super().__init__(f"{where} cannot be serialized: {reason}")


def _reason(exc: Exception) -> str:
    # fastparquet names the column by its wire name ("b"); keep only its cause.
    return str(exc).split("Original error: ", 1)[-1] or type(exc).__name__


def _blame_column(df, to_parquet):
    """(column, reason) of the first column that fails on its own; column None when the
    index alone fails too (then no column is to blame)."""
    for column in [None, *df.columns]:
        try:
            to_parquet(df[[]] if column is None else df[[column]])
        except Exception as exc:  # noqa: BLE001 - whatever stopped the whole window
            return column, _reason(exc)
    return None, None


_WINDOW_FAILURE: ContextVar = ContextVar("buckaroo_tauri_window_failure", default=None)


def _window_serializer(to_parquet):
    def to_parquet_or_blame(df):
        try:
            return to_parquet(df)
        except Exception as exc:
            column, reason = _blame_column(df, to_parquet)
            failure = WindowSerializationError(column, reason or _reason(exc))
            _WINDOW_FAILURE.set(failure)  # buckaroo mode swallows the exception; see _coded_dispatch
            raise failure from exc
    return to_parquet_or_blame


def _coded_dispatch(dispatch):
    """A row-window handler (`(frame_or_dataflow, payload_args, ...)`) whose serialization
    failure comes back as buckaroo's error frame plus error_code and column."""
    def dispatch_coded(*args, **kwargs):
        token = _WINDOW_FAILURE.set(None)
        try:
            try:
                resp, parquet = dispatch(*args, **kwargs)
            except WindowSerializationError:
                resp, parquet = None, b""  # viewer mode lets it escape
            failure = _WINDOW_FAILURE.get()
        finally:
            _WINDOW_FAILURE.reset(token)
        if failure is None:
            return resp, parquet
        log.warning("row window not sent: %s", failure)
        return {"type": "infinite_resp", "key": args[1], "length": 0, "error_info": str(failure),
                "error_code": "serialization_failed", "column": failure.column}, b""
    return dispatch_coded


def install_window_errors() -> None:
    from buckaroo.server import data_loading, websocket_handler

    _replace(data_loading, "to_parquet", _window_serializer)
    for name in ("handle_infinite_request", "handle_infinite_request_buckaroo"):
        _replace(websocket_handler, name, _coded_dispatch)


def _tidy_frame(message):
    """A text frame as the page gets it: tracebacks cut to their last line (unless
    BUCKAROO_DEBUG), and an error_code on every failed row window. Parsed only when
    one of the two applies (buckaroo writes str frames; bytes are decoded only then)."""
    if isinstance(message, bytes):
        if b"Traceback" not in message and b'"error_info"' not in message:
            return message
        text = message.decode(errors="replace")
    else:
        text = message
    uncoded = text.startswith('{"type": "infinite_resp"') and '"error_info"' in text
    traceback_inside = "Traceback" in text and not _debug()
    if not (uncoded or traceback_inside):
        return message
    try:
        msg = json.loads(text)
    except ValueError:
        return message
    if not isinstance(msg, dict):
        return message
    if traceback_inside:
        for key in ("error_info", "message", "details"):
            if isinstance(msg.get(key), str):
                msg[key] = _short_error(msg[key])
    if msg.get("type") == "infinite_resp" and "error_info" in msg:
        msg.setdefault("error_code", "row_request_failed")
    return json.dumps(msg)


# -- Loads off the event loop ---------------------------------------------------------
# buckaroo's LoadHandler.post is an `async def` with no await: the file is read and the
# stats computed on the loop, so one slow file (or a FIFO whose open() never returns)
# freezes every window. ThreadedLoadHandler runs that same post() in a thread against a
# staged copy of the session, then applies the staged fields and pushes initial_state
# on the loop, where everything Tornado and the sessions need stays. /load_expr
# (LoadExprHandler.post, also await-free) runs the same way: see "xorq expressions".


class _StagedSession:
    """The session as buckaroo's post sees it in the worker. Reads fall through to the
    live session (as it is); writes are kept aside for apply_to, on the loop. A load that
    is cancelled, times out or fails is never applied, so the session keeps its data."""

    def __init__(self, base):
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_changes", {})
        object.__setattr__(self, "_release_xorq", False)
        object.__setattr__(self, "broadcast", None)  # (args, kwargs) of broadcast_state, for the loop

    def __getattr__(self, name):
        changes = object.__getattribute__(self, "_changes")
        return changes[name] if name in changes else getattr(self._base, name)

    def __setattr__(self, name, value):
        self._changes[name] = value

    def release_xorq_state(self):
        object.__setattr__(self, "_release_xorq", True)  # the live session still serves rows

    def defer_broadcast(self, call) -> None:
        object.__setattr__(self, "broadcast", call)

    def changed(self, name: str) -> bool:
        return name in self._changes

    def apply_to(self, session) -> None:
        if self._release_xorq:
            session.release_xorq_state()
        changes = dict(self._changes)
        new_generation = changes.pop("stats_gen", None) is not None
        for name, value in changes.items():
            setattr(session, name, value)
        if new_generation:
            session.stats_gen += 1  # the worker bumped a snapshot; count changes made since


class _StagedSessions:
    """The `sessions` setting buckaroo's post gets in the worker."""

    def __init__(self, live, new_session):
        self._live, self._new_session = live, new_session
        self.staged = None

    def get(self, session_id):
        return self._live  # LoadExprHandler reads the session it may warm-exit on

    def get_or_create(self, session_id, path):
        self.staged = _StagedSession(self._live or self._new_session(session_id=session_id, path=path))
        self.staged.path = path
        return self.staged


class _BuckarooLoad:
    """Stands in for the request handler while buckaroo's LoadHandler.post runs in a
    worker: post only reads the body and the settings and calls set_status/write and its
    own helper methods, so those are captured here and nothing touches a socket."""

    def __init__(self, handler_cls, body: bytes, settings: dict, sessions: _StagedSessions,
                 failure=("load_error", "Failed to load file")):
        self.handler_cls, self.failure = handler_cls, failure
        self.request = SimpleNamespace(body=body)
        self.sessions = sessions
        self.application = SimpleNamespace(settings={**settings, "sessions": sessions})
        self.status, self.chunks, self.pushed_metadata = 200, [], None

    def __getattr__(self, name):
        # buckaroo's helpers (_validate_request, _load_file_with_error_handling, ...),
        # bound to this stand-in.
        if name.startswith("__") or name in ("handler_cls", "failure"):
            raise AttributeError(name)
        return getattr(self.handler_cls, name).__get__(self)

    def set_status(self, status, reason=None):
        self.status = status

    def write(self, chunk):
        self.chunks.append(chunk)

    def _push_state_to_clients(self, session, metadata):
        self.pushed_metadata = metadata  # pushed on the loop, once the load is applied

    def run(self) -> None:
        post = self.handler_cls.post(self)
        try:
            post.send(None)
        except StopIteration:
            return
        post.close()
        raise Unsupported("buckaroo's LoadHandler.post awaits; it cannot run in a worker")

    def crashed(self, tb: str) -> None:
        log.error("load crashed: %s", tb)
        self.status, self.chunks = 500, [{**_error(*self.failure),
                                          **({"details": tb} if _debug() else {})}]


class PendingLoad:
    """One /load between its start and its reply. Decided once: by the worker's result,
    the timeout, or a cancellation; whatever comes later is dropped."""

    def __init__(self, session_id: str, path: str):
        import asyncio

        self.session_id, self.path = session_id, path
        self.outcome = asyncio.get_running_loop().create_future()
        self.verdict = None

    def decide(self, verdict: str, status: int, chunks: list) -> bool:
        if self.outcome.done():
            return False
        self.verdict = verdict
        self.outcome.set_result((status, chunks))
        return True


class PendingLoads:
    """The load each session is waiting for (at most one: a newer load cancels it)."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._by_session: dict[str, PendingLoad] = {}

    def start(self, session_id: str, path: str) -> PendingLoad:
        import tornado.ioloop

        self.cancel(session_id, "a newer load of this session replaced it")
        load = PendingLoad(session_id, path)
        self._by_session[session_id] = load
        loop = tornado.ioloop.IOLoop.current()
        message = f"loading {path} did not finish within {self.timeout:g} s; the session keeps its previous data"
        timer = loop.call_later(self.timeout, load.decide, "timed out", 504, [_error("load_timeout", message)])

        def forget(_):
            loop.remove_timeout(timer)
            if self._by_session.get(session_id) is load:
                del self._by_session[session_id]
        load.outcome.add_done_callback(forget)
        return load

    def cancel(self, session_id: str, why: str) -> None:
        load = self._by_session.get(session_id)
        if load is None:
            return
        if load.decide("cancelled", 409, [_error("load_cancelled", f"load of {load.path} cancelled: {why}")]):
            log.info("load of %s for session=%s cancelled: %s", load.path, session_id, why)


def _special_file_refusal(path):
    """400 for a FIFO, device or socket: open() on a FIFO blocks until a writer comes,
    and a device never ends. Missing paths and the rest are buckaroo's to answer."""
    import stat

    if not isinstance(path, str):
        return None
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return _error("invalid_file", f"{path} is not a regular file")


def _wait_for_test_gate(path: str) -> None:
    if os.environ.get(TEST_LOAD_GATE_ENV) == "1" and isinstance(path, str) and os.path.exists(path + ".gate"):
        with open(path + ".gate", "rb") as gate:
            gate.read()


class Route(NamedTuple):
    """A load accepted on the loop: what runs in the worker, with which buckaroo handler
    (None: the route's own) and request body."""
    session_id: str
    path: str
    kind: FileLoads
    handler_cls: type | None = None
    body: dict | None = None


class FileLoads:
    """What ThreadedLoadHandler does around buckaroo's LoadHandler.post (/load)."""

    failure = ("load_error", "Failed to load file")

    def __init__(self, engine: EngineFileLoads | None = None):
        self.engine = engine

    def accept(self, handler, body):
        """On the loop: the Route to load in a worker, or None once answered."""
        session_id, path, *_ = handler._validate_request(body)  # buckaroo's own 400 replies
        if session_id is None:
            return None
        refusal = _special_file_refusal(path)
        if refusal is not None:
            handler.set_status(400)
            handler.write(refusal)
            return None
        routed = self.engine.route(handler, body, session_id, path) if self.engine is not None else None
        if routed is REFUSED:
            return None
        return routed or Route(session_id, path, self)

    def prepare(self, run) -> bool:
        """In the worker, before post: False once run holds the reply."""
        return True

    def finish(self, run) -> None:
        """In the worker, after post: may turn its reply into a refusal."""

    def push(self, handler, session, run) -> None:
        """On the loop, once the staged session is applied."""
        handler._push_state_to_clients(session, run.pushed_metadata or session.metadata)


BUCKAROO_ANSWERS = object()  # accept(): let buckaroo's post answer on the loop (a cheap refusal)
REFUSED = object()  # route(): the reply is written, nothing loads


def make_load_handler(LoadHandler, SessionState, kind=None):
    import asyncio
    import threading
    import traceback

    kind = kind or FileLoads()

    class ThreadedLoadHandler(LoadHandler):
        async def post(self):
            # Validation stays on the loop and is buckaroo's own (same 400 replies).
            body = self._parse_request_body()
            if body is None:
                return
            accepted = kind.accept(self, body)
            if accepted is BUCKAROO_ANSWERS:
                return await super().post()
            if accepted is None:
                return
            session_id, path, how = accepted.session_id, accepted.path, accepted.kind
            load = self.settings[LOADS_SETTING].start(session_id, path)
            sessions = _StagedSessions(self.settings["sessions"].get(session_id), SessionState)
            run = _BuckarooLoad(accepted.handler_cls or LoadHandler,
                                json.dumps({**(accepted.body or body), "session": session_id}).encode(),
                                self.settings, sessions, how.failure)
            threading.Thread(target=self._work, args=(load, run, how, asyncio.get_running_loop()),
                             name=f"load-{session_id[:12]}", daemon=True).start()
            status, chunks = await load.outcome
            self.set_status(status)
            for chunk in chunks:
                self.write(chunk)

        def _work(self, load, run, how, loop):
            # In this thread IOLoop.current() (buckaroo builds its telemetry sink with it)
            # must find the server's loop, not make a new one that never runs.
            asyncio.set_event_loop(loop)
            try:
                _wait_for_test_gate(load.path)
                if how.prepare(run):
                    try:
                        run.run()
                    finally:
                        how.finish(run)
            except BaseException:  # noqa: BLE001 - the reply must come whatever happened
                run.crashed(traceback.format_exc())
            loop.call_soon_threadsafe(self._settle, load, run, how)

        def _settle(self, load, run, how):
            """On the loop: apply and push a load that is still wanted, drop any other."""
            if load.outcome.done():
                log.info("load of %s for session=%s finished after it was %s; result discarded",
                         load.path, load.session_id, load.verdict)
                return
            try:
                if run.status == 200 and run.sessions.staged is not None:
                    session = self.settings["sessions"].get_or_create(load.session_id, load.path)
                    run.sessions.staged.apply_to(session)
                    how.push(self, session, run)
            except Exception:  # noqa: BLE001 - the load must still be answered
                run.crashed(traceback.format_exc())
            load.decide("done", run.status, run.chunks)

    return ThreadedLoadHandler


# -- xorq expressions -----------------------------------------------------------------
# /load_expr serves a xorq build directory (expr.yaml + reads/, from `xorq build`); each
# row window is a query on its expression. What the launcher changes:
# - the load runs in a worker like /load (ExprLoads: same timeout, cancel and staging;
#   buckaroo's broadcast_state is held until the staged session is applied);
# - when xorq.api does not import, /load_expr and /reload_expr answer 501
#   `xorq_not_installed` with the pip command (buckaroo answers 500 load_expr_error);
# - a build whose data cannot be read answers 422 `expr_unreadable` with the cause
#   (buckaroo answers 200 with rows 0, or 500 without a cause);
# - every row window is read in one fixed order: LIMIT/OFFSET alone on DataFusion's
#   parallel partitions returns rows in a different order each query, so paging
#   repeated some rows and never sent others. Unsorted windows on xorq's embedded engine
#   run on one partition (file order, as cheap as buckaroo's query); sorted windows, and
#   unsorted ones on any other engine, get tie-breakers (_total_order), which costs a
#   sort of the whole expression per window.

XORQ_UNREADABLE_STATUS = 422
_XORQ_LOCK = threading.Lock()
_XORQ_IMPORT: dict = {}
_EXPR_LOAD = threading.local()  # the worker's load_expr failure, if any


def xorq_import_error() -> str | None:
    """None when xorq.api imports, else why not. Tried once per process (the first
    import costs ~1 s; a failed one fails the same way until a restart)."""
    with _XORQ_LOCK:
        if "error" not in _XORQ_IMPORT:
            try:
                import xorq.api  # noqa: F401
                _XORQ_IMPORT["error"] = None
            except Exception as exc:  # noqa: BLE001 - broken counts as missing
                _XORQ_IMPORT["error"] = _short_error(f"{type(exc).__name__}: {exc}")
                log.warning("xorq does not import; /load_expr answers 501: %s", _XORQ_IMPORT["error"])
        return _XORQ_IMPORT["error"]


def _xorq_not_installed(error: str) -> dict:
    return _error("xorq_not_installed",
                  f"xorq does not import in this Python ({error}); install it with: pip install {XORQ_PIP}")


def _orderable(dtype) -> bool:
    """A type every engine can ORDER BY. Not orderable: arrays, structs, maps, JSON,
    geometry, intervals, null and unknown types. They are never sort keys, so rows that
    are equal on every orderable column are interchangeable: across a window boundary
    one of them may be sent twice and another not at all (they differ only in the
    columns that cannot be ordered)."""
    return (dtype.is_numeric() or dtype.is_string() or dtype.is_boolean() or dtype.is_temporal()
            or dtype.is_uuid() or dtype.is_binary()) and not dtype.is_interval()


def _total_order(expr, sort_col, ascending: bool) -> list:
    """ORDER BY keys that leave no two distinguishable rows tied: the requested sort
    column first, then every other orderable column (ascending) as tie-breakers."""
    keys = [] if sort_col is None else [expr[sort_col].asc() if ascending else expr[sort_col].desc()]
    return keys + [expr[name].asc() for name, dtype in expr.schema().items()
                   if name != sort_col and _orderable(dtype)]


TARGET_PARTITIONS = "datafusion.execution.target_partitions"
_PARTITION_LOCKS: dict = {}  # id(context) -> the lock its one-partition windows take


def _partition_lock(contexts) -> threading.Lock:
    """One lock per session context: windows of one session change its setting in turn;
    a slow scan in one session never waits for another's."""
    with _XORQ_LOCK:
        lock = _PARTITION_LOCKS.setdefault(id(contexts[0]), threading.Lock())
        while len(_PARTITION_LOCKS) > 256:
            _PARTITION_LOCKS.pop(next(iter(_PARTITION_LOCKS)))
        return lock


def _embedded_contexts(expr) -> list | None:
    """The SessionContexts of the xorq-datafusion backends `expr` reads, when they are
    all it runs on; None for anything else (other engines, remote tables, caches and
    memtables, whose queries run elsewhere too). Each load has its own backends, so
    their settings are the session's alone."""
    try:
        from xorq.common.utils.graph_utils import walk_nodes
        from xorq.expr.relations import CachedNode, RemoteTable
        from xorq.vendor.ibis.expr import operations as ops
    except ImportError:
        return None
    if walk_nodes((CachedNode, RemoteTable, ops.InMemoryTable), expr):
        return None
    backends = {id(table.source): table.source for table in walk_nodes(ops.DatabaseTable, expr)}
    if not backends or any(getattr(b, "name", None) != "xorq_datafusion" for b in backends.values()):
        return None
    return [b.con for b in backends.values()]


def _set_target_partitions(contexts, value: str | None) -> list | None:
    """Set target_partitions on every context (None: back to what it was); the previous
    values, or None when a context refused (then nothing is left changed)."""
    done = []
    try:
        for ctx in contexts:
            rows = ctx.sql(f"SELECT value FROM information_schema.df_settings WHERE name = '{TARGET_PARTITIONS}'")
            done.append((ctx, rows.to_pylist()[0]["value"]))
            ctx.sql(f"SET {TARGET_PARTITIONS} = '{value}'").collect()
        return done
    except Exception as exc:  # noqa: BLE001 - then the window is ordered instead
        log.info("one-partition window not possible (%s); ordering it", exc)
        _restore_target_partitions(done)
        return None


def _restore_target_partitions(saved) -> None:
    for ctx, value in saved:
        ctx.sql(f"SET {TARGET_PARTITIONS} = '{value}'").collect()


def _totally_ordered_windows(window_to_parquet):
    """buckaroo's window_to_parquet(expr, start, end, sort_col, ascending) in one fixed
    order, so a full scan sends every row once and the same window asked twice is the
    same rows: unsorted on the embedded engine, its query on one partition (a scan and
    filter in file order); otherwise the expression ordered by _total_order."""
    from xorq.vendor.ibis.expr.types import Table

    def window_in_total_order(processed_df, start, end, sort_col=None, ascending=True):
        if not isinstance(processed_df, Table):  # a pandas frame from a post-processor
            return window_to_parquet(processed_df, start, end, sort_col, ascending)
        sliced = (_sliced_parquet_window(processed_df, start, end) if sort_col is None
                  else SORTED_COPIES.window(processed_df, sort_col, ascending, start, end))
        if sliced is not None:
            return sliced
        contexts = _embedded_contexts(processed_df) if sort_col is None else None
        if contexts:
            # Windows run in parallel workers: the setting is changed and put back
            # by one window at a time.
            with _partition_lock(contexts):
                saved = _set_target_partitions(contexts, "1")
                if saved is not None:
                    try:
                        return window_to_parquet(processed_df, start, end, None, True)
                    finally:
                        _restore_target_partitions(saved)
        keys = _total_order(processed_df, sort_col, ascending)
        if not keys:
            return window_to_parquet(processed_df, start, end, sort_col, ascending)
        # ibis folds the ORDER BY into buckaroo's rename SELECT ... LIMIT/OFFSET.
        return window_to_parquet(processed_df.order_by(keys), start, end, None, True)
    return window_in_total_order


def _expression_loader(load_expr_build_dir):
    """buckaroo's load_expr_build_dir, except in an engine file load (the worker's
    _EXPR_LOAD.file): that file's expression. buckaroo logs why a build did not load
    and answers without the cause; keep it."""
    def load_expr_or_file(build_dir, *args, **kwargs):
        try:
            source = getattr(_EXPR_LOAD, "file", None)
            return file_expr(source) if source is not None else load_expr_build_dir(build_dir, *args, **kwargs)
        except Exception as exc:
            _EXPR_LOAD.failure = _short_error(f"{type(exc).__name__}: {exc}")
            raise
    return load_expr_or_file


def _broadcast_after_apply(broadcast_state):
    """broadcast_state(session, ...) on a staged session is kept for ExprLoads.push: the
    worker must not write to WebSockets, and a load that is dropped pushes nothing."""
    def broadcast_or_defer(session, *args, **kwargs):
        if isinstance(session, _StagedSession):
            session.defer_broadcast((args, kwargs))
            return None
        return broadcast_state(session, *args, **kwargs)
    return broadcast_or_defer


def install_xorq_hooks() -> None:
    """The hooks that need xorq itself: installed by the first /load_expr, so a launcher
    that never serves one never imports xorq (which writes under ~/.config and ~/.cache)."""
    from buckaroo.server import xorq_loading

    with _XORQ_LOCK:
        _replace(xorq_loading, "window_to_parquet", _totally_ordered_windows)
        _replace(xorq_loading, "load_expr_build_dir", _expression_loader)


def unreadable_cause(expr) -> str | None:
    """Why the rows of `expr`, whose count came back 0, cannot be read; None when it is
    really empty. Only asked for a count of 0: buckaroo's count turns a failed query
    into 0, and a count that succeeded has read the data, so other loads pay nothing."""
    try:
        from xorq.common.utils.graph_utils import walk_nodes
        from xorq.expr.relations import Read
    except ImportError:
        reads = []
    else:
        reads = [dict(node.read_kwargs).get("hash_path") for node in walk_nodes(Read, expr)]
    for path in reads:
        # DataFusion reads a missing local path as a table with no rows.
        if isinstance(path, (str, os.PathLike)) and "://" not in str(path) and not os.path.exists(path):
            return f"{path} does not exist"
    try:
        expr.limit(1).to_pyarrow()
    except Exception as exc:  # noqa: BLE001 - whatever the engine says is the cause
        return _short_error(f"{type(exc).__name__}: {exc}")
    return None


class ExprLoads(FileLoads):
    """What ThreadedLoadHandler does around buckaroo's LoadExprHandler.post (/load_expr).

    Replies added to buckaroo's: 501 `xorq_not_installed` (xorq.api does not import;
    the message carries `pip install <XORQ_PIP>`), 422 `expr_unreadable` (expr.yaml
    missing or unparsable, a file under reads/ missing or not parquet; the message is
    `<build_dir>: <cause>`), 400 `invalid_session` (a session that is not a string).
    A missing build directory keeps buckaroo's 404 `build_dir_not_found`."""

    failure = ("load_expr_error", "Failed to load xorq expression")

    def accept(self, handler, body):
        session_id, build_dir = body.get("session") or None, body.get("build_dir")
        if not build_dir:
            return BUCKAROO_ANSWERS  # its 400 "Missing 'build_dir'"
        if session_id is not None and not isinstance(session_id, str):
            handler.set_status(400)
            handler.write(_error("invalid_session", "session must be a string"))
            return None
        import uuid

        return Route(session_id or uuid.uuid4().hex, str(build_dir), self)

    def prepare(self, run) -> bool:
        error = xorq_import_error()
        if error is not None:
            run.status, run.chunks = 501, [_xorq_not_installed(error)]
            return False
        install_xorq_hooks()
        _EXPR_LOAD.failure = None
        return True

    def finish(self, run) -> None:
        import time

        build_dir = json.loads(run.request.body).get("build_dir")
        cause, staged = _EXPR_LOAD.failure, run.sessions.staged
        if run.status == 200 and staged is not None:
            staged.engine_file = None  # a build now, not an engine file (reload_expr serves it)
        if run.status == 500 and cause:
            run.status, run.chunks = XORQ_UNREADABLE_STATUS, [_error("expr_unreadable", f"{build_dir}: {cause}")]
        elif run.status == 200 and staged is not None and staged.changed("xorq_dataflow") \
                and (staged.metadata or {}).get("rows") == 0:
            began = time.perf_counter()
            cause = unreadable_cause(staged.expr)
            log.info("rows 0 in %s: readability checked in %.1f ms", build_dir, (time.perf_counter() - began) * 1e3)
            if cause is not None:
                log.warning("build %s not served: %s", build_dir, cause)
                run.status, run.chunks = XORQ_UNREADABLE_STATUS, [_error("expr_unreadable", f"{build_dir}: {cause}")]

    def push(self, handler, session, run) -> None:
        from buckaroo.server import handlers

        if run.sessions.staged.broadcast is not None:
            args, kwargs = run.sessions.staged.broadcast
            handlers.broadcast_state(session, *args, **kwargs)


def make_reload_expr_handler(ReloadExprHandler):
    """/reload_expr with the same 501 as /load_expr when xorq does not import (checked
    first, off the loop). The reload itself stays buckaroo's, on the loop."""
    class XorqCheckedReloadHandler(ReloadExprHandler):
        async def post(self, session_id):
            import asyncio

            error = await asyncio.get_running_loop().run_in_executor(None, xorq_import_error)
            if error is not None:
                self.set_status(501)
                self.write(_xorq_not_installed(error))
                return None
            session = self.application.settings["sessions"].get(session_id)
            source = getattr(session, "engine_file", None) if session is not None else None
            if source is not None and session.backend == "xorq":
                self.set_status(400)
                self.write(_error("not_xorq_session", f"session {session_id} shows the file {source.path} "
                                  "(opened on the engine), not a xorq build"))
                return None
            return await super().post(session_id)
    return XorqCheckedReloadHandler


# -- files on the engine -----------------------------------------------------------------
# A file too big for a pandas load opens as an expression on xorq's embedded engine
# (DataFusion): the load reads a footer or a schema sample, each row window is a query,
# the stats follow the first rows (buckaroo's deferred delivery), and nothing is ever
# materialised in Python. Which path a /load takes (engine_choice): `backend: "xorq"`
# the engine, any other backend buckaroo's, none by format and size. The load itself is
# buckaroo's /load_expr pipeline with the expression built here instead of from a build
# (EngineFileLoads); its reply says `"backend": "xorq"` and keeps the file's path.
# Unsorted, unsearched windows of one Parquet file are read by polars' page-aware slice
# (~20 ms at any offset of 20M rows, where an engine OFFSET decodes every row before it).

ENGINE_MIN_BYTES_ENV = "BUCKAROO_TAURI_ENGINE_MIN_BYTES"
# Below this a pandas load takes under 2 s here with every stat inline, and keeps what
# only it reads (mixed-type columns, any JSON value); above it the engine shows rows
# 10x sooner in a fraction of the memory (docs/benchmarks.md "Big files"). The plugin
# passes its own (BuckarooConfig::with_engine_min_bytes, DEFAULT_ENGINE_MIN_BYTES).
DEFAULT_ENGINE_MIN_BYTES = 32 << 20
ENGINE_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".tab": "csv",
                  ".jsonl": "json", ".ndjson": "json"}
DECIMAL_SAMPLE_ROWS = 1000  # the engine's decimal-comma rule looks at this many rows
_FILE_SOURCES: dict = {}  # the table node of each engine file load -> its FileSource
_FILE_SOURCES_KEPT = 64


class FileSource(NamedTuple):
    path: str
    format: str  # "parquet", "csv" or "json"


def engine_format(path: str) -> str | None:
    """The engine's reader for `path`: a file by extension, a folder holding parquet."""
    if os.path.isdir(path):
        with os.scandir(path) as entries:
            return "parquet" if any(e.name.endswith(".parquet") for e in entries) else None
    return ENGINE_FORMATS.get(_extension(path))


def env_count(name: str, default: int) -> int:
    """A count (bytes, rows) from the environment: `default` when unset, or (with a
    warning) when it is not a whole number of 0 or more."""
    raw = os.environ.get(name, "").strip()
    if raw.isdigit():
        return int(raw)
    if raw:
        log.warning("%s=%r is not a count; using %d", name, raw, default)
    return default


def engine_min_bytes() -> int:
    return env_count(ENGINE_MIN_BYTES_ENV, DEFAULT_ENGINE_MIN_BYTES)


def _size_on_disk(path: str) -> int:
    if not os.path.isdir(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)


def engine_choice(body: dict, path: str) -> tuple[bool, str | None, str]:
    """Whether this /load goes through the engine, the engine's reader for the file (None:
    it reads no such file; looked for only when the engine may serve it), and why (logged)."""
    backend = body.get("backend")
    if backend is not None and str(backend).lower() != "xorq":
        return False, None, f"backend {backend} asked for"
    if backend is None and body.get("mode", "viewer") != "buckaroo":
        return False, None, "mode is not buckaroo"
    try:
        fmt = engine_format(path)
    except OSError:
        return False, None, "not readable here"  # buckaroo's own reply says why
    if backend is not None:
        return True, fmt, "backend xorq asked for"
    if fmt is None:
        return False, fmt, "not a format the engine reads"
    try:
        size = _size_on_disk(path)
    except OSError:
        return False, fmt, "not readable here"
    threshold = engine_min_bytes()
    if size < threshold:
        return False, fmt, f"{size} bytes, under {ENGINE_MIN_BYTES_ENV}={threshold}"
    if xorq_import_error() is not None:
        log.warning("%s (%d bytes) loads through pandas: xorq does not import (pip install %s)", path, size, XORQ_PIP)
        return False, fmt, "xorq does not import"
    return True, fmt, f"{size} bytes {fmt}"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _decimal_comma_columns(table) -> list[str]:
    """Text columns whose first DECIMAL_SAMPLE_ROWS values are all decimal-comma numbers
    (at least one with a comma): read_delimited's rule, on a sample."""
    import re

    pattern = re.compile(DECIMAL_COMMA)
    text = [name for name, dtype in table.schema().items() if dtype.is_string()]
    if not text:
        return []
    sample = table.select(text).limit(DECIMAL_SAMPLE_ROWS).to_pyarrow().to_pydict()
    found = []
    for name in text:
        values = [v.strip() for v in sample[name] if v is not None]
        if values and all(pattern.fullmatch(v) for v in values) and any("," in v for v in values):
            found.append(name)
    return found


def _delimited_expr(con, path: str, name: str):
    sep = sniff_separator(path)
    table = con.read_csv(path, table_name=name, delimiter=sep, has_header=True,
                         file_extension=os.path.splitext(path)[1] or ".csv")
    if sep not in (";", "\t"):
        return table
    numbers = {c: table[c].strip().replace(".", "").replace(",", ".").try_cast("float64").name(c)
               for c in _decimal_comma_columns(table)}
    return table.select([numbers.get(c, table[c]) for c in table.columns]) if numbers else table


def _plain_parquet_schema(path: str):
    """The file's schema with dictionary columns (pandas categoricals) read as their
    values: the engine's aggregates (approx_distinct, ...) refuse dictionaries."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    schema = ds.dataset(path, format="parquet").schema
    return pa.schema([f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema])


def _json_lines_keys(path: str) -> list[str]:
    """The first object's keys, in the file's order (the engine infers them sorted)."""
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                first = json.loads(line)
                return list(first) if isinstance(first, dict) else []
    return []


def _in_file_order(table, keys: list[str]):
    order = [k for k in keys if k in table.columns] + [c for c in table.columns if c not in keys]
    return table if order == list(table.columns) else table.select(order)


def file_expr(source: FileSource, con=None):
    """`source` as an expression on its own embedded-engine connection (so a setting one
    session's windows change is that session's alone), or on `con`."""
    import uuid

    import xorq.api as xo

    con, name = con or xo.connect(), f"file_{uuid.uuid4().hex[:12]}"
    if source.format == "parquet":
        expr = con.read_parquet(source.path, table_name=name, schema=_plain_parquet_schema(source.path))
    elif source.format == "csv":
        expr = _delimited_expr(con, source.path, name)
    else:
        con.con.sql(f"CREATE EXTERNAL TABLE {name} STORED AS JSON LOCATION {_sql_string(source.path)}").collect()
        expr = _in_file_order(con.table(name), _json_lines_keys(source.path))
    if not expr.columns:
        raise ValueError("the file has no columns")
    with _XORQ_LOCK:
        _FILE_SOURCES[expr.op()] = source
        while len(_FILE_SOURCES) > _FILE_SOURCES_KEPT:
            _FILE_SOURCES.pop(next(iter(_FILE_SOURCES)))
    return expr


def _polars() -> object | None:
    try:
        import polars as pl
    except ImportError:
        return None
    return pl


def _sliceable_source(processed_df) -> FileSource | None:
    """The file of an engine load that polars can slice: one Parquet file, unfiltered
    (processed_df is the load's own expression), polars installed."""
    source = _FILE_SOURCES.get(processed_df.op())
    if source is None or source.format != "parquet" or os.path.isdir(source.path) or _polars() is None:
        return None
    return source


def _sliced_parquet_window(processed_df, start: int, end: int) -> bytes | None:
    """Rows [start, end) of a Parquet file expression read by polars (None when it is not
    one polars can slice): the engine's file order."""
    source = _sliceable_source(processed_df)
    return None if source is None else _parquet_slice(processed_df, source.path, start, end)


def _parquet_slice(processed_df, path: str, start: int, end: int) -> bytes:
    """Rows [start, end) of the Parquet file `path` (which has processed_df's columns)."""
    from buckaroo.df_util import old_col_new_col

    names = [orig for orig, _ in old_col_new_col(processed_df)]
    frame = _polars().scan_parquet(path).select(names).slice(start, max(0, end - start)).collect()
    return _window_frame(processed_df, frame.to_arrow(), start)


def _window_frame(processed_df, table, start: int) -> bytes:
    """`table` (processed_df's columns, rows from `start` on) as window_to_parquet writes
    a window: columns renamed a, b, ..., an `index` column of absolute offsets."""
    from io import BytesIO

    import pyarrow as pa
    import pyarrow.parquet as pq
    from buckaroo.df_util import old_col_new_col

    pairs = old_col_new_col(processed_df)
    table = table.select([orig for orig, _ in pairs]).rename_columns([rew for _, rew in pairs])
    table = table.append_column("index", pa.array(range(start, start + table.num_rows), type=pa.int64()))
    out = BytesIO()
    pq.write_table(table, out, compression="none")
    return out.getvalue()


# Sorted windows of a big Parquet file. ORDER BY ... LIMIT/OFFSET sorts the whole file
# again for every window deep in the order: seconds and gigabytes on 20M rows (the
# engine's spilling sort runs out of its pool when limited). So the first sorted request
# of a file of SORTED_COPY_MIN_ROWS or more starts a sorted copy: DuckDB (one of xorq's
# engines) writes the file in that order (ties in file order) with a memory limit,
# spilling to a private temp dir; then every window of that order is a polars slice of
# the copy. Meanwhile windows in the first TOP_ROWS are DuckDB top-n queries in the same
# order, deeper ones wait. Without duckdb, sorted windows stay engine queries. Copies
# are removed when the launcher ends (a killed launcher's, at the next start).

SORTED_COPY_MIN_ROWS_ENV = "BUCKAROO_TAURI_SORTED_COPY_MIN_ROWS"
SORTED_COPY_MIN_ROWS = 2_000_000
TOP_ROWS = 100_000  # while the copy is written, windows this near the top are top-n queries
SORT_MEMORY = "400MB"  # DuckDB's limit while it writes a copy
TOP_N_MEMORY = "100MB"
SORTED_COPIES_KEPT = 4
SORTED_COPY_WAIT = 600.0  # seconds a window waits for its copy before it sorts itself
_SORTED_DIR_PREFIX = "buckaroo-tauri-sorted-"


class SortedCopy:
    def __init__(self, path: str):
        self.path, self.ready, self.error = path, threading.Event(), None


class SortedCopies:
    """The sorted copies of this launcher's files, built once per (file, column,
    direction) in a background thread; the oldest beyond SORTED_COPIES_KEPT are deleted."""

    def __init__(self):
        import itertools

        self._lock, self._copies, self._dir, self._names = threading.Lock(), {}, None, itertools.count()

    def window(self, processed_df, sort_col, ascending: bool, start: int, end: int) -> bytes | None:
        """The window from the copy for this order (built first), or None: ask the engine."""
        source = _sliceable_source(processed_df)
        if source is None or _duckdb() is None or _expr_count_of(processed_df) < _sorted_copy_min_rows():
            return None
        copy = self._copy(processed_df, source, sort_col, ascending)
        if not copy.ready.is_set() and end <= TOP_ROWS:
            return _window_frame(processed_df, _duck_sorted(source, sort_col, ascending, start, end), start)
        if not copy.ready.wait(SORTED_COPY_WAIT) or copy.error is not None:
            return None
        return _parquet_slice(processed_df, copy.path, start, end)

    def _copy(self, expr, source: FileSource, sort_col, ascending: bool) -> SortedCopy:
        key = (source, os.path.getmtime(source.path), sort_col, ascending)
        with self._lock:
            copy = self._copies.get(key)
            if copy is None:
                copy = self._copies[key] = SortedCopy(os.path.join(self._directory(), f"{next(self._names)}.parquet"))
                threading.Thread(target=self._build, args=(copy, source, sort_col, ascending), daemon=True,
                                 name="sorted-copy").start()
                self._forget_oldest()
        return copy

    def _directory(self) -> str:
        import tempfile

        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix=f"{_SORTED_DIR_PREFIX}{os.getpid()}-")
        return self._dir

    def _forget_oldest(self) -> None:
        while len(self._copies) > SORTED_COPIES_KEPT:
            old = self._copies.pop(next(iter(self._copies)))
            threading.Thread(target=_remove_when_built, args=(old,), daemon=True).start()

    def _build(self, copy: SortedCopy, source: FileSource, sort_col, ascending: bool) -> None:
        import time

        began, tmp = time.perf_counter(), copy.path + ".tmp"
        try:
            con = _duck_connection(self._directory())
            con.execute(f"COPY ({_duck_order(source, sort_col, ascending)}) TO {_sql_string(tmp)} (FORMAT parquet)")
            con.close()
            os.replace(tmp, copy.path)
            log.info("sorted copy of %s by %s (%s) in %.1f s", source.path, sort_col, "asc" if ascending else "desc",
                     time.perf_counter() - began)
        except Exception as exc:  # noqa: BLE001 - then its windows are engine queries
            copy.error = _short_error(f"{type(exc).__name__}: {exc}")
            log.warning("sorted copy of %s by %s failed: %s", source.path, sort_col, copy.error)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        finally:
            copy.ready.set()

    def remove_all(self) -> None:
        import shutil

        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


def _remove_when_built(copy: SortedCopy) -> None:
    copy.ready.wait()
    with contextlib.suppress(OSError):
        os.unlink(copy.path)


def remove_stale_sorted_copies() -> None:
    """Copies left by launchers that were killed (their pid is gone; Linux: /proc)."""
    import shutil
    import tempfile

    root = tempfile.gettempdir()
    if not os.path.isdir("/proc/self"):
        return
    for name in os.listdir(root):
        pid = name[len(_SORTED_DIR_PREFIX):].split("-", 1)[0] if name.startswith(_SORTED_DIR_PREFIX) else ""
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _duck_connection(spill_dir: str | None = None):
    """A copy's connection (`spill_dir`: SORT_MEMORY, spilling there), or a top-n's (a
    heap of at most TOP_ROWS rows: a tenth of that)."""
    con = _duckdb().connect()
    con.execute(f"SET memory_limit = '{SORT_MEMORY if spill_dir else TOP_N_MEMORY}'")
    con.execute("SET preserve_insertion_order = true")
    if spill_dir is not None:
        con.execute(f"SET temp_directory = {_sql_string(spill_dir)}")
    return con


def _duck_order(source: FileSource, sort_col, ascending: bool) -> str:
    """The file's rows in a sorted copy's order: the column, then the file's order."""
    column = '"' + str(sort_col).replace('"', '""') + '"'
    return (f"SELECT * EXCLUDE (file_row_number) FROM read_parquet({_sql_string(source.path)}, file_row_number = true) "
            f"ORDER BY {column} {'ASC' if ascending else 'DESC'}, file_row_number")


def _duck_sorted(source: FileSource, sort_col, ascending: bool, start: int, end: int):
    """Rows [start, end) of that order as a top-n query (a heap of `end` rows)."""
    con = _duck_connection()
    try:
        return con.execute(f"{_duck_order(source, sort_col, ascending)} LIMIT {max(0, end - start)} OFFSET {start}").to_arrow_table()
    finally:
        con.close()


def _duckdb():
    try:
        import duckdb
    except ImportError:
        return None
    return duckdb


def _sorted_copy_min_rows() -> int:
    return env_count(SORTED_COPY_MIN_ROWS_ENV, SORTED_COPY_MIN_ROWS)


def _expr_count_of(expr) -> int:
    from buckaroo.xorq_buckaroo import _expr_count

    return _expr_count(expr)


SORTED_COPIES = SortedCopies()


class EngineFileLoads(ExprLoads):
    """A /load that goes through the engine: buckaroo's LoadExprHandler.post with the
    expression from file_expr. Its build_dir is the file's folder (buckaroo checks it
    is a directory; _expression_loader returns the file's expression instead of reading
    a build there). Replies added: 400 `invalid_file` with the engine's reason for a file
    it cannot read; 400 `engine_unsupported` for `backend: "xorq"` on a format it does
    not read; 501 `xorq_not_installed` as for /load_expr."""

    failure = ("load_error", "Failed to load file")

    def __init__(self, expr_handler_cls):
        self.expr_handler_cls = expr_handler_cls

    def route(self, handler, body, session_id: str, path: str):
        """The engine's Route for this /load, None for buckaroo's own, or REFUSED."""
        use, fmt, why = engine_choice(body, path)
        log.info("load %s: %s path (%s)", path, "engine" if use else "pandas", why)
        if not use:
            return None
        if fmt is None:
            handler.set_status(400)
            handler.write(_error("engine_unsupported",
                                 f"{path}: the engine reads Parquet (a file or a folder), CSV/TSV and JSON lines"))
            return REFUSED
        folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        expr_body = {key: body[key] for key in ("prompt", "component_config", "column_config_overrides",
                                                 "extra_grid_config", "init_sd") if body.get(key)}
        # force_reload: buckaroo's warm exit would answer a second file of the same folder
        # with the first one's metadata.
        expr_body |= {"build_dir": folder, "stats_delivery": body.get("stats_delivery", "deferred"),
                      "force_reload": True, "no_browser": True, "file": path, "file_format": fmt}
        return Route(session_id, path, self, self.expr_handler_cls, expr_body)

    def prepare(self, run) -> bool:
        body = json.loads(run.request.body)
        if not os.path.exists(body["file"]):
            run.status, run.chunks = 404, [_error("file_not_found", f"File not found: {body['file']}")]
            return False
        if not super().prepare(run):
            return False
        _EXPR_LOAD.file = FileSource(body["file"], body["file_format"])
        return True

    def finish(self, run) -> None:
        source, _EXPR_LOAD.file = getattr(_EXPR_LOAD, "file", None), None
        if source is None:
            return
        cause = _EXPR_LOAD.failure
        if run.status == 500 and cause:
            run.status, run.chunks = 400, [_error("invalid_file", f"{source.path}: {cause}")]
        elif run.status == 200 and run.sessions.staged is not None:
            # buckaroo's reply, session and push say the folder it was given.
            staged = run.sessions.staged
            run.chunks = [{**chunk, "path": source.path, "backend": "xorq"} if isinstance(chunk, dict) else chunk
                          for chunk in run.chunks]
            staged.metadata = {**(staged.metadata or {}), "path": source.path, "backend": "xorq"}
            staged.engine_file = source
            if staged.broadcast is not None and "metadata" in staged.broadcast[1]:
                staged.broadcast[1]["metadata"] = staged.metadata


# -- Expression work off the event loop -------------------------------------------------
# buckaroo answers row windows and computes deferred stats on the loop. For an
# expression a window is a query (a sort of 20M rows takes seconds) and the stats are
# many, so there every window of every session would wait for the slowest. Here a row
# request of an expression session and every stats push (STATS_AFTER_ROWS_S after the
# rows) run in a worker pool; what
# buckaroo writes meanwhile is kept and written on the loop in one callback, so a
# reply's JSON and parquet frames stay adjacent. A reply whose session has loaded
# something else since is sent as `rows_superseded` (the request is answered, with no
# stale rows).

WINDOW_WORKERS_SETTING = "buckaroo_tauri_window_workers"
# Deferred stats start this long after the first rows are written: the page takes ~0.6 s
# to paint them, and stats computed meanwhile take a core of two from it (20M rows:
# painted at ~2.0 s instead of ~1.4 s after the load, docs/benchmarks.md).
STATS_AFTER_ROWS_S = 1.0
WINDOW_WORKERS = 8  # the stats, and deep sorted windows waiting for their copy, hold one each
_CAPTURE = threading.local()  # in a worker: the frames its call writes


class _Captured(NamedTuple):
    frames: list
    written: object  # a concurrent Future, done once the frames are written on the loop


def _failed_rows(payload_args, code: str, info: str) -> list:
    """Error replies (as captured frames) for a row request and its second_request."""
    keys = [payload_args] + ([payload_args["second_request"]]
                             if isinstance(payload_args.get("second_request"), dict) else [])
    return [(json.dumps({"type": "infinite_resp", "key": key, "length": 0, "error_code": code,
                         "error_info": info}), False) for key in keys]


def _nothing(code: str, info: str) -> list:
    return []


def make_ws_handler(DataStreamHandler):
    if not callable(getattr(DataStreamHandler, "on_message", None)):
        raise Unsupported("DataStreamHandler.on_message is missing")
    for hook in ("_handle_infinite_request", "_push_stats"):
        if not callable(getattr(DataStreamHandler, hook, None)):
            raise Unsupported(f"DataStreamHandler.{hook} is missing")

    class SafeDataStreamHandler(DataStreamHandler):
        def _session(self):
            return self.application.settings["sessions"].get(getattr(self, "session_id", None))

        def _handle_infinite_request(self, payload_args, stats_gen=None):
            session = self._session()
            if session is None or session.backend != "xorq" or not isinstance(payload_args, dict):
                return super()._handle_infinite_request(payload_args, stats_gen)
            dataflow = session.xorq_dataflow
            self._off_loop(super()._handle_infinite_request, (payload_args, stats_gen),
                           still_wanted=lambda: getattr(self._session(), "xorq_dataflow", None) is dataflow,
                           failed=lambda code, info: _failed_rows(payload_args, code, info))
            return None

        def _push_stats(self, stats_gen, rows_done):
            import tornado.ioloop

            tornado.ioloop.IOLoop.current().call_later(
                STATS_AFTER_ROWS_S, self._off_loop, super()._push_stats, (stats_gen, rows_done))

        def _off_loop(self, call, args, still_wanted=lambda: True, failed=_nothing):
            import tornado.ioloop

            loop = tornado.ioloop.IOLoop.current()
            self.application.settings[WINDOW_WORKERS_SETTING].submit(
                self._run_captured, loop, call, args, still_wanted, failed)

        def _run_captured(self, loop, call, args, still_wanted, failed):
            import concurrent.futures

            captured = _CAPTURE.now = _Captured([], concurrent.futures.Future())
            try:
                call(*args)
            except Exception:
                log.exception("%s failed in a worker", getattr(call, "__name__", call))
                captured.frames[:] = failed("row_request_failed", "the row request failed in the sidecar")
            finally:
                _CAPTURE.now = None
            loop.add_callback(self._write_captured, captured, still_wanted, failed)

        def _write_captured(self, captured, still_wanted, failed):
            import tornado.websocket

            frames = (captured.frames if still_wanted()
                      else failed("rows_superseded", "a newer load replaced these rows"))
            try:
                for message, binary in frames:
                    self.write_message(message, binary=binary)
            except tornado.websocket.WebSocketClosedError:
                log.debug("window closed before its reply was written")
            finally:
                captured.written.set_result(None)

        def open(self, *args, **kwargs):
            # Here, not when the connection is accepted: Tornado turns Nagle back on after
            # every HTTP response, the 101 upgrade included.
            self.set_nodelay(True)
            return super().open(*args, **kwargs)

        def on_message(self, message):
            WARM_UP.busy()
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

        def on_close(self):
            super().on_close()
            # The window is gone: nobody is waiting for its pending load any more.
            session_id = getattr(self, "session_id", None)
            session = self.application.settings["sessions"].get(session_id)
            if session_id is not None and (session is None or not session.ws_clients):
                self.application.settings[LOADS_SETTING].cancel(session_id, "the session's window closed")

        def write_message(self, message, binary=False):
            captured = getattr(_CAPTURE, "now", None)
            if captured is not None:  # in a worker: written on the loop afterwards
                captured.frames.append((message, binary))
                return captured.written
            if binary:
                WARM_UP.served()
            elif isinstance(message, (str, bytes)):
                message = _tidy_frame(message)
            return super().write_message(message, binary=binary)

    return SafeDataStreamHandler


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
            self.finish(json.dumps(_error("forbidden", "missing or wrong sidecar token")))

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


def _replace_routes(app, replacements: dict) -> None:
    """Point the one route using each original handler class at its replacement."""
    for original, replacement in replacements.items():
        rules = [rule for rule in app.wildcard_router.rules if getattr(rule, "target", None) is original]
        if len(rules) != 1:
            raise Unsupported(f"expected one route using {original.__name__}, found {len(rules)}")
        rules[0].target = replacement


def build_app(token: str, allow_query_token: bool = False, load_timeout: float = DEFAULT_LOAD_TIMEOUT):
    """buckaroo's Application, wrapped: auth before routing, safer WebSocket handler,
    loads (files and xorq builds) in worker threads, sniffed readers, coded row-window
    errors."""
    import concurrent.futures

    server = _buckaroo_server()
    install_readers()
    install_window_errors()
    from buckaroo.server import handlers

    _replace(handlers, "broadcast_state", _broadcast_after_apply)
    inner = server.make_app(port=0, open_browser=False)
    engine = EngineFileLoads(server.LoadExprHandler)
    _replace_routes(inner, {
        server.DataStreamHandler: make_ws_handler(server.DataStreamHandler),
        server.LoadHandler: make_load_handler(server.LoadHandler, server.SessionState, FileLoads(engine)),
        server.LoadExprHandler: make_load_handler(server.LoadExprHandler, server.SessionState, ExprLoads()),
        server.ReloadExprHandler: make_reload_expr_handler(server.ReloadExprHandler)})
    # The routes' handlers get `inner` as their application, so its settings are theirs.
    inner.settings[LOADS_SETTING] = PendingLoads(load_timeout)
    inner.settings[WINDOW_WORKERS_SETTING] = concurrent.futures.ThreadPoolExecutor(
        WINDOW_WORKERS, thread_name_prefix="window")
    app = make_authed_application(token, allow_query_token)(**inner.settings)
    app.wildcard_router = inner.wildcard_router
    app.default_router = inner.default_router
    return app


def _load_timeout() -> float:
    raw = os.environ.get(LOAD_TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_LOAD_TIMEOUT
    except ValueError:
        value = 0
    if value > 0:
        return value
    log.warning("%s=%r is not a positive number of seconds; using %g", LOAD_TIMEOUT_ENV, raw, DEFAULT_LOAD_TIMEOUT)
    return DEFAULT_LOAD_TIMEOUT


def _parse_args(argv: list[str]):
    import argparse

    parser = argparse.ArgumentParser(prog="buckaroo-tauri-sidecar")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--stdio-control", action="store_true")
    parser.add_argument("--log-level", default=os.environ.get("BUCKAROO_TAURI_LOG_LEVEL", "WARNING"))
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


def _checked_app(token: str, allow_query_token: bool):
    """The wrapped app, or the exit code (with its message on stderr) when this buckaroo
    is not one the launcher supports."""
    # The plugin ran the full probe before spawning us; only the version matters here.
    version = _version("buckaroo")
    if not supported(version):
        print(f"buckaroo-tauri-sidecar: buckaroo {version} is not supported by this launcher "
              f"(tested: {TESTED_BUCKAROO}); use the plain server "
              f"(BuckarooConfig::with_plain_server)", file=sys.stderr)
        return EXIT_UNSUPPORTED
    try:
        return build_app(token, allow_query_token, _load_timeout())
    except Unsupported as exc:
        print(f"buckaroo-tauri-sidecar: buckaroo {version} internals not recognised ({exc}); "
              "use the plain server (BuckarooConfig::with_plain_server)", file=sys.stderr)
        return EXIT_UNSUPPORTED


WARM_XORQ_ENV = "BUCKAROO_TAURI_WARM_XORQ"


class IdleWarmUp:
    """Runs a job once, in a thread, when the sidecar is idle: the first row window has
    been written (or GRACE_S passed, for an app that opens nothing at start) and no
    request came for IDLE_S. xorq's import holds the GIL for about a second; run next to
    the first /load it doubled it (load + initial_state 811 → 1,598 ms here) and slowed
    the first rows the same way. IDLE_S leaves the page time to paint those rows: its
    mount and paint need the CPU the import would take."""

    IDLE_S = 2.0
    GRACE_S = 3.0

    def __init__(self) -> None:
        import time

        self._clock = time.monotonic
        self._last = self._clock()
        self._served = threading.Event()

    def busy(self) -> None:
        """A request arrived (HTTP or a WebSocket message)."""
        self._last = self._clock()

    def served(self) -> None:
        """A row window was written."""
        self._served.set()

    def start(self, job) -> None:
        def run():
            import time

            self._served.wait(self.GRACE_S)
            while (left := self._last + self.IDLE_S - self._clock()) > 0:
                time.sleep(left)
            job()
        threading.Thread(target=run, daemon=True, name="idle-warm-up").start()


WARM_UP = IdleWarmUp()


def _warm_xorq() -> None:
    """Import xorq once the sidecar is idle (BUCKAROO_TAURI_WARM_XORQ=1, set for xorq()
    apps): the first engine load or /load_expr then skips its ~1 s import."""
    import importlib.util

    if os.environ.get(WARM_XORQ_ENV) != "1" or importlib.util.find_spec("xorq") is None:
        return

    def warm():
        import time

        t0 = time.monotonic()
        error = xorq_import_error()
        log.info("warm-up: xorq %s in %.0f ms, the sidecar idle", "imported" if error is None else "failed", (time.monotonic() - t0) * 1000)
    WARM_UP.start(warm)


def _after_handshake() -> None:
    _warm_xorq()
    threading.Thread(target=remove_stale_sorted_copies, daemon=True, name="stale-copies").start()


def _start_stdin_watchdog() -> None:
    """Exit as soon as stdin reaches EOF: the plugin holds it open, so this is the
    app's death, however it died."""
    import threading

    def watchdog():
        try:
            while sys.stdin.read(1):
                pass
        finally:
            SORTED_COPIES.remove_all()
            os._exit(0)
    threading.Thread(target=watchdog, daemon=True, name="stdin-watchdog").start()


def _listen(app, port: int, then=lambda: None) -> None:
    """Bind 127.0.0.1, print the handshake line, call `then`, run the loop until the
    process ends."""
    import tornado.httpserver
    import tornado.ioloop
    import tornado.netutil

    class NoDelayServer(tornado.httpserver.HTTPServer):
        def handle_stream(self, stream, address):
            stream.set_nodelay(True)  # HTTP replies (/load, /health); WebSockets: see open()
            return super().handle_stream(stream, address)

    sockets = tornado.netutil.bind_sockets(port, address="127.0.0.1")
    port = sockets[0].getsockname()[1]
    app.settings["port"] = port
    server = NoDelayServer(app, max_buffer_size=64 * 1024 * 1024)
    server.add_sockets(sockets)
    log.info("listening on 127.0.0.1:%d", port)
    print(f"BUCKAROO_PORT={port}")
    then()
    tornado.ioloop.IOLoop.current().start()


def serve(argv: list[str]) -> int:
    args = _parse_args(argv)
    _setup_logging(args.log_level, args.log_file)

    # Read and drop the secret: nothing this process starts inherits it.
    token = os.environ.pop(TOKEN_ENV, "")
    allow_query_token = os.environ.pop("BUCKAROO_TAURI_ALLOW_QUERY_TOKEN", "") == "1"
    if len(token) < 32:
        print(f"buckaroo-tauri-sidecar: {TOKEN_ENV} must hold a secret of 32+ characters", file=sys.stderr)
        return 2

    app = _checked_app(token, allow_query_token)
    if isinstance(app, int):
        return app
    # After the checks above, so their exit codes are never pre-empted by stdin EOF.
    if args.stdio_control:
        _start_stdin_watchdog()
    try:
        _listen(app, args.port, then=_after_handshake)
    finally:
        SORTED_COPIES.remove_all()
    return 0


def main(argv: list[str]) -> int:
    if "--probe" in argv:
        print(json.dumps(probe(deep="--deep" in argv)), flush=True)
        return 0
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
