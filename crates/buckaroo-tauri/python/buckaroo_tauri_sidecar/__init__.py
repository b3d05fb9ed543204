"""buckaroo-tauri sidecar: the plugin's launcher for buckaroo's server, run with the
user's Python as `python -m buckaroo_tauri_sidecar` (the plugin puts this package's
folder on PYTHONPATH and sets PYTHONSAFEPATH=1; __main__ drops both again).

`--probe [--deep]` prints one JSON line describing whether this interpreter can run the
buckaroo server and what to install if not; standard library only (probe.py).

Otherwise it is a launcher for buckaroo's own Tornado application with the CLI contract
of `python -m buckaroo.server` (cli.py), plus: a per-launch token on every request
(app.py); TCP_NODELAY, tidy and coded WebSocket replies (ws_handler.py, rows.py); loads
in worker threads with a timeout and cancellation (loads.py, staging.py); CSV/TSV and
JSON lines read as a spreadsheet shows them (readers.py); every cell showing what the
file holds (cells.py, timestamps.py, compare.py); xorq builds (expr_loads.py)
whose row windows come in a total order (xorq_windows.py); big files on xorq's
embedded engine (engine_files.py, slices.py, sorted_copies.py, top_windows.py); tables of databases
paged by their engine (databases.py, db_sources.py, db_loads.py); an idle warm-up of xorq
and DuckDB (warm_up.py). Every code it sends, the token header, the exit codes and the tested
buckaroo version are in contract.py; every replacement of a buckaroo private name is in
patches.py.

Floors (a module imports only modules on floors below its own; this package imports
nothing heavy at import time: buckaroo, tornado, pandas, polars, pyarrow, xorq and
duckdb are imported inside the functions that use them):

  0  contract      the codes, names, exit codes and versions the plugin agrees on
  1  util          logger, Unsupported, the refusal shape, counts from the environment
  1  probe         --probe: what this interpreter lacks (standard library only)
  1  timestamps    datetime displayers in the column's own zone; text for fixed offsets
  1  compare       /load_compare's helper columns hidden in the grid
  1  stat_checks   buckaroo's stats self-check once per set of analyses
  2  readers       sniffed CSV/TSV, decimal commas, JSON lines, Parquet nullable ints
  2  cells         each column's displayer by kind, the window's cells, 0-row frames
  2  rows          coded row-window errors, tidy frames
  2  staging       buckaroo's load handler in a worker: the staged session and handler
  2  xorq_support  whether xorq imports; the worker's expression-load state
  2  window_pool   expression work shared fairly: a queue per session, workers replaced
  2  orders        the total order of an expression's windows
  2  databases     a connection spec to a read-only backend, its tables, coded failures
  2  top_windows   a big file's sorted window near the top, key first, while its copy is written
  3  loads         /load in a worker: pending loads, timeout, cancel, ThreadedLoadHandler
  3  engine_files  which /load goes to the engine; a file as an expression
  3  warm_up       the idle warm-up (xorq's import)
  3  db_sources    a database table's session: kept connection, bookmarks, windows, cancel
  4  slices        polars slices of a Parquet file, written as buckaroo's windows
  2  export_writers  batches to CSV, TSV, Parquet, JSON lines
  5  sorted_copies DuckDB-sorted copies of big Parquet files
  6  ws_handler    the WebSocket handler: safe replies, expression work off the loop,
                   engine windows of a changed file refused
  6  xorq_windows  expression windows in a total order; an engine file's expression
  7  patches       every replacement of a buckaroo private name
  7  export_views  the view a window shows, as Arrow batches in the grid's order
  8  exports       /export and /export_cancel: a view written beside the target, renamed
  8  cell_copy     /copy: a block of the view as TSV for the clipboard
  8  expr_loads    /load_expr, /reload_expr and engine loads
  9  db_loads      /db_tables, /load_db and database files opened by /load
 10  app           buckaroo's application wrapped: token, routes, hooks
 11  cli           argv, logging, the handshake, the stdin watchdog
 12  __main__      dispatch: --probe or the server
"""
