"""`buckaroo-desktop FILE...`: the viewer, with this interpreter as its Python."""

from __future__ import annotations

import argparse
import os
import sys
import time

from buckaroo_desktop import viewer


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="buckaroo-desktop",
        description="View Parquet, CSV, TSV and JSON files in buckaroo's grid, in a native window. "
        "Each file opens in its own window; a viewer already running opens them instead.",
        epilog=f"Exit status: 0 ok, 2 bad arguments, {viewer.CANNOT_RUN_HERE} the viewer cannot run here "
        f"(missing OS libraries, no display), {viewer.NO_BUCKAROO} buckaroo is not installed in this Python.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="files to open")
    p.add_argument("--detach", action="store_true", help="return to the shell at once; the viewer logs to " + str(viewer.log_path()))
    p.add_argument("--title", help="name the files' windows TITLE instead of by file name")
    p.add_argument("--version", action="store_true", help="print the versions and exit")
    return p


def versions() -> str:
    import importlib.metadata

    from buckaroo_desktop import __version__

    try:
        buckaroo = importlib.metadata.version("buckaroo")
    except importlib.metadata.PackageNotFoundError:
        buckaroo = "not installed"
    return f"buckaroo-desktop {__version__}\nPython {sys.version.split()[0]} ({sys.executable})\nbuckaroo {buckaroo}"


def viewer_args(args: argparse.Namespace) -> list[str]:
    return [*(["--title", args.title] if args.title else []), "--", *args.files]


def detach(args: list[str]) -> int:
    """Start the viewer in the background; a start that fails at once is reported here."""
    proc = viewer.start_detached(args)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if proc.returncode not in (None, 0):
        print(f"buckaroo-desktop: the viewer exited ({proc.returncode}):\n{viewer.log_tail()}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.version:
        print(versions())
        return 0
    try:
        binary = viewer.checked()
    except viewer.ViewerError as e:
        print(f"buckaroo-desktop: {e}", file=sys.stderr)
        return e.code
    if args.detach:
        return detach(viewer_args(args))
    sys.stdout.flush()
    sys.stderr.flush()
    # The viewer takes this process over: its PID, its terminal, its exit status.
    os.execve(binary, [str(binary), *viewer_args(args)], viewer.environment())
    return 0  # not reached
