"""What each cell shows: the grid's text is what the file holds.

buckaroo 0.15.11 picks each column's displayer from its pandas dtype and writes row
windows with fastparquet, JSON-encoding object columns; several kinds of values then
reach the grid changed (docs/upstream.md has the upstream causes). The hooks here
(installed by patches.install_cells) fix them without touching buckaroo's files:

- windows_parse_nothing: every pandas window says `json_columns: []`, so the page's
  decoder does not JSON-parse text a second time (`null`, `[1,2]`, `1e3` stay text);
- dataflow_with_cells / display_state_with_cells: each column's displayer, by kind
  (`displayers`), in buckaroo mode and in viewer mode (and /load_compare); a 0-row
  frame gets its schema as stats, so its columns and an empty window come;
- window_cells: the window's values the page cannot show as they are (dates, decimals,
  durations, timestamps in a zone Intl cannot be given) go as text or exact numbers.

Rules per kind (docs/upstream.md and the tests hold the exact texts):
  text      string displayer, null empty (buckaroo's obj one writes "None")
  boolean   boolean displayer: True / False, null empty
  datetime  timestamps.py: date and time in the column's zone, zone named; the window's
            instants floored to the millisecond the page can hold
  date      ISO text 2024-03-31 (ujson would send epoch milliseconds)
  time      text 00:30:00 (as buckaroo sends it), null empty
  duration  text `[-]1d 2h 3m 4.5s`, sub-second alone as ms/µs/ns, 0s, null empty
  decimal   the exact decimal as text, formatted as a number with the column's scale
  bytes     lowercase hex (as buckaroo sends it), null empty
  float     buckaroo mode: its float displayer kept when the column holds ±inf
            (its styling fails on inf and falls back to obj: 1234567.891 ungrouped)
"""

from __future__ import annotations

from . import timestamps

# buckaroo's own max_length for text: 35 (buckaroo mode's string), 200 (viewer's obj).
TEXT_MAX = {"buckaroo": 35, "viewer": 200}
MAX_SCALE = 20  # Intl.NumberFormat's maximumFractionDigits limit before ES2023
OBJECT_KINDS = {"string": "text", "boolean": "boolean", "date": "date", "decimal": "decimal", "time": "time",
                "bytes": "bytes"}


def kind(ser) -> str | None:
    """What a column holds, as far as its displayer is concerned (None: buckaroo's own)."""
    import pandas as pd

    api, dtype = pd.api.types, ser.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "text" if api.infer_dtype(dtype.categories, skipna=True) == "string" else None
    if api.is_bool_dtype(dtype):
        return "boolean"
    if api.is_datetime64_any_dtype(dtype):
        return "datetime"
    if api.is_timedelta64_dtype(dtype):
        return "duration"
    if api.is_float_dtype(dtype):
        return "float"
    if api.is_object_dtype(dtype):
        return OBJECT_KINDS.get(api.infer_dtype(ser, skipna=True))
    if api.is_string_dtype(dtype):
        return "text"
    return None


def decimal_scale(ser) -> int:
    """The most fraction digits any value has (Arrow decimals share one scale)."""
    exponents = [-d.as_tuple().exponent for d in ser.dropna() if d.is_finite()]
    return min(max([0, *exponents]), MAX_SCALE)


def has_infinity(ser) -> bool:
    import numpy as np

    return bool(np.isinf(ser.to_numpy(dtype=float, na_value=np.nan)).any())


def displayer(ser, mode: str) -> dict | None:
    """The displayer_args that show this column as the file holds it, None to keep
    buckaroo's; `mode` is buckaroo or viewer (their text widths differ)."""
    found = kind(ser)
    if found == "datetime":
        return timestamps.datetime_displayer(ser)
    if found in ("text", "bytes"):
        return {"displayer": "string", "max_length": TEXT_MAX[mode]}
    if found in ("date", "time", "duration"):
        return {"displayer": "string"}
    if found == "boolean":
        return {"displayer": "boolean"}
    if found == "decimal":
        scale = decimal_scale(ser)
        return {"displayer": "float", "min_fraction_digits": scale, "max_fraction_digits": scale}
    if found == "float" and mode == "buckaroo" and has_infinity(ser):
        return {"displayer": "float", "min_fraction_digits": 3, "max_fraction_digits": 3}
    return None


def displayers(df, mode: str) -> dict:
    """Original column name -> displayer_args, for the columns that need one."""
    found = {}
    for position, name in enumerate(df.columns):
        args = displayer(df.iloc[:, position], mode)
        if args is not None:
            found[name] = args
    return found


def duration_text(value) -> str | None:
    """`1h 30m`, `-5s`, `2d 5.25s`, `1.5ms`: buckaroo's duration style, exact and signed
    (its displayer drops a negative's sign and rounds below the millisecond)."""
    import pandas as pd

    if pd.isna(value):
        return None
    value = pd.Timedelta(value)
    total = ((value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds) * 1000 + value.nanoseconds
    if total == 0:
        return "0s"
    sign, total = ("-" if total < 0 else ""), abs(total)
    days, rest = divmod(total, 86_400 * 10**9)
    hours, rest = divmod(rest, 3_600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    if rest:
        unit, size = next((u, s) for u, s in (("s", 10**9), ("ms", 10**6), ("µs", 10**3), ("ns", 1)) if rest >= s)
        whole, fraction = divmod(rest, size)
        digits = len(str(size)) - 1
        parts.append(f"{whole}{'.' + f'{fraction:0{digits}d}'.rstrip('0') if fraction else ''}{unit}")
    return sign + " ".join(parts)


def window_values(ser):
    """The column as the window must carry it, or None when it goes as it is."""
    import pandas as pd

    found = kind(ser)
    if found == "datetime":
        return timestamps.as_text(ser) if timestamps.zone_as_text(ser.dtype) else timestamps.floored_to_ms(ser)
    if found == "date":
        return ser.map(lambda d: None if pd.isna(d) else d.isoformat()).astype(object)
    if found == "decimal":
        return ser.map(lambda d: None if pd.isna(d) else format(d, "f")).astype(object)
    if found == "duration":
        return ser.map(duration_text).astype(object)
    return None


def window_cells(to_parquet):
    """buckaroo's data_loading.to_parquet(df), given the window with the cells above."""
    def to_parquet_as_shown(df):
        shown = None
        for position in range(df.shape[1]):
            values = window_values(df.iloc[:, position])
            if values is not None:
                shown = df.copy(deep=False) if shown is None else shown
                shown.isetitem(position, values)
        return to_parquet(df if shown is None else shown)
    return to_parquet_as_shown


def windows_parse_nothing(make_infinite_resp):
    """data_loading.make_infinite_resp with `json_columns: []` unless given: buckaroo's
    pandas senders give none, and then the page parses every text cell as JSON although
    hyparquet already decoded the JSON-typed columns fastparquet writes."""
    def stamped(key, length, parquet_bytes, layout=None, json_columns=None):
        return make_infinite_resp(key, length, parquet_bytes, layout=layout,
                                  json_columns=[] if json_columns is None else json_columns)
    return stamped


def schema_type(dtype) -> str:
    """buckaroo's `_type` of a dtype (pd_stats_v2._type's order), from the schema alone."""
    import pandas as pd

    api = pd.api.types
    for test, name in ((api.is_bool_dtype, "boolean"), (api.is_integer_dtype, "integer"), (api.is_float_dtype, "float"),
                       (api.is_timedelta64_dtype, "duration"), (api.is_datetime64_any_dtype, "datetime"),
                       (api.is_string_dtype, "string")):
        if test(dtype):
            return name
    return "obj"


def dataflow_with_cells(create_dataflow):
    """handlers.create_dataflow (buckaroo mode) with each column's displayer as an
    override under the caller's own, and a 0-row frame's schema as init_sd: buckaroo's
    stats pipeline returns nothing for 0 rows, so the dataflow keeps its placeholder
    (only `index`) and its windows answer with no parquet, which the page waits for."""
    def create(df, column_config_overrides=None, extra_grid_config=None, init_sd=None):
        # Before the original: buckaroo may convert a column's zone to UTC in place.
        shown = {name: {"displayer_args": args} for name, args in displayers(df, "buckaroo").items()}
        overrides = {**shown, **(column_config_overrides or {})}
        if len(df) == 0:
            schema = {name: {"dtype": str(df[name].dtype), "_type": schema_type(df[name].dtype)} for name in df.columns}
            init_sd = {**schema, **(init_sd or {})}
        return create_dataflow(df, column_config_overrides=overrides or None, extra_grid_config=extra_grid_config,
                               init_sd=init_sd)
    return create


def display_state_with_cells(get_display_state):
    """handlers.get_display_state (viewer mode and /load_compare) with each column's
    displayer, matched by header_name (the column's name as text)."""
    def state(df, path):
        display_state = get_display_state(df, path)
        shown = {str(name): args for name, args in displayers(df, "viewer").items()}
        for entry in display_state["df_display_args"]["main"]["df_viewer_config"]["column_config"]:
            entry["displayer_args"] = shown.get(entry["header_name"], entry["displayer_args"])
        return display_state
    return state
