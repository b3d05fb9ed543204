"""Every place the launcher swaps one of buckaroo's own (private) names for its own.

Each swap goes through `replace`, which refuses a name that is not a callable of the
module (Unsupported: the launcher exits EXIT_UNSUPPORTED and the plugin says to use
the plain server) and never wraps twice. buckaroo looks these functions up at call
time through their module, so replacing the module attribute is enough; its files are
never touched. What each replacement does lives in its job's module; this one only
says where it goes and why.
"""

from __future__ import annotations

from .cells import dataflow_with_cells, display_state_with_cells, window_cells, windows_parse_nothing
from .compare import compare_helpers_hidden
from .readers import pandas_reader, polars_reader
from .rows import coded_dispatch, window_serializer
from .staging import broadcast_after_apply
from .stat_checks import self_check_once
from .util import Unsupported
from .xorq_support import XORQ_LOCK
from .xorq_windows import expression_loader, totally_ordered_windows


def replace(module, name: str, wrap) -> None:
    """Swap `module.name` (a buckaroo function, looked up at call time by its callers)
    for `wrap(original)`: the hook points below, without touching buckaroo's files."""
    original = getattr(module, name, None)
    if not callable(original):
        raise Unsupported(f"{module.__name__}.{name} not found")
    if not getattr(original, "_buckaroo_tauri_hook", False):
        hooked = wrap(original)
        hooked._buckaroo_tauri_hook = True
        setattr(module, name, hooked)


def install_readers() -> None:
    """The sniffed CSV/TSV and JSON lines readers (readers.py)."""
    from buckaroo.server import handlers

    # handlers.load_file: LoadHandler's pandas reader (pd.read_csv defaults: a `;` file
    # is one column).
    replace(handlers, "load_file", pandas_reader)
    try:
        import polars as pl
        from buckaroo.server import data_loading_polars
    except ImportError:
        return  # no polars: lazy mode and backend=polars answer missing_dependency themselves
    # handlers.load_file_lazy (mode lazy) and data_loading_polars.load_file_polars
    # (backend polars): polars' reader with the sniffed separator.
    replace(handlers, "load_file_lazy", lambda load: polars_reader(pl.scan_csv, pl.scan_parquet, load))
    replace(data_loading_polars, "load_file_polars", lambda load: polars_reader(pl.read_csv, pl.read_parquet, load))


def install_window_errors() -> None:
    """Row windows that fail to serialize carry `serialization_failed` (rows.py)."""
    from buckaroo.server import data_loading, websocket_handler

    # data_loading.to_parquet: a failed window names the column to blame; the window's
    # cells are first made what the page can show as the file holds them (cells.py:
    # ujson sends dates as epoch ms and decimals as floats).
    replace(data_loading, "to_parquet", lambda to_parquet: window_serializer(window_cells(to_parquet)))
    # websocket_handler.handle_infinite_request(_buckaroo): buckaroo answers the failure
    # with `length: 0` and a traceback; here, an error frame with the code and column.
    for name in ("handle_infinite_request", "handle_infinite_request_buckaroo"):
        replace(websocket_handler, name, coded_dispatch)


def install_cells() -> None:
    """Each cell shows what the file holds (cells.py, compare.py)."""
    from buckaroo.server import data_loading, handlers

    # data_loading.make_infinite_resp: the pandas senders pass no json_columns, so the
    # page JSON-parses every text cell that hyparquet already decoded (`null` -> empty).
    replace(data_loading, "make_infinite_resp", windows_parse_nothing)
    # handlers.create_dataflow (buckaroo mode): styling.DefaultMainStyling shows
    # datetimes as the date alone in the page's zone and nulls in text as "None"; and
    # StatPipeline.process_df returns no stats for 0 rows (no columns, no window).
    replace(handlers, "create_dataflow", dataflow_with_cells)
    # handlers.get_display_state (viewer mode, /load_compare): _dtype_to_displayer's
    # datetimeDefault has no zone, and text goes through obj.
    replace(handlers, "get_display_state", display_state_with_cells)
    # handlers.col_join_dfs (/load_compare): LoadCompareHandler keeps the helper columns
    # it marks `merge_rule: hidden`, which the page never reads.
    replace(handlers, "col_join_dfs", compare_helpers_hidden)


def install_stat_checks() -> None:
    """StatPipeline.unit_test: its self-check once per set of analyses, not twice per
    /load (stat_checks.py)."""
    from buckaroo.pluggable_analysis_framework.stat_pipeline import StatPipeline

    replace(StatPipeline, "unit_test", self_check_once)


def install_broadcast_hold() -> None:
    """handlers.broadcast_state: called by LoadExprHandler.post, which runs in a worker
    here (loads.py); on a staged session the push is held until it is applied."""
    from buckaroo.server import handlers

    replace(handlers, "broadcast_state", broadcast_after_apply)


def install_xorq_hooks() -> None:
    """The hooks that need xorq itself: installed by the first /load_expr, so a launcher
    that never serves one never imports xorq (which writes under ~/.config and ~/.cache)."""
    from buckaroo.server import xorq_loading

    with XORQ_LOCK:
        # xorq_loading.window_to_parquet: LIMIT/OFFSET without an order; here, every
        # window in one fixed order (xorq_windows.py).
        replace(xorq_loading, "window_to_parquet", totally_ordered_windows)
        # xorq_loading.load_expr_build_dir: an engine load's file as the expression, and
        # the cause of a build that does not load kept for `expr_unreadable`.
        replace(xorq_loading, "load_expr_build_dir", expression_loader)


def add_routes(app, rules: list) -> None:
    """The launcher's own routes, matched before any of buckaroo's (its static catch-alls)."""
    from tornado.routing import PathMatches, Rule

    app.wildcard_router.rules[:0] = [Rule(PathMatches(pattern), handler) for pattern, handler in rules]


def replace_routes(app, replacements: dict) -> None:
    """Point the one route of buckaroo's app using each original handler class (its
    LoadHandler, LoadExprHandler, ReloadExprHandler, DataStreamHandler) at the
    launcher's subclass of it."""
    for original, replacement in replacements.items():
        rules = [rule for rule in app.wildcard_router.rules if getattr(rule, "target", None) is original]
        if len(rules) != 1:
            raise Unsupported(f"expected one route using {original.__name__}, found {len(rules)}")
        rules[0].target = replacement
