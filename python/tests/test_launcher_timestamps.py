"""The launcher's timestamp fractions (timestamps.py) read from integer ticks, checked
against pandas' own `.dt` fields, on pandas 2 (this venv) and pandas 3 (.venv-pandas3)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from buckaroo_tauri_dev.e2e import REPO
from buckaroo_tauri_dev.server import LAUNCHER_PATH_ENTRY

CHECK = r"""
import sys
sys.path.insert(0, sys.argv[1])
import pandas as pd
from buckaroo_tauri_sidecar import timestamps

def by_fields(ser):
    v = ser.dropna()
    return list(v.dt.microsecond * 1000 + v.dt.nanosecond)

def digits_by_fields(ser):
    v = ser.dropna()
    if v.empty:
        return 0
    if ((v.dt.microsecond % 1000 != 0) | (v.dt.nanosecond != 0)).any():
        return 3
    ms = v.dt.microsecond // 1000
    for digits, step in ((1, 100), (2, 10)):
        if (ms % step == 0).all():
            return digits if (ms != 0).any() else 0
    return 3

stamps = {
    "whole": ["2024-03-31 00:30:00", "1969-07-20 20:17:00", None],
    "tenths": ["2024-03-31 00:30:00.5", "1969-12-31 23:59:59.1", None],
    "hundredths": ["2024-01-01 00:00:00.25", "2024-01-01 00:00:01"],
    "millis": ["2024-01-01 00:00:00.123", "1900-01-01 00:00:00.001"],
    "below_ms_before_1970": ["1969-12-31 23:59:59.9995", "2024-01-01"],
    "nanos": ["2024-01-01 00:00:00.000000001", "1969-12-31 23:59:59.999999999"],
    "none": [None, None],
    "empty": [],
}
seen = 0
for name, values in stamps.items():
    base = pd.Series(pd.to_datetime(values, format="ISO8601"), dtype="datetime64[ns]")
    for unit in ("s", "ms", "us", "ns"):
        for tz in (None, "UTC", "Europe/Madrid", "Asia/Kolkata"):
            ser = base.astype(f"datetime64[{unit}]")
            ser = ser if tz is None else ser.dt.tz_localize("UTC").dt.tz_convert(tz)
            got = list(timestamps.subsecond_ns(ser))
            assert got == by_fields(ser), (name, unit, tz, got, by_fields(ser))
            assert timestamps.fraction_digits(ser) == digits_by_fields(ser), (name, unit, tz)
            assert timestamps.below_ms(ser) == (digits_by_fields(ser) == 3 and any(p % 1_000_000 for p in got)), (name, unit, tz)
            seen += 1
print("checked", seen, pd.__version__)
"""


@pytest.mark.parametrize("python", [sys.executable, str(REPO / "python" / ".venv-pandas3" / "bin" / "python")],
                         ids=["pandas2", "pandas3"])
def test_fractions_from_ticks_match_pandas_fields(python):
    out = subprocess.run([python, "-c", CHECK, str(LAUNCHER_PATH_ENTRY)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("checked 128 "), out.stdout
