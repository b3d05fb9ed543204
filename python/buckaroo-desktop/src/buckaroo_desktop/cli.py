"""`buckaroo-desktop FILE...`: the viewer, with this interpreter as its Python."""

from __future__ import annotations

import argparse
import os
import stat
import sys

from buckaroo_desktop import viewer


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="buckaroo-desktop",
        description="View Parquet, CSV, TSV and JSON files in buckaroo's grid, in a native window. "
        "Each file opens in its own window; a viewer already running opens them instead.",
        epilog=f"Exit status: 0 ok, 2 bad arguments or a file it cannot open, {viewer.CANNOT_RUN_HERE} the viewer cannot run "
        f"here (missing OS libraries, no display or one that does not answer), {viewer.NO_BUCKAROO} this Python cannot run "
        "buckaroo (what is missing is named); with --detach, 1 the viewer failed to start.",
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


def unopenable(path: str) -> str | None:
    """Why the viewer could not open `path` (a regular file or a folder, a parquet
    dataset, that this user can read), or None."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file or directory"
    except OSError as e:
        return e.strerror or str(e)
    if stat.S_ISDIR(mode):
        return None if os.access(path, os.R_OK | os.X_OK) else "folder not readable"
    if not stat.S_ISREG(mode):
        return "not a file or folder"  # a FIFO or a device: the viewer refuses them
    return None if os.access(path, os.R_OK) else "permission denied"


def bad_files(p: argparse.ArgumentParser, files: list[str]) -> int:
    """Each file the viewer could not open, said in the shell argparse's way (exit 2),
    before any window; 0 when there is none."""
    bad = [(f, why) for f in files if (why := unopenable(f))]
    if bad:
        p.print_usage(sys.stderr)
        for f, why in bad:
            print(f"{p.prog}: error: {f}: {why}", file=sys.stderr)
    return 2 if bad else 0


def viewer_args(args: argparse.Namespace) -> list[str]:
    return [*(["--title", args.title] if args.title else []), "--", *args.files]


#: The viewer is up well within this (its first process comes with its window); past it,
#: it is left to run and the shell gets its prompt back.
DETACH_WAIT_S = 10.0


def detach(args: list[str]) -> int:
    """Start the viewer in the background and return as soon as it is up; a start that
    fails is reported here, with its log."""
    proc = viewer.start_detached(args)
    viewer.wait_up(proc, DETACH_WAIT_S)
    if proc.returncode not in (None, 0):
        print(f"buckaroo-desktop: the viewer exited ({proc.returncode}):\n{viewer.log_tail()}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.version:
        print(versions())
        return 0
    if code := bad_files(p, args.files):
        return code
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
