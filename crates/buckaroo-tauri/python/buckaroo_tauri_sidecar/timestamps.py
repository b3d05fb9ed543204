"""Timestamps as the file holds them: date and time, in the column's own zone, zone named.

buckaroo 0.15.11 formats a datetime column in the page's zone: buckaroo mode with
`toLocaleDateString('en-US', {})` (the date only), viewer mode with `datetimeDefault` (no
zone). The page gets each value as a UTC instant (hyparquet makes a Date of it; the
zone's name is only in the pandas metadata, which hyparquet ignores), so the zone has to
come with the column's displayer:

- an IANA zone (pytz `.zone`, zoneinfo `.key`, "UTC"): `datetimeLocaleString` in sv-SE
  with `timeZone` set to it and `timeZoneName: "short"` (`2024-03-31 00:30:00 CET`);
- naive: the same without a zone name and with `timeZone: "UTC"`, since the page gets the
  wall time as a UTC instant;
- any other zone (a fixed offset such as +05:30 has no IANA name, and Intl takes no
  offset as a timeZone): the window carries the text itself, rendered here,
  `2024-03-31 05:00:00 +05:30`, shown with the `string` displayer; a value's fraction
  is written out exactly when it has one (`.5`, `.000123`).

Fractions (Intl): a column with any non-zero sub-second part gets
`fractionalSecondDigits`, the fewest digits (1-3) that show every millisecond part, 3
when some value has a part below the millisecond: the page's Date holds milliseconds
(hyparquet divides micro- and nanoseconds down, truncating).
"""

from __future__ import annotations

import functools
import zoneinfo

LOCALE = "sv-SE"  # Intl's ISO-like order: 2024-03-31 00:30:00
DATE_TIME = {"year": "numeric", "month": "2-digit", "day": "2-digit", "hour": "2-digit", "minute": "2-digit",
             "second": "2-digit", "hourCycle": "h23"}


@functools.cache
def _iana_names() -> frozenset:
    # The system's zone files include aliases of the machine's own zone, which Intl rejects.
    return frozenset(zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"}) | {"UTC"}


def iana_zone(tz) -> str | None:
    """The IANA name of a tz that has one (Intl knows it), else None."""
    name = getattr(tz, "zone", None) or getattr(tz, "key", None) or str(tz)
    return name if name in _iana_names() else None


def zone_as_text(dtype) -> bool:
    """A tz-aware column whose zone Intl cannot be given: its window carries text."""
    tz = getattr(dtype, "tz", None)
    return tz is not None and iana_zone(tz) is None


TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def subsecond_ns(ser):
    """Each non-null value's part below the second, in nanoseconds (0 to 999,999,999), from
    the column's integer ticks: the same in every IANA zone, whose offsets are whole
    seconds. The `.dt` fields would convert every value to its zone first: on a 100k-row
    file that was ~18 % of the load."""
    import numpy as np

    values = ser.array
    ticks = np.asarray(values.asi8)[~np.asarray(values.isna())]
    per_second = TICKS_PER_SECOND[getattr(values, "unit", "ns")]
    # numpy's % takes the divisor's sign: before 1970 too the part is >= 0, as .dt's.
    return (ticks % per_second) * (1_000_000_000 // per_second)


def below_ms(ser) -> bool:
    """Some value has a part below the millisecond."""
    return bool((subsecond_ns(ser) % 1_000_000 != 0).any())


def fraction_digits(ser) -> int:
    """0 when no value has a sub-second part, else the digits that show them (<= 3)."""
    parts = subsecond_ns(ser)
    if parts.size == 0:
        return 0
    if (parts % 1_000_000 != 0).any():
        return 3
    ms = parts // 1_000_000
    for digits, step in ((1, 100), (2, 10)):
        if (ms % step == 0).all():
            return digits if (ms != 0).any() else 0
    return 3


def datetime_displayer(ser) -> dict:
    """The displayer_args for a datetime64 column (see the module's doc for the rule)."""
    if zone_as_text(ser.dtype):
        return {"displayer": "string"}
    tz = getattr(ser.dtype, "tz", None)
    args = {**DATE_TIME, "timeZone": "UTC" if tz is None else iana_zone(tz)}
    digits = fraction_digits(ser)
    if digits:
        args["fractionalSecondDigits"] = digits
    if tz is not None:
        args["timeZoneName"] = "short"
    return {"displayer": "datetimeLocaleString", "locale": LOCALE, "args": args}


def as_text(ser):
    """The window's cells for a zone Intl cannot be given: `2024-03-31 05:00:00 +05:30`,
    with the value's own fraction when it has one (`.5`, `.000123`), None for NaT."""
    return ser.map(_stamp_text).astype(object)


def _stamp_text(stamp):
    import pandas as pd

    if pd.isna(stamp):
        return None
    text = stamp.strftime("%Y-%m-%d %H:%M:%S")
    fraction = stamp.microsecond * 1000 + stamp.nanosecond
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    offset = stamp.strftime("%z")  # +0530
    return f"{text} {offset[:3]}:{offset[3:]}"



def floored_to_ms(ser):
    """The column with its sub-millisecond parts dropped toward the past, or None when it
    has none: hyparquet divides micro- and nanoseconds toward zero, which moves an
    instant before 1970 up to 1 ms later (1969-12-31 23:59:59.9995 would show as
    1970-01-01 00:00:00.000)."""
    if not below_ms(ser):
        return None
    tz = getattr(ser.dtype, "tz", None)
    if tz is None:
        return ser.dt.floor("ms")
    # In UTC: a wall-time floor raises on a DST-ambiguous local time.
    return ser.dt.tz_convert("UTC").dt.floor("ms").dt.tz_convert(tz)
