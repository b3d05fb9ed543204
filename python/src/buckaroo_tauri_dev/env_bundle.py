"""The env bundle: what the example's .deb ships so the plugin's managed environment
installs offline on first run (Tauri resource `buckaroo-env/`).

    python -m buckaroo_tauri_dev.env_bundle      # → out/env-bundle/

    out/env-bundle/uv              the uv binary of the lock's uv wheel, 0755
    out/env-bundle/wheels/*.whl    every wheel the engine lock installs on this Python
    out/env-bundle/manifest.json   {lock, lock_sha256, python, uv, files, bytes, wheels_bytes}

`files` and `bytes` are what the plugin's progress counts against: the files under the
venv's lib/ after a trial install run exactly as the plugin runs it. Up to date (the
manifest names this lock's hash and every wheel is there) means nothing is done. The
manifest is written last: a bundle without one is unfinished.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name, parse_wheel_filename

from . import env_lock
from .e2e import REPO, VENV_PYTHON

OUT = REPO / "out" / "env-bundle"
LOCK = "engine"  # what the example (BuckarooConfig::xorq()) ships
# The plugin finds python3 on PATH; a user's desktop session has the system's first.
TARGET_PATH = "/usr/bin:/bin"


def target_python() -> tuple[Path, str]:
    """The python3 a user's PATH finds, and its major.minor: the wheels are for it."""
    found = shutil.which("python3", path=TARGET_PATH)
    if not found:
        raise SystemExit(f"no python3 on {TARGET_PATH}: the bundle's wheels need the Python they are for")
    version = subprocess.run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return Path(found), version


def check_same_python(version: str) -> None:
    """pip download picks wheels for the interpreter it runs in: the dev venv must be the
    target's CPython minor on the same machine type."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if here != version or version != env_lock.PYTHON_VERSION:
        raise SystemExit(f"the dev venv is Python {here}, python3 on {TARGET_PATH} is {version}, "
                         f"the locks are for {env_lock.PYTHON_VERSION}: they must agree")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def wanted(lock: Path, version: str) -> set[tuple[str, str]]:
    """(name, version) of every pin whose marker holds on the target Python."""
    env = {"python_version": version, "python_full_version": f"{version}.0", "sys_platform": "linux",
           "platform_system": "Linux", "platform_machine": "x86_64", "platform_python_implementation": "CPython",
           "implementation_name": "cpython", "os_name": "posix"}
    return {(canonicalize_name(p.name), p.version) for p in env_lock.parse_lock(lock.read_text())
            if not p.marker or Marker(p.marker).evaluate(env)}


def wheels_present(wheels: Path) -> dict[tuple[str, str], Path]:
    found = {}
    for whl in wheels.glob("*.whl"):
        name, ver, _, _ = parse_wheel_filename(whl.name)
        found[(canonicalize_name(name), str(ver))] = whl
    return found


def up_to_date(out: Path, lock: Path, version: str) -> bool:
    manifest = out / "manifest.json"
    if not manifest.exists() or not (out / "uv").exists():
        return False
    m = json.loads(manifest.read_text())
    return (m.get("lock_sha256") == sha256(lock) and m.get("python") == version
            and set(wheels_present(out / "wheels")) == wanted(lock, version))


def download(lock: Path, wheels: Path, version: str) -> None:
    """Every wheel of the lock (hash-checked by pip), then anything no longer in it removed."""
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [str(VENV_PYTHON), "-m", "pip", "download", "-q", "--no-deps", "--require-hashes", "--only-binary=:all:",
           "-r", str(lock), "-d", str(wheels)]
    subprocess.run(cmd, check=True, timeout=1800)
    keep = wanted(lock, version)
    for key, whl in wheels_present(wheels).items():
        if key not in keep:
            whl.unlink()
    missing = keep - set(wheels_present(wheels))
    if missing:
        raise SystemExit(f"pip download left these pins without a wheel: {sorted(missing)}")


def extract_uv(wheels: Path, dest: Path) -> str:
    """The uv binary out of the lock's uv wheel (`uv-<v>.data/scripts/uv`); its version."""
    (whl,) = [w for key, w in wheels_present(wheels).items() if key[0] == "uv"]
    with zipfile.ZipFile(whl) as z:
        (member,) = [n for n in z.namelist() if n.endswith(".data/scripts/uv")]
        tmp = dest.with_name(dest.name + ".tmp")
        tmp.write_bytes(z.read(member))
    tmp.chmod(0o755)
    tmp.replace(dest)
    return str(parse_wheel_filename(whl.name)[1])


def trial_install(uv: Path, python: Path, wheels: Path, lock: Path) -> dict:
    """The plugin's two commands into a temp venv; what they left under lib/, and how long
    they took. The cache is in the temp dir too, so nothing outside is touched or reused."""
    with tempfile.TemporaryDirectory(prefix="buckaroo-env-trial-") as tmp:
        venv = Path(tmp) / "env"
        env = {**os.environ, "UV_CACHE_DIR": str(Path(tmp) / "cache")}
        started = time.monotonic()
        subprocess.run([str(uv), "venv", "--no-config", "-q", "--python", str(python), str(venv)], env=env, check=True, timeout=300)
        subprocess.run([str(uv), "pip", "install", "--no-config", "-q", "--python", str(venv / "bin" / "python"), "--require-hashes",
                        "--compile-bytecode", "--offline", "--no-index", "--find-links", str(wheels), "-r", str(lock)],
                       env=env, check=True, timeout=1800)
        seconds = time.monotonic() - started
        files = [p for p in (venv / "lib").rglob("*") if p.is_file() and not p.is_symlink()]
        return {"files": len(files), "bytes": sum(p.stat().st_size for p in files), "seconds": round(seconds, 1)}


def build(out: Path = OUT, lock_name: str = LOCK) -> dict:
    """out/ brought up to date; its manifest (plus `trial_s` when a trial install ran)."""
    lock = env_lock.lock_path(lock_name)
    python, version = target_python()
    check_same_python(version)
    if up_to_date(out, lock, version):
        return json.loads((out / "manifest.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)
    download(lock, out / "wheels", version)
    uv_version = extract_uv(out / "wheels", out / "uv")
    trial = trial_install(out / "uv", python, out / "wheels", lock)
    manifest = {"lock": lock_name, "lock_sha256": sha256(lock), "python": version, "uv": uv_version,
                "files": trial["files"], "bytes": trial["bytes"],
                "wheels_bytes": sum(w.stat().st_size for w in (out / "wheels").glob("*.whl"))}
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(out / "manifest.json")
    return {**manifest, "trial_s": trial["seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lock", choices=env_lock.LOCKS, default=LOCK)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.monotonic()
    m = build(args.out, args.lock)
    wheels = len(list((args.out / "wheels").glob("*.whl")))
    done = f"trial install {m['trial_s']} s" if "trial_s" in m else "up to date"
    print(f"[env-bundle] {args.out}: {args.lock} lock, Python {m['python']}, uv {m['uv']}, {wheels} wheels "
          f"{m['wheels_bytes'] / 1e6:.1f} MB → {m['files']} files {m['bytes'] / 1e6:.1f} MB installed; "
          f"{done}; {time.monotonic() - started:.1f} s")
    if (args.out / "uv").stat().st_mode & stat.S_IXUSR == 0:
        raise SystemExit(f"{args.out / 'uv'} is not executable")


if __name__ == "__main__":
    main()
