"""The viewer binary this wheel carries: finding it, checking it can run here, and
starting it with this interpreter as its Python."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from buckaroo_desktop import _display, _probe

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
#: The viewer's single instance is named after it (instance()).
INSTANCE_ENV = "BUCKAROO_INSTANCE"


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


def buckaroo_requirements(fallback: list[str]) -> list[str]:
    """This package's `buckaroo` extra: the buckaroo line it is tested with, and what
    that line needs besides; `fallback` (the probe's own) from a source checkout."""
    try:
        requires = importlib.metadata.requires("buckaroo-desktop") or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    found = [spec.strip().replace(" ", "") for spec, _, marker in (r.partition(";") for r in requires)
             if re.search(r"""extra\s*==\s*["']buckaroo["']""", marker)]
    return found or fallback


def python_message(python: str, report: dict) -> str:
    """Each problem the probe found (a missing module, pandas 3...), and the one pip
    command that fixes them all."""
    pip = shlex.join([python, "-m", "pip", "install", *buckaroo_requirements(shlex.split(report.get("pip") or ""))])
    return "\n".join([f"this Python ({python}) cannot run buckaroo, which the viewer runs in it for the data:",
                      *(f"  - {problem}" for problem in report["problems"]), "Install what it needs with:", f"  {pip}"])


def check_python(python: str = sys.executable) -> None:
    """The sidecar runs this interpreter: the plugin's own probe must find it complete."""
    folder = _probe.launcher_folder()
    if folder is None:
        raise ViewerError(f"no launcher package at {_probe.BUNDLED}: this install of buckaroo-desktop is incomplete (reinstall the wheel)")
    try:
        report = _probe.run(python, folder)
    except _probe.ProbeFailed as e:
        raise ViewerError(str(e), NO_BUCKAROO) from None
    if not report.get("ok"):
        raise ViewerError(python_message(python, report), NO_BUCKAROO)


def check_display() -> None:
    """Before the viewer starts: GTK's own failure there is a panic in the viewer."""
    problem = _display.problem()
    if problem:
        raise ViewerError(problem)


_checked: list[Path] = []


def checked() -> Path:
    """The binary, once everything it needs was found (checked once per process)."""
    if not _checked:
        path = binary()
        check_libraries(path)
        check_python()
        _checked.append(path)
    check_display()
    return _checked[0]


def instance() -> str:
    """Names the viewer of this Python environment: one viewer per environment, its
    windows sharing it, so the buckaroo installed here computes what show() sends from
    here (the app names its single-instance D-Bus service after it). A venv's python is
    a link to its base interpreter, so the environment is sys.prefix, with the
    interpreter that runs it (/usr holds several). Letters and digits, a letter first:
    a D-Bus name element as it is."""
    key = f"{os.path.realpath(sys.prefix)}\0{os.path.realpath(sys.executable)}"
    return "py" + hashlib.sha256(key.encode()).hexdigest()[:16]


def environment() -> dict[str, str]:
    """The viewer's: this interpreter is the sidecar's Python and names its instance;
    pip, not the viewer's own updater, updates this copy."""
    return {**os.environ, "BUCKAROO_PYTHON": sys.executable, INSTANCE_ENV: instance(),
            "BUCKAROO_UPDATED_BY": "pip install -U buckaroo-desktop"}


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


def children(pid: int) -> list[int]:
    """The processes `pid` started and that still run."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


def wait_up(proc: subprocess.Popen, timeout: float) -> None:
    """Until the viewer is known to be up, at most `timeout` s: it exited (0: it handed
    its files to the viewer already running, which took them; else it failed), or it
    started a process. A second launch starts none before it hands over and exits; the
    running viewer's first are its sidecar's probe and its web view's WebKit processes,
    as its windows are built. (No other signal comes out of the viewer without a change
    to it.)"""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and not children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
