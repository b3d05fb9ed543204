"""Drive the real built example app under Xvfb: Xvfb → tauri-driver (npm) →
WebKitWebDriver → the app, with the app's environment. Every process started here is
tracked and ended. Page helpers are in e2e_page, the desktop around the app (session
bus, X windows, keys, native dialogs, drags) in e2e_desktop, process helpers in e2e_procs."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig

from .e2e_netns import Bridge, OfflineNet

# Re-exported: test_scaffold.py and the scaffold branch still being written read them
# from here (`e2e.wait_until`, `e2e.grab`, ...).
from .e2e_page import ROWS_PAINTED_JS as ROWS_PAINTED_JS
from .e2e_page import grab as grab
from .e2e_page import screenshot_ok as screenshot_ok
from .e2e_procs import free_port, kill_group, wait_port
from .e2e_procs import wait_until as wait_until

REPO = Path(__file__).resolve().parents[3]
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "buckaroo-tauri" / "target"))
APP_BINARY = TARGET_DIR / "debug" / "buckaroo-tauri-example"
RELEASE_BINARY = TARGET_DIR / "release" / "buckaroo-tauri-example"
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
            kill_group(self.proc)


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
    #: Run tauri-driver (and so the app) inside this network namespace; `port` is then
    #: the loopback port outside that a bridge serves it on.
    netns: OfflineNet | None = None
    bridge: Bridge | None = None

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
        cmd = [str(TAURI_DRIVER), "--port", str(self.port), "--native-port", str(native)]
        self.proc = subprocess.Popen(
            self.netns.enter(cmd) if self.netns else cmd,
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.cwd,
        )
        if self.netns:
            self.bridge = self.netns.bridge(self.port, 20, self.proc)
            self.port = self.bridge.port
        else:
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
        if self.bridge:
            self.bridge.stop()
        if self.proc:
            kill_group(self.proc)

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
           "NPM_CONFIG_CACHE": os.environ.get("NPM_CONFIG_CACHE", str(real / ".npm")),
           # The example parks a warm standby sidecar once idle: tests and benches that count
           # or measure the app's one sidecar run without it; those of the standby say "1".
           "BUCKAROO_STANDBY": "0"}
    if autoload:
        env["BUCKAROO_AUTOLOAD_PARQUET"] = str(autoload)
        env["BUCKAROO_AUTOLOAD_MODE"] = mode
    if scope:
        env["BUCKAROO_TAURI_SCOPE"] = os.pathsep.join(str(p) for p in scope)
    env.update(extra)
    return env


def wrapped_binary(path: Path, binary: Path, env: dict[str, str], unset: tuple[str, ...] = ()) -> Path:
    """A script at `path` that runs `binary` with `env` set and `unset` removed: the app's
    own environment (a PATH without python3, say) while tauri-driver and WebKitWebDriver,
    which find node and each other on PATH, keep theirs. It execs, so the app's pid is the
    one WebDriver started."""
    import shlex

    sets = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
    unsets = " ".join(f"-u {shlex.quote(k)}" for k in unset)
    path.write_text(f'#!/bin/sh\nexec /usr/bin/env {unsets} {sets} {shlex.quote(str(binary))} "$@"\n')
    path.chmod(0o755)
    return path


@contextlib.contextmanager
def running_app(display: str, env: dict[str, str], binary: Path | None = None, args: list[str] | None = None,
                netns: OfflineNet | None = None, cwd: Path | None = None) -> Iterator[tuple[webdriver.Remote, TauriDriver]]:
    driver_proc = TauriDriver(display, env, cwd=cwd, netns=netns).start()
    driver = None
    try:
        driver = driver_proc.session(args=args, binary=binary)
        driver.set_script_timeout(120)
        yield driver, driver_proc
    finally:
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.quit()
        driver_proc.stop()
