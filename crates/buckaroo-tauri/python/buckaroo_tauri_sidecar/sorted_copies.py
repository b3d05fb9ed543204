"""Sorted windows of a big Parquet file.

ORDER BY ... LIMIT/OFFSET sorts the whole file again for every window deep in the
order: seconds and gigabytes on 20M rows (the engine's spilling sort runs out of its
pool when limited). So a file of SORTED_COPY_MIN_ROWS or more gets a sorted copy per
order it is viewed in: DuckDB (one of xorq's engines) writes the file in that order
(ties in file order) with a memory limit, spilling to a private temp dir; then every
window of that order is a polars slice of the copy. Until it is written, windows in the
first TOP_ROWS are top-n queries (top_windows), deeper ones wait. The copy starts after
the first top window, which it would otherwise make twice as slow: both want both cores.
Without duckdb, sorted windows stay engine queries. Copies are removed when the launcher
ends (a killed launcher's, at the next start).
"""

from __future__ import annotations

import contextlib
import os
import threading

from .contract import DISK_FULL
from .engine_files import FileSource, sliceable_source
from .slices import parquet_slice, window_frame
from .top_windows import TopWindows, order_sql
from .util import disk_full, env_count, exception_line, log, refuse, sql_string

SORTED_COPY_MIN_ROWS_ENV = "BUCKAROO_TAURI_SORTED_COPY_MIN_ROWS"
# Where sorted copies (and DuckDB's spill while it writes one) go: the system temp
# folder unless set.
SORTED_DIR_ENV = "BUCKAROO_TAURI_SORTED_DIR"
DISK_FULL_RETRY_S = 30.0  # a copy that ran out of space is tried again after this long
SORTED_COPY_MIN_ROWS = 2_000_000
TOP_ROWS = 100_000  # while the copy is written, windows this near the top are top-n queries
SORT_MEMORY = "400MB"  # DuckDB's limit while it writes a copy
# Copies kept (the oldest go first): at most this many, and at most half the space their
# folder has (free, plus what the copies hold). Each is about the size of its file.
SORTED_COPIES_KEPT = 8
SORTED_COPY_WAIT = 600.0  # seconds a window waits for its copy before it sorts itself
_SORTED_DIR_PREFIX = "buckaroo-tauri-sorted-"


class SortedCopy:
    def __init__(self, path: str, size: int):
        self.path, self.ready, self.error = path, threading.Event(), None
        self.size = size  # bytes expected: the file's own size
        self.disk_full_at: float | None = None  # monotonic time it ran out of space


class SortedCopies:
    """The sorted copies of this launcher's files, built once per (file, column,
    direction) in a background thread; the oldest go past SORTED_COPIES_KEPT or half the
    space of their folder."""

    def __init__(self):
        import itertools

        self._lock, self._copies, self._dir, self._names = threading.Lock(), {}, None, itertools.count()
        self._top: TopWindows | None = None

    def window(self, processed_df, sort_col, ascending: bool, start: int, end: int) -> bytes | None:
        """The window from the copy for this order (built first), or None: ask the engine."""
        source = sliceable_source(processed_df)
        if source is None or _duckdb() is None or _expr_count_of(processed_df) < sorted_copy_min_rows():
            return None
        copy = self._existing((source, sort_col, ascending))
        if (copy is None or not copy.ready.is_set()) and end <= TOP_ROWS:
            table = self._top_windows().window(source.path, sort_col, ascending, start, end)
            self._copy(processed_df, source, sort_col, ascending)
            return window_frame(processed_df, table, start)
        copy = self._copy(processed_df, source, sort_col, ascending)
        if not copy.ready.wait(SORTED_COPY_WAIT):
            return None
        if copy.disk_full_at is not None:
            # Sorting it as a query would spill to the same full disk: say so instead.
            refuse(DISK_FULL, copy.error)
        if copy.error is not None:
            return None
        return parquet_slice(processed_df, copy.path, start, end)

    def copy_path(self, processed_df, sort_col, ascending: bool, cancelled) -> str | None:
        """The finished copy of `processed_df` (an engine file) in this order, made if
        missing (an export's rows); None when it failed (then the caller queries the
        engine) or `cancelled()` turned true while it was written. Out of space: OSError."""
        import errno

        copy = self._copy(processed_df, sliceable_source(processed_df), sort_col, ascending)
        while not copy.ready.wait(0.25):
            if cancelled():
                return None
        if copy.disk_full_at is not None:
            raise OSError(errno.ENOSPC, copy.error)
        return None if copy.error is not None else copy.path

    def forget(self, path: str, keep: tuple | None = None) -> None:
        """`path` changed on disk: its copies of other contents than `keep` (a stamp) are deleted."""
        with self._lock:
            stale = [key for key in self._copies if key[0].path == path and (keep is None or key[0].stamp != keep)]
            for key in stale:
                threading.Thread(target=_remove_when_built, args=(self._copies.pop(key),), daemon=True).start()
        if stale:
            log.info("%s changed on disk: %d sorted copies dropped", path, len(stale))

    def _copy(self, expr, source: FileSource, sort_col, ascending: bool) -> SortedCopy:
        key = (source, sort_col, ascending)  # source.stamp: a rewritten file is another source
        with self._lock:
            copy = self._existing(key)
            if copy is None:
                path = os.path.join(self._directory(), f"{next(self._names)}.parquet")
                copy = self._copies[key] = SortedCopy(path, _size(source.path))
                threading.Thread(target=self._build, args=(copy, source, sort_col, ascending), daemon=True,
                                 name="sorted-copy").start()
                self._forget_oldest()
        return copy

    def _existing(self, key) -> SortedCopy | None:
        copy = self._copies.get(key)
        if copy is not None and copy.disk_full_at is not None and _age(copy.disk_full_at) > DISK_FULL_RETRY_S:
            return None  # space may have been freed: try again
        return copy

    def _directory(self) -> str:
        import tempfile

        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix=f"{_SORTED_DIR_PREFIX}{os.getpid()}-", dir=sorted_root())
        return self._dir

    def warm(self) -> None:
        """DuckDB imported and the top windows' database started (its threads, its first
        query): ~40 ms off a big file's first sorted window. Without duckdb, nothing."""
        if _duckdb() is not None:
            self._top_windows().warm()

    def _top_windows(self) -> TopWindows:
        with self._lock:
            if self._top is None:
                self._top = TopWindows(_duckdb())
            return self._top

    def _forget_oldest(self) -> None:
        import shutil

        # The folder's space once: removals below finish in their own threads.
        room = shutil.disk_usage(self._directory()).free + sum(_size(c.path) for c in self._copies.values())
        while len(self._copies) > 1 and (len(self._copies) > SORTED_COPIES_KEPT
                                         or sum(c.size for c in self._copies.values()) > room // 2):
            old = self._copies.pop(next(iter(self._copies)))
            threading.Thread(target=_remove_when_built, args=(old,), daemon=True).start()

    def _build(self, copy: SortedCopy, source: FileSource, sort_col, ascending: bool) -> None:
        import time

        began, tmp, con = time.perf_counter(), copy.path + ".tmp", None
        try:
            con = _duck_connection(self._directory())
            con.execute(f"COPY ({order_sql(source.path, sort_col, ascending)}) TO {sql_string(tmp)} (FORMAT parquet)")
            os.replace(tmp, copy.path)
            log.info("sorted copy of %s by %s (%s) in %.1f s", source.path, sort_col, "asc" if ascending else "desc",
                     time.perf_counter() - began)
        except Exception as exc:  # noqa: BLE001 - then its windows are engine queries
            copy.error = exception_line(exc)
            if disk_full(exc):
                copy.disk_full_at = time.monotonic()
                copy.error = (f"no space left in {self._directory()} for the sorted copy of {source.path} by "
                              f"{sort_col}: free space there, or point {SORTED_DIR_ENV} at a bigger disk")
            log.warning("sorted copy of %s by %s failed: %s", source.path, sort_col, copy.error)
        finally:
            if con is not None:
                with contextlib.suppress(Exception):
                    con.close()  # DuckDB deletes its spill files
            if copy.error is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            copy.ready.set()

    def remove_all(self) -> None:
        import shutil

        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


def _remove_when_built(copy: SortedCopy) -> None:
    copy.ready.wait()
    with contextlib.suppress(OSError):
        os.unlink(copy.path)


def sorted_root() -> str:
    import tempfile

    return os.environ.get(SORTED_DIR_ENV) or tempfile.gettempdir()


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _age(since: float) -> float:
    import time

    return time.monotonic() - since


def remove_stale_sorted_copies() -> None:
    """Copies left by launchers that were killed (their pid is gone; Linux: /proc)."""
    import shutil

    root = sorted_root()
    if not os.path.isdir("/proc/self"):
        return
    for name in os.listdir(root):
        pid = name[len(_SORTED_DIR_PREFIX):].split("-", 1)[0] if name.startswith(_SORTED_DIR_PREFIX) else ""
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _duck_connection(spill_dir: str):
    """A copy's connection: SORT_MEMORY, spilling into `spill_dir`."""
    con = _duckdb().connect()
    con.execute(f"SET memory_limit = '{SORT_MEMORY}'")
    con.execute("SET preserve_insertion_order = true")
    con.execute(f"SET temp_directory = {sql_string(spill_dir)}")
    return con


def _duckdb():
    try:
        import duckdb
    except ImportError:
        return None
    return duckdb


def sorted_copy_min_rows() -> int:
    return env_count(SORTED_COPY_MIN_ROWS_ENV, SORTED_COPY_MIN_ROWS)


def _expr_count_of(expr) -> int:
    from buckaroo.xorq_buckaroo import _expr_count

    return _expr_count(expr)


SORTED_COPIES = SortedCopies()
