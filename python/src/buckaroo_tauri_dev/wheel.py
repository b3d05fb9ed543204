"""The Python wheel (python/buckaroo-desktop): the viewer binary from the .deb that
`make bundle` built (one release build for both), stripped, behind the
`buckaroo-desktop` command and `buckaroo_desktop.show()`.

    python -m buckaroo_tauri_dev.wheel      # → out/wheel/manifest.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from buckaroo_tauri_dev import bundle
from buckaroo_tauri_dev.e2e import REPO

PROJECT = REPO / "python" / "buckaroo-desktop"
OUT = REPO / "out" / "wheel"


def viewer_from_deb(deb: Path, into: Path) -> Path:
    """The binary the .deb installs, stripped of its symbols (a quarter of its size)."""
    with tempfile.TemporaryDirectory() as root:
        subprocess.run(["dpkg-deb", "-x", str(deb), root], check=True)
        binary = into / "buckaroo-desktop-viewer"
        subprocess.run(["strip", "--strip-unneeded", "-o", str(binary), str(Path(root) / "usr" / "bin" / bundle.PACKAGE)], check=True)
    return binary


def build_wheel(binary: Path) -> Path:
    """hatchling through pip (no isolation: the dev venv has it), into OUT."""
    for old in OUT.glob("*.whl"):
        old.unlink()
    env = {**os.environ, "BUCKAROO_DESKTOP_VIEWER": str(binary)}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(OUT), str(PROJECT)],
                   check=True, env=env, timeout=600)
    (wheel,) = OUT.glob("buckaroo_desktop-*.whl")
    return wheel


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    manifest = json.loads((bundle.OUT / "manifest.json").read_text())
    deb = Path(manifest["versions"][manifest["base"]]["deb"])
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as stage:
        binary = viewer_from_deb(deb, Path(stage))
        wheel = build_wheel(binary)
        viewer_bytes = binary.stat().st_size
    info = {"wheel": str(wheel), "bytes": wheel.stat().st_size, "viewer_bytes": viewer_bytes, "version": manifest["base"],
            "from_deb": str(deb), "build_s": round(time.monotonic() - started, 1)}
    (OUT / "manifest.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"[wheel] {wheel.name}: {info['bytes'] / 1e6:.1f} MB (viewer {viewer_bytes / 1e6:.1f} MB unpacked), built in {info['build_s']} s")


if __name__ == "__main__":
    main()
