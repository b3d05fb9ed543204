"""The cell-fidelity test's table and its oracle: what the grid must show for each value
of each Arrow type (docs/cells.md states the same rules in prose).

The oracle is written from the rules, not from the launcher's code (cells.py,
timestamps.py): a change there that shows a value differently fails the test.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from pathlib import Path
from zoneinfo import ZoneInfo

MADRID = "Europe/Madrid"


def _us(text: str, tz: str | None = None) -> int:
    """Microseconds since the epoch of a wall time in `tz` (UTC when None)."""
    naive = dt.datetime.fromisoformat(text)
    aware = naive.replace(tzinfo=ZoneInfo(tz) if tz else dt.UTC)
    return round(aware.timestamp() * 1_000_000)


def table():
    """The awkward values, six rows per column, nulls in each nullable kind."""
    import pyarrow as pa

    D = decimal.Decimal
    td = dt.timedelta
    return pa.table({
        "json_text": pa.array(["null", "[1,2]", '{"a": 1}', "1e3", '"quoted"', None]),
        "unicode": pa.array(["café ☕", "日本語", "", "emoji 🎉", "ünïcödé", None]),
        "category": pa.array(["x", None, "null", "x", "1e3", "y"]).dictionary_encode(),
        "i8": pa.array([1, None, -128, 127, 0, 5], pa.int8()),
        "i32": pa.array([1, None, -(2**31), 2**31 - 1, 0, 5], pa.int32()),
        "i64": pa.array([1, None, -(2**63), 2**63 - 1, 2**53 + 1, 1234567], pa.int64()),
        "u64": pa.array([1, None, 0, 2**64 - 1, 2**53 + 1, 5], pa.uint64()),
        "i64_full": pa.array([1, 2, 2**53 + 1, 2**63 - 1, 1234567, -5], pa.int64()),
        "f64": pa.array([1.5, None, float("nan"), float("inf"), float("-inf"), 1234567.891]),
        "f32": pa.array([0.5, None, 2.25, -0.0, 1e-7, 3.0], pa.float32()),
        "bool": pa.array([True, None, False, True, False, True]),
        "decimal": pa.array([D("1.10"), None, D("-3.14"), D("12345678901234567890.12"), D("0.00"), D("2")], pa.decimal128(22, 2)),
        "ts_madrid": pa.array([_us("2024-03-31 00:30", MADRID), None, _us("2024-03-31 03:00", MADRID), 0,
                               _us("2024-10-27 02:30", MADRID), _us("1969-07-20 20:17:40")], pa.timestamp("us", tz=MADRID)),
        "ts_utc": pa.array([_us("2024-03-30 23:30") // 1000, None, 0, -1000, 1, 86_400_000], pa.timestamp("ms", tz="UTC")),
        "ts_naive": pa.array([_us("2024-03-30 23:30:00.5"), None, 0, _us("1900-01-01"), _us("2262-04-11 23:47:16"), 1_500_000],
                             pa.timestamp("us")),
        "ts_offset": pa.array([_us("2024-03-30 23:30"), None, 0, _us("2024-03-30 23:30:00.25"), 0, 0],
                              pa.timestamp("us", tz="+05:30")),
        "date": pa.array([dt.date(2024, 3, 31), None, dt.date(1970, 1, 1), dt.date(1, 1, 1), dt.date(9999, 12, 31),
                          dt.date(2000, 2, 29)], pa.date32()),
        "time": pa.array([dt.time(0, 30), None, dt.time(23, 59, 59, 999999), dt.time(12), dt.time(0), dt.time(1, 2, 3)],
                         pa.time64("us")),
        "duration": pa.array([td(hours=1, minutes=30), None, td(0), td(days=2, seconds=5), td(microseconds=1500),
                              td(seconds=-5)], pa.duration("us")),
        "binary": pa.array([b"\x00\xff", None, b"abc", b"", b"{}", b"\x10"], pa.binary()),
    })


def write(path: Path) -> Path:
    import pyarrow.parquet as pq

    pq.write_table(table(), path)
    return path


# --- the oracle: one rule per kind ------------------------------------------------


def _number(v, digits: tuple[int, int]) -> str:
    """Intl.NumberFormat('en-US', {min, max fraction digits}) for a finite number."""
    lo, hi = digits
    text = f"{v:,.{hi}f}"
    if hi > lo and "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0").ljust(lo, "0")
        text = f"{whole}.{frac}" if frac else whole
    return text


def _float(v, mode: str) -> str:
    if math.isnan(v):
        return ""  # pandas cannot tell NaN from null once read: both empty
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return _number(v, (3, 3) if mode == "buckaroo" else (1, 6))


def _fraction_digits(values: list[int]) -> int:
    """Per column: none when every value is a whole second, else the fewest digits
    (1-3) that show every millisecond part; 3 when any has a sub-millisecond part."""
    if any(v % 1000 for v in values):
        return 3  # a sub-millisecond part: as many digits as there are (it is dropped)
    ms = [(v // 1000) % 1000 for v in values]
    for digits, unit in ((0, 1000), (1, 100), (2, 10)):
        if all(m % unit == 0 for m in ms):
            return digits
    return 3


def _timestamp_text(us: int, tz, digits: int, zone_name: bool) -> str:
    at = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)).astimezone(tz)
    text = at.strftime("%Y-%m-%d %H:%M:%S")
    if digits:
        text += "," + f"{at.microsecond // 1000:03d}"[:digits]
    if not zone_name:
        return text
    # The WebView's ICU names the zone as CLDR does: its short name (CET, CEST, UTC), or
    # GMT±H where CLDR has none for that period (Madrid in 1969: GMT+1). Either says the
    # same offset; U+2212 is Intl's minus.
    minutes = int(at.utcoffset().total_seconds() // 60)
    h, m = divmod(abs(minutes), 60)
    gmt = "GMT" + ("" if not minutes else ("+" if minutes > 0 else "\u2212") + str(h) + (f":{m:02d}" if m else ""))
    return (f"{text} {at.tzname()}", f"{text} {gmt}")


def _offset_text(us: int, tz) -> str:
    at = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)).astimezone(tz)
    text = at.strftime("%Y-%m-%d %H:%M:%S")
    if at.microsecond:
        text += "." + f"{at.microsecond:06d}".rstrip("0")
    return f"{text} {at.strftime('%z')[:3]}:{at.strftime('%z')[3:]}"


def _duration(us: int) -> str:
    sign, us = ("-", -us) if us < 0 else ("", us)
    days, rest = divmod(us, 86_400_000_000)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    if rest >= 1_000_000:
        parts.append(f"{decimal.Decimal(rest) / 1_000_000:f}".rstrip("0").rstrip(".") + "s")
    elif rest:
        parts.append(f"{decimal.Decimal(rest) / 1000:f}".rstrip("0").rstrip(".") + "ms")
    return sign + (" ".join(parts) or "0s")


def expected(column, mode: str) -> list[str | tuple[str, ...]]:
    """The text each cell of `column` (a pyarrow ChunkedArray) must show in `mode` (a
    tuple: any of those)."""
    import pyarrow as pa

    t = column.type
    values = column.to_pylist()
    if pa.types.is_timestamp(t):
        # As microseconds, floored (the rule: what is below a millisecond is dropped anyway).
        scale = {"s": (1_000_000, 1), "ms": (1000, 1), "us": (1, 1), "ns": (1, 1000)}[t.unit]
        raw = [None if v is None else v * scale[0] // scale[1] for v in column.cast(pa.int64()).to_pylist()]
        if t.tz and t.tz[0] in "+-":
            tz = dt.datetime.strptime(t.tz.replace(":", ""), "%z").tzinfo
            return ["" if v is None else _offset_text(v, tz) for v in raw]
        digits = _fraction_digits([v for v in raw if v is not None])
        tz = ZoneInfo(t.tz) if t.tz else dt.UTC
        return ["" if v is None else _timestamp_text(v, tz, digits, zone_name=bool(t.tz)) for v in raw]
    if pa.types.is_duration(t):
        return ["" if v is None else _duration(v // dt.timedelta(microseconds=1)) for v in values]
    out = []
    for v in values:
        if v is None:
            out.append("")
        elif isinstance(v, bool):
            out.append(str(v))
        elif isinstance(v, int):
            out.append(f"{v:,}")
        elif isinstance(v, float):
            out.append(_float(v, mode))
        elif isinstance(v, decimal.Decimal):
            out.append(f"{v:,.{t.scale}f}")
        elif isinstance(v, bytes):
            out.append(v.hex())
        elif isinstance(v, (dt.date, dt.time)):
            out.append(v.isoformat())
        else:
            out.append(str(v))
    return out
