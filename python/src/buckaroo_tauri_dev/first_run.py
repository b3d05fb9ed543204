"""The managed environment seen from outside, for its tests (test_first_run.py) and its
bench (bench_first_run): the app launched as a user with nothing — a fresh HOME, the
system's PATH, no BUCKAROO_PYTHON — maybe with no network (e2e_netns), and the page's
status sampled until rows are painted."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from selenium import webdriver

from . import bundle, e2e, e2e_page, e2e_procs
from .e2e_netns import OfflineNet

# What a desktop session's PATH holds on Debian: python3 is /usr/bin/python3.
SYSTEM_PATH = "/usr/bin:/bin"
ENV_KEY = re.compile(r"engine-py3\.\d+-[0-9a-f]{12}")
PERCENT = re.compile(r"(\d+)\s*%")

# One round trip per sample: the status line, the error's code and text, painted rows.
SAMPLE_JS = ("const rows = (() => {" + e2e_page.ROWS_PAINTED_JS + "})();"
             "const s = document.getElementById('sidecar'), e = " + e2e_page.SHOWN_ERROR + ";"
             "return [s ? s.dataset.state : null, s ? s.textContent : null,"
             " e && !e.hidden ? e.dataset.code || '' : null, e && !e.hidden ? e.textContent : null, rows];")


def env_root(home: Path) -> Path:
    """Where the plugin keeps managed environments for the example app."""
    return home / ".local" / "share" / bundle.identifier() / "buckaroo-env"


def env_dirs(home: Path) -> list[Path]:
    """The managed environments (and staging dirs) under `home`: every non-dot directory."""
    root = env_root(home)
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.exists() else []


def user_binary(tmp: Path, binary: Path, path: str = SYSTEM_PATH, **env: str) -> Path:
    """`binary` as a user with nothing starts it: PATH=`path`, no BUCKAROO_PYTHON unless
    given in `env`."""
    unset = () if "BUCKAROO_PYTHON" in env else ("BUCKAROO_PYTHON",)
    return e2e.wrapped_binary(tmp / f"as-user-{int(time.monotonic() * 1000)}", binary, {"PATH": path, **env}, unset)


def driver_env(home: Path, **extra: str) -> dict[str, str]:
    """tauri-driver's environment (the app's, less what user_binary changes): a session bus
    that is none, and `home`."""
    env = e2e.app_env(HOME=str(home), **extra)
    env.pop("BUCKAROO_PYTHON")
    return env


@dataclass
class Sample:
    t: float  # seconds since launch
    state: str | None
    text: str | None
    error: str | None  # the error's code when #error shows
    error_text: str | None
    rows: int


@dataclass
class Run:
    """One launch: when it started, when its page answered, what was sampled."""

    t0: float
    page_ready: float = 0.0
    samples: list[Sample] = field(default_factory=list)

    def states(self) -> list[str | None]:
        return [s.state for s in self.samples]

    def texts(self, state: str) -> list[str]:
        """The distinct texts shown in `state`, in order."""
        seen: list[str] = []
        for s in self.samples:
            if s.state == state and s.text and s.text not in seen:
                seen.append(s.text)
        return seen

    def painted_s(self) -> float | None:
        return next((s.t for s in self.samples if s.rows), None)


def sample(driver: webdriver.Remote, run: Run) -> Sample:
    state, text, error, error_text, rows = driver.execute_script(SAMPLE_JS)
    s = Sample(time.monotonic() - run.t0, state, text, error, error_text, int(rows or 0))
    run.samples.append(s)
    return s


def watch(driver: webdriver.Remote, run: Run, until, timeout: float = 600, interval: float = 0.1) -> Sample:
    """Samples every `interval` s until `until(sample)` holds; that sample."""
    deadline = time.monotonic() + timeout
    while True:
        s = sample(driver, run)
        if until(s):
            return s
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout}s: last {s}")
        time.sleep(interval)


def percent(s: Sample) -> int | None:
    m = PERCENT.search(s.text or "") if s.state == "provisioning" else None
    return int(m.group(1)) if m else None


@contextlib.contextmanager
def launched(display: str, binary: Path, env: dict[str, str], args: list[str], cwd: Path,
             netns: OfflineNet | None = None) -> Iterator[tuple[webdriver.Remote, e2e.TauriDriver, Run]]:
    """The app started through tauri-driver (in `netns` when given) and its page answering."""
    drv = e2e.TauriDriver(display, env, cwd=cwd, netns=netns).start()
    driver = None
    try:
        run = Run(time.monotonic())
        driver = drv.session(args=args, binary=binary, timeout=120)
        run.page_ready = time.monotonic() - run.t0
        driver.set_script_timeout(60)
        yield driver, drv, run
    finally:
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.quit()
        drv.stop()


def app_pid(binary: Path) -> int:
    (pid,) = e2e_procs.wait_until(lambda: e2e_procs.pids_running(binary), 30, what=f"{binary} running")
    return pid


def descendants(pid: int) -> list[int]:
    found = []
    for child in e2e_procs.children(pid):
        found += [child, *descendants(child)]
    return found


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []
