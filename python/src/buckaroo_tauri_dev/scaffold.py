"""A fresh create-tauri-app project (react-ts: the template most Tauri apps start from,
StrictMode on), wired by `buckaroo-tauri-adapter init` the way an outside user would:
the adapter as an `npm pack` tarball, the crate as a path dependency. Built with the
shared Cargo target dir, so only the app itself compiles warm. Every command's output
goes to out/logs/scaffold-*.log."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from buckaroo_tauri_dev.e2e import REPO, TARGET_DIR, VENV_PYTHON

CREATE_TAURI_APP = "create-tauri-app@4.7.4"
NAME = "scaffold-viewer"
ADAPTER_DIR = REPO / "packages" / "buckaroo-tauri-adapter"
CRATE_DIR = REPO / "crates" / "buckaroo-tauri"
LOGS = REPO / "out" / "logs"
# The Vite plugin and the built app find the repo venv's buckaroo the way a user's
# would find theirs: through BUCKAROO_PYTHON.
ENV = {
    "BUCKAROO_PYTHON": str(VENV_PYTHON),
    "CARGO_TARGET_DIR": str(TARGET_DIR),
    "CI": "true",
    # The workspace's dev profile (no debuginfo for dependencies, Cargo.toml): a faster
    # build and link than the scaffold's default. The scaffold's own feature set still
    # rebuilds most dependencies on a cold target dir; later runs reuse them.
    "CARGO_PROFILE_DEV_DEBUG": "false",
    "CARGO_PROFILE_DEV_BUILD_OVERRIDE_DEBUG": "false",
}


class StepFailed(RuntimeError):
    pass


def run(step: str, cmd: list[str], cwd: Path, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
    """Run one set-up step; on failure the error carries the log's tail."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"scaffold-{step}.log"
    env = {**os.environ, **ENV}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    log.write_text(f"$ {' '.join(cmd)}\n# cwd {cwd}\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise StepFailed(f"{step} failed ({proc.returncode}); log {log}:\n{tail}")
    return proc


def scaffold(root: Path) -> Path:
    """create-tauri-app react-ts in `root`, then the adapter tarball installed into it."""
    run("create", ["npx", "--yes", CREATE_TAURI_APP, NAME, "-m", "npm", "-t", "react-ts", "-y",
                   "--identifier", "dev.buckaroo.scaffold"], cwd=root, timeout=300)
    app = root / NAME
    packed = run("pack", ["npm", "pack", "--silent", "--pack-destination", str(root)], cwd=ADAPTER_DIR, timeout=120)
    tarball = root / packed.stdout.strip().splitlines()[-1]
    run("npm-install", ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", str(tarball)], cwd=app, timeout=600)
    return app


def init(app: Path, *extra: str, step: str = "init", check: bool = True) -> subprocess.CompletedProcess:
    return run(step, ["npx", "buckaroo-tauri-adapter", "init", "--crate-path", str(CRATE_DIR), *extra], cwd=app, timeout=120, check=check)


def seed_lockfile(app: Path) -> None:
    """Start from the workspace's resolved versions so the shared target dir's crates are
    reused; cargo adds what the scaffold has extra (tauri-plugin-opener) and drops the rest."""
    shutil.copyfile(REPO / "Cargo.lock", app / "src-tauri" / "Cargo.lock")


def build(app: Path) -> Path:
    """`tauri build --debug --no-bundle`, as the guide says; returns the binary."""
    run("build", ["npx", "tauri", "build", "--debug", "--no-bundle"], cwd=app, timeout=1800)
    binary = TARGET_DIR / "debug" / NAME
    if not binary.exists():
        raise StepFailed(f"{binary} missing after tauri build")
    return binary


def dev_launcher(app: Path, stderr: Path) -> Path:
    """An executable WebKitWebDriver can start as 'the browser': it runs `tauri dev`
    (Vite dev server + cargo run), which passes the driver's environment on to the app.
    The page's JavaScriptCore logs every collection and the heap it left (JSC_logGC) to
    `stderr`, with the app's and the dev server's own output; every collection is a full
    one (no generational GC), so what it left is the live heap. The JIT is off: with it on,
    the heap also holds compiled code's metadata, which grows with how hot functions get
    and levels off (measured 44.6 / 47.4 / 48.8 / 48.6 MiB after 5 / 20 / 35 / 50 cycles),
    not objects the page keeps (31.4 / 31.4 / 29.4 / 29.5 MiB with it off)."""
    script = app / "tauri-dev-under-driver.sh"
    script.write_text(f'#!/bin/sh\ncd "{app}" || exit 1\nexport JSC_logGC=2 JSC_useGenerationalGC=false JSC_useJIT=false\n'
                      f'exec npx tauri dev --no-watch -- -- "$@" 2>"{stderr}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script
