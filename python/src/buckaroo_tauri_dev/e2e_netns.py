"""The app with no network: a network namespace with only loopback up, held open by a
sleeping process, and a bridge so WebDriver outside it reaches tauri-driver inside.

    pytest (outside) ──TCP 127.0.0.1:P2──► socat ──unix socket──► socat (inside) ──TCP 127.0.0.1:P──► tauri-driver

A unix socket bound to a path is reachable from every namespace (it is a file), so the
two socats need nothing else. Needs root (unshare --net, nsenter). Everything started
here is a process group ended by e2e_procs.kill_group. Imports only e2e_procs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .e2e_procs import children, free_port, kill_group, wait_port, wait_until

# Proves from inside that nothing leaves: public addresses are unreachable and no name
# resolves (a package index's host would be a name like any other).
NO_NETWORK_PY = """
import socket, sys
for addr in [("1.1.1.1", 443), ("8.8.8.8", 53), ("2606:4700:4700::1111", 443)]:
    try:
        socket.create_connection(addr, timeout=3).close()
        sys.exit(f"connected to {addr}")
    except OSError:
        pass
try:
    socket.getaddrinfo("example.org", 443)
    sys.exit("a name resolved")
except OSError:
    pass
"""


def needs_root() -> str | None:
    """Why the namespace cannot be made here, or None."""
    if os.geteuid() != 0:
        return "a network namespace needs root (CI runs as root)"
    missing = [t for t in ("unshare", "nsenter", "ip", "socat") if shutil.which(t) is None]
    return f"missing {', '.join(missing)}: run `make setup`" if missing else None


def listening(ns_pid: int, port: int) -> bool:
    """Something listens on `port` in the network namespace of `ns_pid` (/proc/PID/net is
    that namespace's view)."""
    want = f":{port:04X}"
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{ns_pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        if any(f[1].endswith(want) and f[3] == "0A" for f in (line.split() for line in lines)):
            return True
    return False


@dataclass
class Bridge:
    """One TCP port inside the namespace, served on a loopback port outside it."""

    inside: subprocess.Popen | None = None
    outside: subprocess.Popen | None = None
    port: int = 0
    tmp: str = ""

    def stop(self) -> None:
        for proc in (self.outside, self.inside):
            if proc is not None:
                kill_group(proc)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


@dataclass
class OfflineNet:
    """A network namespace with loopback only, for as long as this object is started."""

    holder: subprocess.Popen | None = None
    pid: int = 0  # the sleeping process inside: /proc/<pid>/ns/net
    bridges: list[Bridge] = field(default_factory=list)

    def start(self) -> OfflineNet:
        why = needs_root()
        if why:
            raise RuntimeError(why)
        self.holder = subprocess.Popen(["unshare", "--net", "--fork", "--", "sh", "-c", "ip link set lo up && exec sleep infinity"],
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        # unshare itself stays outside; its child is inside, ready once it is `sleep`.
        def ready() -> int:
            if self.holder.poll() is not None:
                raise RuntimeError(f"unshare exited ({self.holder.returncode})")
            for pid in children(self.holder.pid):
                try:
                    if Path(f"/proc/{pid}/comm").read_text().strip() == "sleep":
                        return pid
                except OSError:
                    pass
            return 0

        self.pid = wait_until(ready, 10, 0.02, "the network namespace's holder")
        if os.readlink(f"/proc/{self.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
            raise RuntimeError("the holder shares this process's network namespace")
        return self

    @property
    def ns(self) -> str:
        return f"/proc/{self.pid}/ns/net"

    def enter(self, cmd: list[str]) -> list[str]:
        """`cmd` run inside the namespace (nsenter execs it: the pid stays the command's)."""
        return ["nsenter", f"--net={self.ns}", "--", *cmd]

    def run(self, cmd: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(self.enter(cmd), capture_output=True, text=True, timeout=timeout)

    def offline_evidence(self) -> list[str]:
        """What shows the namespace has no network; empty when it has none."""
        wrong = []
        links = [line.split(":")[1].strip() for line in self.run(["ip", "-o", "link"]).stdout.splitlines()]
        if links != ["lo"]:
            wrong.append(f"links besides lo: {links}")
        for family in ("-4", "-6"):
            routes = self.run(["ip", family, "route"]).stdout.splitlines()
            # Loopback's own ::1 route is the only one a namespace starts with.
            if [r for r in routes if not r.startswith("::1 dev lo")]:
                wrong.append(f"ip {family} route: {routes}")
        probe = self.run([sys.executable, "-c", NO_NETWORK_PY])
        if probe.returncode != 0:
            wrong.append(f"inside the namespace: {probe.stderr.strip() or probe.returncode}")
        return wrong

    def bridge(self, port: int, timeout: float = 20, proc: subprocess.Popen | None = None) -> Bridge:
        """Once something inside listens on `port`, a loopback port outside reaching it."""
        deadline = time.monotonic() + timeout
        while not listening(self.pid, port):
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"process exited ({proc.returncode}) before listening on {port} inside the namespace")
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {port} inside the namespace after {timeout}s")
            time.sleep(0.05)
        b = Bridge(tmp=tempfile.mkdtemp(prefix="buckaroo-netns-"), port=free_port())
        sock = Path(b.tmp) / "bridge.sock"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
        b.inside = subprocess.Popen(self.enter(["socat", f"UNIX-LISTEN:{sock},fork", f"TCP:127.0.0.1:{port}"]), **quiet)
        wait_until(lambda: sock.exists() or b.inside.poll() is not None, 10, 0.02, "the bridge's socket")
        b.outside = subprocess.Popen(["socat", f"TCP-LISTEN:{b.port},bind=127.0.0.1,fork,reuseaddr", f"UNIX-CONNECT:{sock}"], **quiet)
        self.bridges.append(b)
        wait_port(b.port, 10, b.outside)
        return b

    def stop(self) -> None:
        for b in self.bridges:
            b.stop()
        self.bridges.clear()
        if self.holder is not None:
            kill_group(self.holder)
