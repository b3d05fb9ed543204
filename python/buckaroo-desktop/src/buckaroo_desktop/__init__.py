"""buckaroo's DataFrame viewer as a native desktop app.

    buckaroo-desktop data.parquet          # from a shell
    buckaroo_desktop.show(df)              # from a script or a notebook

The viewer runs this interpreter as its Python, so the buckaroo installed here is the
one that computes the stats and serves the rows.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from buckaroo_desktop._show import Shown, show
from buckaroo_desktop.viewer import ViewerError

try:
    __version__ = _version("buckaroo-desktop")
except PackageNotFoundError:  # run from a source tree
    __version__ = "0+unknown"

__all__ = ["Shown", "ViewerError", "__version__", "show"]
