"""The desktop around the app under test: a private D-Bus session bus and a Secret Service
on it, X windows and keys (xdotool), the native GTK file and folder dialogs, and real XDND
drags onto the window."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .e2e_page import grab
from .e2e_procs import kill_group, wait_until


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
            kill_group(self.proc)


@dataclass
class SecretService:
    """gnome-keyring's Secret Service on `bus`, its login keyring made and unlocked in
    `home` (what a desktop session has), ended by PID. `lookup` reads an item as any
    other client would (secret-tool)."""

    bus: SessionBus
    home: Path
    proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        runtime = self.home / "run"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        return {"HOME": str(self.home), "XDG_DATA_HOME": str(self.home / "share"), "XDG_RUNTIME_DIR": str(runtime),
                "DBUS_SESSION_BUS_ADDRESS": self.bus.address, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def start(self) -> SecretService:
        self.proc = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=self.env(), start_new_session=True)
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"login-keyring-password")  # the login keyring's own password, unlocked at once
        self.proc.stdin.close()
        wait_until(self._owned, timeout=20, what="org.freedesktop.secrets on the session bus")
        return self

    def _owned(self) -> bool:
        out = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                              "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"],
                             env=self.env(), capture_output=True, text=True, timeout=10).stdout
        return "boolean true" in out

    def lookup(self, **attributes: str) -> str | None:
        args = [x for kv in attributes.items() for x in kv]
        done = subprocess.run(["secret-tool", "lookup", *args], env=self.env(), capture_output=True, text=True, timeout=10)
        return done.stdout if done.returncode == 0 else None

    def stop(self) -> None:
        if self.proc:
            kill_group(self.proc)


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


def answer_file_dialog(display: str, path: Path, title: str = "Open File", timeout: float = 20) -> None:
    """Type `path` into the native GTK open dialog (as a user would: Ctrl+L, path, Enter),
    once it is shown and takes keys (typed sooner, the keys were lost one run in two and
    the dialog stayed open); returns when it has closed."""
    wid, visible = _focused_dialog(display, title, timeout)
    xdo(display, "key", "--window", wid, "ctrl+l", check=True)
    time.sleep(0.4)
    xdo(display, "type", "--delay", 5, path, check=True)
    time.sleep(0.3)
    xdo(display, "key", "Return", check=True)
    wait_until(lambda: not visible(), timeout=timeout, what=f"the '{title}' dialog to close")


def _focused_dialog(display: str, title: str, timeout: float):
    """The visible GTK dialog titled `title`, focused once it takes keys; its window id and
    a check that it is still shown."""
    visible = lambda: xdo(display, "search", "--onlyvisible", "--name", f"^{title}$").split()  # noqa: E731
    wid = wait_until(visible, timeout=timeout, what=f"the '{title}' dialog")[0]
    time.sleep(1.0)  # GTK drops keys while it lists the start folder
    xdo(display, "windowfocus", "--sync", wid)
    return wid, visible


def answer_save_dialog(display: str, path: Path, title: str, timeout: float = 20) -> None:
    """Save as `path` in the native GTK save dialog, as a user would: the whole name field
    replaced by the full path (GTK takes one there), Enter."""
    wid, visible = _focused_dialog(display, title, timeout)
    xdo(display, "key", "--window", wid, "ctrl+a", check=True)
    time.sleep(0.3)
    xdo(display, "type", "--delay", 10, path, check=True)
    time.sleep(0.5)
    xdo(display, "key", "--window", wid, "Return", check=True)
    wait_until(lambda: not visible(), timeout=timeout, what=f"the '{title}' dialog to close")


def answer_folder_dialog(display: str, path: Path, title: str, timeout: float = 20) -> None:
    """Choose the folder `path` in the native GTK folder dialog, as a user would: type it
    in the location bar (Ctrl+L) with a trailing slash, drop the inline completion GTK
    offers for its first subfolder (Delete), Enter. No key goes out once the dialog
    closed: the page's focused button would take it and open another one."""
    wid, visible = _focused_dialog(display, title, timeout)
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
        kill_group(proc, grace=1)
    return seen
