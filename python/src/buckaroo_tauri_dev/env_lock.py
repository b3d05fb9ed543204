"""The managed environment's locks (crates/buckaroo-tauri/env/*.lock), regenerated.

    python -m buckaroo_tauri_dev.env_lock            # rewrite both locks
    python -m buckaroo_tauri_dev.env_lock --check    # exit 1 when a lock would change

The requirements are the launcher's own (`PIP_SPEC` for base, `XORQ_PIP` for engine, in
its contract.py), so the tested buckaroo version keeps one home. `uv pip compile
--universal --generate-hashes` for Python 3.11 (Debian 12's python3): every platform's
wheels are hashed, the bundle and the plugin then install with --require-hashes.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .e2e import REPO

ENV_DIR = REPO / "crates" / "buckaroo-tauri" / "env"
LAUNCHER_CONTRACT = REPO / "crates" / "buckaroo-tauri" / "python" / "buckaroo_tauri_sidecar" / "contract.py"
UV = REPO / "python" / ".venv" / "bin" / "uv"
PYTHON_VERSION = "3.11"
LOCKS = ("base", "engine")


def launcher_contract():
    """The launcher's contract.py, loaded by path: it imports nothing, and the launcher
    package is not installed in the dev venv."""
    spec = importlib.util.spec_from_file_location("_buckaroo_tauri_sidecar_contract", LAUNCHER_CONTRACT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def requirements(name: str) -> list[str]:
    """A lock's top-level requirements, as the launcher's pip hint spells them."""
    contract = launcher_contract()
    return shlex.split({"base": contract.PIP_SPEC, "engine": contract.XORQ_PIP}[name]) + shlex.split(contract.EXPORT_PIP)


def lock_path(name: str) -> Path:
    return ENV_DIR / f"{name}.lock"


@dataclass
class Pin:
    """One `name==version` block of a lock: its marker, hashes and what pulled it in."""

    name: str
    version: str
    marker: str = ""
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def parse_lock(text: str) -> list[Pin]:
    """A lock's pins in order (a universal lock may pin one name twice, under exclusive
    markers): the continuation lines after each pin hold its `--hash=` options, then
    `# via` comments (one source inline, or one per line)."""
    pins: list[Pin] = []
    for line in text.splitlines():
        body = line.strip().removesuffix("\\").strip()
        if not line.startswith((" ", "#")) and body:
            spec, _, marker = body.partition(";")
            name, _, version = spec.strip().partition("==")
            pins.append(Pin(name.lower(), version, marker.strip()))
        elif pins and body.startswith("--hash="):
            pins[-1].hashes.append(body.removeprefix("--hash="))
        elif pins and body.startswith("#"):
            via = body.lstrip("#").strip().removeprefix("via").strip()
            pins[-1].via += [via] if via else []
    return pins


def top_level(pins: list[Pin], name: str) -> set[str]:
    """The names a lock pins because its `<name>.in` asked for them."""
    return {p.name for p in pins if f"-r {name}.in" in p.via}


def compile_lock(name: str, out: Path) -> None:
    """`uv pip compile` of `name`'s requirements into `out`. The input is `<name>.in` in
    the current directory of uv, so the lock's `# via -r <name>.in` comments name no path."""
    with tempfile.TemporaryDirectory(prefix="buckaroo-env-lock-") as tmp:
        (Path(tmp) / f"{name}.in").write_text("\n".join(requirements(name)) + "\n")
        # The current lock as uv's preferences: a new requirement adds its pins and
        # leaves every other one where it was.
        if lock_path(name).exists() and not out.exists():
            out.write_bytes(lock_path(name).read_bytes())
        cmd = [str(UV), "pip", "compile", "-q", "--no-config", "--universal", "--python-version", PYTHON_VERSION,
               "--generate-hashes", "--no-header", f"{name}.in", "-o", str(out.resolve())]
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"uv pip compile {name} failed ({proc.returncode}):\n{proc.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compile into a temp dir and report which locks would change")
    args = parser.parse_args()
    if not UV.exists():
        raise SystemExit(f"{UV} missing: run `make venv`")
    changed = []
    with tempfile.TemporaryDirectory(prefix="buckaroo-env-lock-out-") as tmp:
        for name in LOCKS:
            fresh = Path(tmp) / f"{name}.lock"
            compile_lock(name, fresh)
            if not lock_path(name).exists() or fresh.read_bytes() != lock_path(name).read_bytes():
                changed.append(name)
                if not args.check:
                    lock_path(name).write_bytes(fresh.read_bytes())
    verb = "would change" if args.check else "rewritten"
    print(f"[env-lock] {verb}: {', '.join(changed)}" if changed else "[env-lock] both locks up to date")
    if args.check and changed:
        sys.exit(1)


if __name__ == "__main__":
    main()
