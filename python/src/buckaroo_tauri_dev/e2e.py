"""Drive the real built example app under Xvfb: Xvfb → tauri-driver (npm) →
WebKitWebDriver → the app. Every process started here is tracked and ended."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig

REPO = Path(__file__).resolve().parents[3]
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "buckaroo-tauri" / "target"))
APP_BINARY = TARGET_DIR / "debug" / "buckaroo-tauri-example"
TAURI_DRIVER = REPO / "node_modules" / ".bin" / "tauri-driver"
VENV_PYTHON = REPO / "python" / ".venv" / "bin" / "python"

# Software rendering under Xvfb: without these, element screenshots come out black
# and some WebKitGTK builds paint nothing.
HEADLESS_ENV = {
    "WEBKIT_DISABLE_DMABUF_RENDERER": "1",
    "WEBKIT_DISABLE_COMPOSITING_MODE": "1",
    "NO_AT_BRIDGE": "1",
    "LIBGL_ALWAYS_SOFTWARE": "1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}) before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port} after {timeout}s")


def _kill_group(proc: subprocess.Popen, grace: float = 3.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)


@dataclass
class Xvfb:
    """A private X server (unless one is already given), ended with the tests."""

    width: int = 1280
    height: int = 800
    proc: subprocess.Popen | None = None
    display: str = ""

    def start(self) -> Xvfb:
        if shutil.which("Xvfb") is None:
            raise RuntimeError("Xvfb is not installed: run `make setup`")
        for n in range(90, 190):
            if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
                break
        self.display = f":{n}"
        self.proc = subprocess.Popen(
            ["Xvfb", self.display, "-screen", "0", f"{self.width}x{self.height}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Xvfb {self.display} did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc:
            _kill_group(self.proc)


@dataclass
class TauriDriver:
    """tauri-driver + its WebKitWebDriver, with the app's environment."""

    display: str
    app_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    port: int = 0
    log_path: Path | None = None
    #: The app's working directory (relative command-line paths resolve against it).
    cwd: Path | None = None

    def start(self) -> TauriDriver:
        if not TAURI_DRIVER.exists():
            raise RuntimeError(f"{TAURI_DRIVER} missing: run `make setup`")
        self.port, native = free_port(), free_port()
        env = {**os.environ, **HEADLESS_ENV, "DISPLAY": self.display, **self.app_env}
        env.pop("WAYLAND_DISPLAY", None)
        out_dir = REPO / "out" / "logs"
        out_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = out_dir / f"tauri-driver-{self.port}.log"
        log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            [str(TAURI_DRIVER), "--port", str(self.port), "--native-port", str(native)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.cwd,
        )
        wait_port(self.port, 20, self.proc)
        return self

    def session(self, args: list[str] | None = None, timeout: float = 90, binary: Path | None = None) -> webdriver.Remote:
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": str(binary or APP_BINARY), "args": args or []})
        url = f"http://127.0.0.1:{self.port}"
        # A session against an app that does not allow automation hangs forever: bound it.
        # No urllib3 retries: a hung command must fail once, not three times over.
        config = ClientConfig(url, timeout=int(timeout), init_args_for_pool_manager={"retries": False})
        return webdriver.Remote(command_executor=url, options=opts, client_config=config)

    def stop(self) -> None:
        if self.proc:
            _kill_group(self.proc)

    def log_tail(self, n: int = 60) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def built_manifest(path: Path, make: str, suite: str) -> dict:
    """The manifest.json a make target wrote (`make bundle`, `make wheel`); a test fails,
    naming the target, when it is missing."""
    import json

    import pytest

    if not path.exists():
        pytest.fail(f"{path} missing: run `make {make}` (make {suite} builds it)")
    return json.loads(path.read_text())


_APP_HOME: list[Path] = []


def app_home() -> Path:
    """The HOME apps run with unless a test gives one: a temp dir for this process,
    removed at exit. The example app imports xorq at start (BuckarooConfig::xorq()),
    and xorq and buckaroo write their logs and caches under HOME."""
    if not _APP_HOME:
        import atexit
        import tempfile

        _APP_HOME.append(Path(tempfile.mkdtemp(prefix="buckaroo-tauri-app-home-")))
        atexit.register(shutil.rmtree, _APP_HOME[0], True)
    return _APP_HOME[0]


# No session bus unless a test starts one (SessionBus): with a bus, every app launched
# while another runs would hand its files over and exit (single instance).
NO_BUS = "unix:path=/nonexistent/buckaroo-tauri-no-bus"


def app_env(autoload: Path | None = None, mode: str = "buckaroo", scope: list[Path] | None = None, **extra: str) -> dict[str, str]:
    real = Path.home()
    env = {"BUCKAROO_PYTHON": str(VENV_PYTHON), "RUST_LOG": "info,buckaroo_tauri=debug", "HOME": str(app_home()),
           "DBUS_SESSION_BUS_ADDRESS": NO_BUS,
           # What `tauri dev` (cargo, rustup, npm) finds through HOME, kept.
           "CARGO_HOME": os.environ.get("CARGO_HOME", str(real / ".cargo")),
           "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(real / ".rustup")),
           "NPM_CONFIG_USERCONFIG": os.environ.get("NPM_CONFIG_USERCONFIG", str(real / ".npmrc")),
           "NPM_CONFIG_CACHE": os.environ.get("NPM_CONFIG_CACHE", str(real / ".npm"))}
    if autoload:
        env["BUCKAROO_AUTOLOAD_PARQUET"] = str(autoload)
        env["BUCKAROO_AUTOLOAD_MODE"] = mode
    if scope:
        env["BUCKAROO_TAURI_SCOPE"] = os.pathsep.join(str(p) for p in scope)
    env.update(extra)
    return env


@contextlib.contextmanager
def running_app(display: str, env: dict[str, str], binary: Path | None = None) -> Iterator[tuple[webdriver.Remote, TauriDriver]]:
    driver_proc = TauriDriver(display, env).start()
    driver = None
    try:
        driver = driver_proc.session(binary=binary)
        driver.set_script_timeout(120)
        yield driver, driver_proc
    finally:
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.quit()
        driver_proc.stop()


# -- page helpers --------------------------------------------------------------

def invoke(driver: webdriver.Remote, cmd: str, args: dict | None = None) -> dict:
    """Call a plugin command from the page; returns {"ok": result} or {"err": error}."""
    return driver.execute_async_script(
        """
        const [cmd, args, done] = arguments;
        window.__TAURI_INTERNALS__.invoke('plugin:buckaroo-tauri|' + cmd, args || {})
          .then(r => done({ok: r}), e => done({err: e}));
        """,
        cmd, args or {},
    )


def wait_until(fn, timeout: float = 60, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


# buckaroo's data grid is the AG Grid with the pinned `index` column (its own columns are
# renamed a, b, c… and virtualised); the status bar above it is an AG Grid too. Cell text
# is read as textContent: every cell is under overflow:hidden, where WebDriver's text is "".
DATA_GRID_JS = """
const dataGrid = () => [...document.querySelectorAll('.ag-root-wrapper')]
  .filter(r => r.querySelector('.ag-header-cell[col-id="index"]')).pop();
"""

# How many data rows show a value in column `a` (0 until the first rows are painted).
ROWS_PAINTED_JS = DATA_GRID_JS + """
const root = dataGrid();
if (!root) return 0;
return [...root.querySelectorAll('.ag-center-cols-container .ag-row .ag-cell[col-id="a"]')].filter(c => c.textContent.trim()).length;
"""


def page_state(driver: webdriver.Remote) -> dict:
    return driver.execute_script(
        """
        const h = window.__buckaroo;
        return {
          sidecar: document.getElementById('sidecar')?.dataset.state,
          sidecarText: document.getElementById('sidecar')?.textContent,
          error: document.getElementById('error')?.hidden ? null : document.getElementById('error')?.textContent,
          errorCode: document.getElementById('error')?.dataset.code || null,
          file: document.getElementById('file')?.textContent,
          session: h?.sessionId ?? null,
          counters: h ? {...h.model.counters} : null,
          renderFunc: h ? h.model.get('render_func_name') : null,
          totalRows: h ? (h.model.get('df_meta') || {}).total_rows : null,
        };
        """
    )


def grab(display: str, path: Path) -> Path:
    """Screenshot of the X display: the pixels a user would see. (WebKitWebDriver's own
    screenshot command hangs on this build whenever the page has no animation frame
    pending, so it is not used.)"""
    from PIL import ImageGrab

    path.parent.mkdir(parents=True, exist_ok=True)
    ImageGrab.grab(xdisplay=display).save(path)
    return path


def screenshot_ok(path: Path, min_colors: int = 8) -> bool:
    """Not blank: a real grid has many distinct colours and is not one flat block."""
    from PIL import Image

    with Image.open(path) as img:
        small = img.convert("RGB").resize((320, 200))
        colors = small.getcolors(maxcolors=1 << 16) or []
        extrema = small.convert("L").getextrema()
    return len(colors) >= min_colors and extrema[1] - extrema[0] > 50


def answer_file_dialog(display: str, path: Path, title: str = "Open File", timeout: float = 20) -> None:
    """Type `path` into the native GTK open dialog (as a user would: Ctrl+L, path, Enter)."""
    wid = wait_until(lambda: xdo(display, "search", "--name", f"^{title}$").split(),
                     timeout=timeout, what=f"the '{title}' dialog")[0]
    xdo(display, "windowfocus", "--sync", wid)
    xdo(display, "key", "--window", wid, "ctrl+l", check=True)
    time.sleep(0.4)
    xdo(display, "type", "--delay", 5, path, check=True)
    time.sleep(0.3)
    xdo(display, "key", "Return", check=True)


def answer_folder_dialog(display: str, path: Path, title: str, timeout: float = 20) -> None:
    """Choose the folder `path` in the native GTK folder dialog, as a user would: type it
    in the location bar (Ctrl+L) with a trailing slash, drop the inline completion GTK
    offers for its first subfolder (Delete), Enter. No key goes out once the dialog
    closed: the page's focused button would take it and open another one."""
    visible = lambda: xdo(display, "search", "--onlyvisible", "--name", f"^{title}$").split()  # noqa: E731
    wid = wait_until(visible, timeout=timeout, what=f"the '{title}' dialog")[0]
    time.sleep(1.0)  # GTK drops keys while it lists the start folder
    xdo(display, "windowfocus", "--sync", wid)
    xdo(display, "key", "--window", wid, "ctrl+l", check=True)
    time.sleep(0.5)
    xdo(display, "type", "--delay", 10, f"{str(path).rstrip('/')}/", check=True)
    time.sleep(0.8)
    xdo(display, "key", "--window", wid, "Delete", "Return", check=True)
    try:
        wait_until(lambda: not visible(), timeout=timeout, what=f"the '{title}' dialog to close")
    except TimeoutError:
        with contextlib.suppress(Exception):
            grab(display, Path(os.environ.get("TMPDIR", "/tmp")) / "folder-dialog-stuck.png")
        raise


# -- the desktop around the app: a session bus, X windows, keys, processes -------

@dataclass
class SessionBus:
    """A private D-Bus session bus (what single-instance uses on Linux), ended by PID."""

    proc: subprocess.Popen | None = None
    address: str = ""

    def start(self) -> SessionBus:
        self.proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                                     stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.address = (self.proc.stdout.readline() if self.proc.stdout else "").strip()
        if not self.address:
            self.stop()
            raise RuntimeError("dbus-daemon printed no address: is the dbus package installed? (make setup)")
        return self

    def stop(self) -> None:
        if self.proc:
            _kill_group(self.proc)


def xdo(display: str, *args: object, check: bool = False) -> str:
    """xdotool on `display`; its stdout. `check`: a failing xdotool raises (keys and text
    that must reach a window)."""
    env = {"DISPLAY": display, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(["xdotool", *map(str, args)], env=env, capture_output=True, text=True, timeout=30,
                          check=check).stdout


def x_windows(display: str, name: str) -> list[str]:
    """Top-level X windows whose title matches the regex `name` (GTK's 10x10 helper windows left out)."""
    found = []
    for wid in xdo(display, "search", "--name", name).split():
        geometry = xdo(display, "getwindowgeometry", wid)
        if "Geometry: 10x10" not in geometry and "Geometry:" in geometry:
            found.append(wid)
    return found


def keys(display: str, window_name: str, *combos: str, pause: float = 0.3) -> None:
    """Focus the window titled `window_name` (regex) and press `combos` in turn, as a user would."""
    wid = wait_until(lambda: x_windows(display, window_name), timeout=30, what=f"a window named {window_name!r}")[0]
    xdo(display, "windowfocus", "--sync", wid)
    time.sleep(pause)
    for combo in combos:
        xdo(display, "key", combo)
        time.sleep(pause)


def pids_running(exe: Path | str) -> list[int]:
    """PIDs whose executable is `exe`."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(proc / "exe") == str(exe):
                    found.append(int(proc.name))
    return found


def python_children(pid: int) -> list[int]:
    """PIDs of the Python processes `pid` started (an app's sidecar, or its probe)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if ppid == pid and "python" in Path(os.readlink(proc / "exe")).name:
                    found.append(int(proc.name))
    return found


def drag_file(display: str, path: Path, target: tuple[int, int], timeout: float = 30) -> list[str]:
    """A real XDND drag of `path` onto the screen point `target`: a GTK drag source
    (drag_source.py, system python3-gi) pressed, moved and released through XTest.
    Released only once the target accepted (GTK cancels an unaccepted drop). Returns
    the source's log (DRAG-BEGIN … DATA-GET … DRAG-END)."""
    import queue
    import threading

    source = Path(__file__).with_name("drag_source.py")
    src_x, src_y = target[0] + 300, 40
    proc = subprocess.Popen(["/usr/bin/python3", str(source), str(path), str(src_x), str(src_y), str(timeout)],
                            env={**os.environ, "DISPLAY": display}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.strip()) for line in proc.stdout or []], daemon=True).start()
    seen: list[str] = []

    def wait_line(word: str, within: float) -> bool:
        deadline = time.monotonic() + within
        while not any(word in line for line in seen):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=left))
        return True

    try:
        if not wait_line("READY", 15):
            raise RuntimeError(f"the drag source did not start: {seen!r}")
        sx, sy = src_x + 100, src_y + 50
        xdo(display, "mousemove", sx, sy)
        time.sleep(0.1)
        xdo(display, "mousedown", 1)
        time.sleep(0.1)
        for i in range(1, 11):
            xdo(display, "mousemove", int(sx + (target[0] - sx) * i / 10), int(sy + (target[1] - sy) * i / 10))
            time.sleep(0.05)
        # The webview answers the first position late when its page is busy: nudge until it accepts.
        deadline, n = time.monotonic() + 10, 0
        while not wait_line("ACTION ['copy']", 0.5) and time.monotonic() < deadline:
            n += 1
            xdo(display, "mousemove", target[0] + n % 2, target[1])
        time.sleep(0.1)
        xdo(display, "mouseup", 1)
        wait_line("EXIT", timeout)
    finally:
        _kill_group(proc, grace=1)
    return seen
