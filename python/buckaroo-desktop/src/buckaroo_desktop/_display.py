"""Whether the display the viewer would open its windows on answers. A set but dead
DISPLAY (a stale SSH X forwarding, a desktop session that ended) makes GTK fail inside
the viewer, after the shell has handed over; so the addresses GTK would use are tried
here first, found the way libxcb and libwayland find them, with a short timeout.
"""

from __future__ import annotations

import os
import re
import socket

#: Per address: a local socket answers at once; a remote X server over a slow network
#: should still get through.
TIMEOUT_S = 2.0
X_TCP_PORT = 6000
# `[protocol/][host]:display[.screen]`, libxcb's xcb_parse_display.
X11_DISPLAY = re.compile(r"^(?:(?P<protocol>[a-z0-9]+)/)?(?P<host>[^/]*):(?P<n>\d+)(?:\.\d+)?$")
#: An X socket's address: (family, address) as socket.connect takes it.
Address = tuple[int, object]


def x11_addresses(display: str) -> tuple[list[Address], str] | None:
    """Where libxcb connects for `display`, in its order, and how to name it; None for a
    form this does not know (such a DISPLAY is left for GTK to judge)."""
    found = X11_DISPLAY.match(display)
    if found is None:
        return None
    protocol, host, n = found["protocol"], found["host"].strip("[]"), int(found["n"])
    if protocol not in (None, "unix") or (host and host != "unix"):
        return [(socket.AF_INET, (host or "localhost", X_TCP_PORT + n))], f"no X server on {host or 'localhost'} port {X_TCP_PORT + n}"
    path = f"/tmp/.X11-unix/X{n}"
    # Linux's abstract socket first (it works across mount namespaces), then the file;
    # `:n` (no protocol, no host) falls back to TCP on this machine.
    local: list[Address] = [(socket.AF_UNIX, "\0" + path), (socket.AF_UNIX, path)]
    if protocol is None and not host:
        local.append((socket.AF_INET, ("localhost", X_TCP_PORT + n)))
    return local, f"no X server at {path}"


def wayland_address(name: str) -> str | None:
    """libwayland's: an absolute name as it is, else in XDG_RUNTIME_DIR (None: unset, it gives up)."""
    if name.startswith("/"):
        return name
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(runtime, name) if runtime else None


def answers(family: int, address: object, timeout: float = TIMEOUT_S) -> bool:
    """A connection is accepted (and closed at once: nothing is said to the server)."""
    try:
        if family == socket.AF_UNIX:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect(address)
        else:
            socket.create_connection(address, timeout).close()
    except OSError:
        return False
    return True


def x11_problem(display: str) -> str | None:
    found = x11_addresses(display)
    if found is None or any(answers(family, address) for family, address in found[0]):
        return None
    return f"DISPLAY={display} does not answer ({found[1]})"


def wayland_problem(name: str) -> str | None:
    path = wayland_address(name)
    if path is None:
        return f"WAYLAND_DISPLAY={name} cannot be found (XDG_RUNTIME_DIR is not set)"
    return None if answers(socket.AF_UNIX, path) else f"WAYLAND_DISPLAY={name} does not answer (no compositor at {path})"


def problem() -> str | None:
    """Why the viewer could not open a window here, or None. GTK takes Wayland or X11,
    whichever answers, so one answering display is enough."""
    x11, wayland = os.environ.get("DISPLAY", ""), os.environ.get("WAYLAND_DISPLAY", "")
    if not (x11 or wayland):
        return "no desktop session here (neither DISPLAY nor WAYLAND_DISPLAY is set): the viewer opens a window"
    problems = [wayland_problem(wayland) if wayland else "", x11_problem(x11) if x11 else ""]
    if any(p is None for p in problems):
        return None
    said = "; ".join(p for p in problems if p)
    return (f"cannot reach the display: {said}. A stale SSH X forwarding (reconnect with `ssh -X`) or a desktop session "
            "that has ended? The viewer opens its windows there.")
