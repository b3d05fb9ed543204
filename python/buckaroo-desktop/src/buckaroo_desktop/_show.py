"""`show(df)`: a DataFrame in a native viewer window, from a script or a notebook.

The frame is written to a parquet file in a private folder (0700, the file 0600); the
viewer takes the file over (`--temporary`) and removes it when its window closes or
the viewer exits. A viewer already running from this Python environment opens the
window (one app, one sidecar).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buckaroo_desktop import viewer

#: The viewer's side of the handshake (temporary.rs in the example app).
DIR_PREFIX = "buckaroo-desktop-"
OWNER_FILE = "viewer.pid"
#: A folder no viewer claimed after this long is a failed start's leftover.
UNCLAIMED_AFTER_S = 3600


@dataclass
class Shown:
    """A frame showing in a viewer window."""

    title: str
    #: The temporary parquet file (gone once the window closed).
    path: Path
    #: The viewer process that owns the window.
    viewer_pid: int
    _started: subprocess.Popen | None = field(default=None, repr=False)

    def is_open(self) -> bool:
        return self.path.exists() and _alive(self.viewer_pid)

    def wait(self, timeout: float | None = None) -> bool:
        """Until the window closes (or the viewer ends); False if `timeout` ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.is_open():
            if deadline is not None and time.monotonic() > deadline:
                return False
            if self._started is not None:
                self._started.poll()  # reap our own child once it exits
            time.sleep(0.1)
        # A viewer that died without cleaning up leaves the folder: ours now.
        shutil.rmtree(self.path.parent, ignore_errors=True)
        return True


def show(data: Any, title: str | None = None, *, block: bool = False, timeout: float = 60.0) -> Shown:
    """Show `data` (a pandas or polars DataFrame or LazyFrame, a pandas Series, a
    pyarrow Table, or a xorq expression) in a new viewer window titled `title`.

    Returns once the window is open (at most `timeout` seconds); with `block=True`,
    once it is closed. Raises ViewerError when the viewer cannot start here (the
    message says which packages are missing) and TypeError for other data.
    """
    viewer.checked()  # before any file is written: the reason it cannot start, raised here
    sweep()
    name = title or default_title(data)
    folder = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
    try:
        path = folder / f"{file_stem(name)}.parquet"
        write_parquet(data, path)
        os.chmod(path, 0o600)
        # It becomes the viewer, or hands the file to the one running and exits.
        proc = viewer.start_detached(["--title", name, "--temporary", "--", str(path)])
        shown = Shown(name, path, claimed(folder, proc, timeout), proc)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if block:
        shown.wait()
    return shown


def claimed(folder: Path, proc: subprocess.Popen, timeout: float) -> int:
    """The PID of the viewer that took the file (it writes OWNER_FILE as its window opens)."""
    owner = folder / OWNER_FILE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            return int(owner.read_text())
        if proc.poll() not in (None, 0):
            raise viewer.ViewerError(f"the viewer exited ({proc.returncode}) before opening the window:\n{viewer.log_tail()}")
        time.sleep(0.02)
    raise viewer.ViewerError(f"no viewer window opened within {timeout:g} s; the log ({viewer.log_path()}):\n{viewer.log_tail()}")


def sweep() -> None:
    """Remove this user's folders whose viewer is gone (killed before it could clean up)."""
    for folder in Path(tempfile.gettempdir()).glob(DIR_PREFIX + "*"):
        with contextlib.suppress(OSError, ValueError):
            if folder.stat().st_uid != os.getuid():
                continue
            owner = folder / OWNER_FILE
            dead = not _alive(int(owner.read_text())) if owner.exists() else time.time() - folder.stat().st_mtime > UNCLAIMED_AFTER_S
            if dead:
                shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Our own exited child stays a zombie until reaped: not alive.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def file_stem(title: str) -> str:
    """A file name for the title (the page shows it next to the row count)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", title).strip("._")[:60] or "frame"


def default_title(data: Any) -> str:
    kind = type(data)
    return f"{kind.__module__.split('.')[0]} {kind.__name__}"


def column_names(columns: list[Any]) -> list[str]:
    """Unique string names for parquet, the user's own kept: a string name stays as it
    is; any other name is written as its text, and when that text is already taken (by a
    string name, or an earlier column) as `text (type)`, then `text (type) 2`, `3`...:
    `1` and `"1"` become "1 (int)" and "1". (Polars' and pyarrow's names are strings
    already, written as they are.)"""
    taken = {c for c in columns if isinstance(c, str)}
    names = []
    for c in columns:
        name = c
        if not isinstance(c, str):
            kind = f"{c} ({type(c).__name__})"
            name = next(t for t in itertools.chain([str(c), kind], (f"{kind} {n}" for n in itertools.count(2))) if t not in taken)
            taken.add(name)
        names.append(name)
    return names


def write_parquet(data: Any, path: Path) -> None:
    """`data` as one parquet file, with the library that made it."""
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        import pandas as pd

        frame = data.to_frame() if isinstance(data, pd.Series) else data
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"show() takes a pandas DataFrame or Series, not {type(data).__name__}")
        if not all(isinstance(c, str) for c in frame.columns):  # parquet wants string column names
            frame = frame.set_axis(column_names(list(frame.columns)), axis=1)
        frame.to_parquet(path)
    elif module == "polars":
        if hasattr(data, "sink_parquet"):  # LazyFrame: streamed, never collected here
            data.sink_parquet(path)
        elif hasattr(data, "write_parquet"):
            data.write_parquet(path)
        else:
            raise TypeError(f"show() takes a polars DataFrame or LazyFrame, not {type(data).__name__}")
    elif module == "pyarrow":
        import pyarrow.parquet as pq

        pq.write_table(data, path)
    elif module in ("xorq", "ibis") and hasattr(data, "to_parquet"):
        data.to_parquet(path)  # executed by the expression's own engine
    else:
        raise TypeError(f"show() takes a pandas or polars DataFrame, a pyarrow Table or a xorq expression, not {type(data).__module__}."
                        f"{type(data).__name__}; for a file, run `buckaroo-desktop FILE`")
