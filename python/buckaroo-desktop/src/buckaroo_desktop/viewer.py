"""The viewer binary this wheel carries: finding it, checking it can run here, and
starting it with this interpreter as its Python."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

#: Inside the wheel (hatch_build.py: INSIDE). BUCKAROO_DESKTOP_VIEWER overrides it,
#: for a source checkout run against a debug build.
BINARY = Path(__file__).parent / "bin" / "buckaroo-desktop-viewer"
BINARY_ENV = "BUCKAROO_DESKTOP_VIEWER"

# Exit codes of the command line (and ViewerError.code's meaning).
CANNOT_RUN_HERE = 3
NO_BUCKAROO = 4

# The packages that bring what the viewer links from the OS. The .deb's Depends
# (computed by the Tauri bundler) is the reference: the wheel tests check the Debian
# names against it.
OS_PACKAGES = {
    "Debian/Ubuntu": "sudo apt install libwebkit2gtk-4.1-0 libgtk-3-0",
    "Fedora": "sudo dnf install webkit2gtk4.1 gtk3",
    "Arch": "sudo pacman -S webkit2gtk-4.1 gtk3",
}
LOADER_ERROR = re.compile(r"error while loading shared libraries: (\S+?):")


class ViewerError(RuntimeError):
    """The viewer cannot start here; the message says what to do. `code` is the
    command line's exit code for it."""

    def __init__(self, message: str, code: int = CANNOT_RUN_HERE) -> None:
        super().__init__(message)
        self.code = code


def binary() -> Path:
    path = Path(os.environ.get(BINARY_ENV) or BINARY)
    if not path.is_file():
        raise ViewerError(f"no viewer binary at {path}: this install of buckaroo-desktop is incomplete (reinstall the wheel, "
                          f"or point {BINARY_ENV} at a built viewer)")
    return path


def missing_libraries_message(missing: str) -> str:
    lines = [f"buckaroo-desktop needs WebKitGTK 4.1 and GTK 3 from the operating system ({missing} was not found).",
             "Install them with the system's package manager:"]
    lines += [f"  {distro + ':':<15}{command}" for distro, command in OS_PACKAGES.items()]
    return "\n".join(lines)


def check_libraries(path: Path) -> None:
    """Run `viewer --version`: it answers before any window, so the only way it fails
    is the dynamic loader's; a ViewerError naming the OS packages then."""
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60, env={**os.environ, "DISPLAY": ""})
    found = LOADER_ERROR.search(out.stderr)
    if found:
        raise ViewerError(missing_libraries_message(found.group(1)))
    if out.returncode != 0:
        raise ViewerError(f"the viewer at {path} does not run here (exit {out.returncode}): {out.stderr.strip()[-500:]}")


def buckaroo_requirements() -> list[str]:
    """This package's `buckaroo` extra: the buckaroo line it is tested with, and what
    that line needs besides."""
    try:
        requires = importlib.metadata.requires("buckaroo-desktop") or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    found = [spec.strip().replace(" ", "") for spec, _, marker in (r.partition(";") for r in requires)
             if re.search(r"""extra\s*==\s*["']buckaroo["']""", marker)]
    return found or ["buckaroo[server,polars]"]


def check_buckaroo() -> None:
    """The sidecar runs this interpreter: it must have buckaroo."""
    if importlib.util.find_spec("buckaroo") is None:
        pip = shlex.join([sys.executable, "-m", "pip", "install", *buckaroo_requirements()])
        raise ViewerError(f"buckaroo is not installed in this Python ({sys.executable}); the viewer runs it for the data.\n"
                          f"Install it with:\n  {pip}", NO_BUCKAROO)


def check_display() -> None:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise ViewerError("no desktop session here (neither DISPLAY nor WAYLAND_DISPLAY is set): the viewer opens a window")


_checked: list[Path] = []


def checked() -> Path:
    """The binary, once everything it needs was found (checked once per process)."""
    if not _checked:
        path = binary()
        check_libraries(path)
        check_buckaroo()
        _checked.append(path)
    check_display()
    return _checked[0]


def environment() -> dict[str, str]:
    """The viewer's: this interpreter is the sidecar's Python; pip, not the viewer's
    own updater, updates this copy."""
    return {**os.environ, "BUCKAROO_PYTHON": sys.executable, "BUCKAROO_UPDATED_BY": "pip install -U buckaroo-desktop"}


def log_path() -> Path:
    """Where a viewer started in the background writes its log."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "buckaroo-desktop" / "viewer.log"


def start_detached(args: list[str]) -> subprocess.Popen:
    """The viewer in its own session (a Ctrl+C here does not end it), logging to log_path()."""
    log = log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists() and log.stat().st_size > 5_000_000:
        log.unlink()
    with log.open("ab") as out:
        return subprocess.Popen([str(checked()), *args], env=environment(), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def log_tail(n: int = 20) -> str:
    path = log_path()
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""
