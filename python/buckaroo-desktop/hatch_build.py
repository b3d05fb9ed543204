"""The wheel carries the release viewer binary named by BUCKAROO_DESKTOP_VIEWER
(`make wheel` takes it from the .deb `make bundle` built, so one release build
serves both). The wheel is tagged for the platform the binary runs on, and its
version is the binary's own. It also carries the plugin's launcher package, the
files the binary embeds (the crate's build.rs), so that the package runs the
plugin's own probe on its Python before the viewer starts (_probe.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

ENV = "BUCKAROO_DESKTOP_VIEWER"
# Where the package finds it (buckaroo_desktop/viewer.py: BINARY).
INSIDE = "buckaroo_desktop/bin/buckaroo-desktop-viewer"
# The launcher package as the crate's build.rs embeds it (every *.py of the folder),
# and where the package finds it (buckaroo_desktop/_probe.py: BUNDLED).
LAUNCHER_PACKAGE = "buckaroo_tauri_sidecar"
LAUNCHER_INSIDE = "buckaroo_desktop/launcher"
# glibc-linked, WebKitGTK 4.1 from the OS: not a manylinux wheel.
TAG = "py3-none-linux_x86_64"


def viewer() -> Path:
    path = os.environ.get(ENV)
    if not path or not Path(path).is_file():
        raise RuntimeError(f"{ENV} must name the built viewer binary (make wheel sets it); got {path!r}")
    return Path(path)


def launcher(root: str) -> list[Path]:
    """The launcher package's files, from the repository this project sits in
    (<repo>/python/buckaroo-desktop)."""
    folder = Path(root).resolve().parents[1] / "crates" / "buckaroo-tauri" / "python" / LAUNCHER_PACKAGE
    files = sorted(folder.glob("*.py"))
    if not any(f.name == "probe.py" for f in files):
        raise RuntimeError(f"no launcher package at {folder}: the wheel is built inside the buckaroo-tauri repository")
    return files


class CustomMetadataHook(MetadataHookInterface):
    def update(self, metadata: dict) -> None:
        # `<binary> --version` answers before GTK starts: "buckaroo-tauri-example 0.1.0".
        out = subprocess.run([str(viewer()), "--version"], capture_output=True, text=True, timeout=60, check=True)
        metadata["version"] = out.stdout.split()[-1]


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        build_data["pure_python"] = False
        build_data["tag"] = TAG
        build_data["force_include"][str(viewer())] = INSIDE
        for f in launcher(self.root):
            build_data["force_include"][str(f)] = f"{LAUNCHER_INSIDE}/{LAUNCHER_PACKAGE}/{f.name}"
