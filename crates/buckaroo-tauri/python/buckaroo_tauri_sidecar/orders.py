"""The total order of an expression's row windows: the sort column, then every other
orderable column, so that no two distinguishable rows tie (xorq_windows.py, the
databases' windows without a primary key, and exports in the grid's order)."""

from __future__ import annotations


def _orderable(dtype) -> bool:
    """A type every engine can ORDER BY. Not orderable: arrays, structs, maps, JSON,
    geometry, intervals, null and unknown types. They are never sort keys, so rows that
    are equal on every orderable column are interchangeable: across a window boundary
    one of them may be sent twice and another not at all (they differ only in the
    columns that cannot be ordered)."""
    return (dtype.is_numeric() or dtype.is_string() or dtype.is_boolean() or dtype.is_temporal()
            or dtype.is_uuid() or dtype.is_binary()) and not dtype.is_interval()


def requested_sort(expr, sort_col, ascending: bool) -> list:
    """The ORDER BY key the grid asked for (none when unsorted)."""
    return [] if sort_col is None else [expr[sort_col].asc() if ascending else expr[sort_col].desc()]


def total_order(expr, sort_col, ascending: bool) -> list:
    """ORDER BY keys that leave no two distinguishable rows tied: the requested sort
    column first, then every other orderable column (ascending) as tie-breakers."""
    return requested_sort(expr, sort_col, ascending) + [expr[name].asc() for name, dtype in expr.schema().items()
                   if name != sort_col and _orderable(dtype)]
