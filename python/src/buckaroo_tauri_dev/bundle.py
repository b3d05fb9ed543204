"""The example's signed .deb packages, built once for every test that needs them:
the installed-app test, the self-update test (0.1.0 updating to the next patch
version) and, later, anything else that ships the release binary.

    python -m buckaroo_tauri_dev.bundle      # → out/bundle/manifest.json

A signing key is made on the first run (`tauri signer generate`) and kept in
out/bundle/key, so later runs build the same config and cargo has nothing to redo.
The test builds allow the updater's plain-http loopback endpoint
(`dangerousInsecureTransportProtocol`); a shipping build keeps https only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

from buckaroo_tauri_dev import env_bundle
from buckaroo_tauri_dev.e2e import REPO, TARGET_DIR

APP_DIR = REPO / "examples" / "tauri-app"
CONF = APP_DIR / "src-tauri" / "tauri.conf.json"
OUT = REPO / "out" / "bundle"
KEY = OUT / "key" / "updater.key"
TAURI = REPO / "node_modules" / ".bin" / "tauri"
LOGS = REPO / "out" / "logs"
PACKAGE = "buckaroo-tauri-example"


def versions() -> tuple[str, str]:
    """The version tauri.conf.json ships, and the next patch version (the update)."""
    base = json.loads(CONF.read_text())["version"]
    major, minor, patch = base.split(".")
    return base, f"{major}.{minor}.{int(patch) + 1}"


def identifier() -> str:
    """The app's identifier: the name of its data and cache folders."""
    return json.loads(CONF.read_text())["identifier"]


def signing_key() -> tuple[Path, str]:
    """The updater key pair (made once, no password); the private key's path and the public key."""
    if not KEY.exists():
        KEY.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(TAURI), "signer", "generate", "--ci", "-w", str(KEY), "-f"], check=True, capture_output=True, timeout=120)
    return KEY, KEY.with_name(KEY.name + ".pub").read_text().strip()


def sign(path: Path, key: Path) -> str:
    """Sign `path` with `key` (as the bundler does); the signature text."""
    subprocess.run([str(TAURI), "signer", "sign", "-f", str(key), "-p", "", str(path)],
                   check=True, capture_output=True, timeout=120, env={**os.environ, "TAURI_SIGNING_PRIVATE_KEY_PASSWORD": ""})
    return path.with_name(path.name + ".sig").read_text().strip()


def build(version: str, key: Path, pubkey: str) -> dict:
    """`tauri build --bundles deb` at `version`, signed for the updater; the package and its signature."""
    config = {
        "version": version,
        # dist/ as `make app` (or `make bundle`) built it: `make test` runs this beside
        # suites that read it, so nothing here may rewrite it.
        "build": {"beforeBuildCommand": ""},
        # The managed environment's offline first run (env_bundle, `make env-bundle`):
        # installed as /usr/lib/<package>/buckaroo-env/.
        "bundle": {"createUpdaterArtifacts": True, "resources": {f"{env_bundle.OUT}/": "buckaroo-env/"}},
        "plugins": {"updater": {"pubkey": pubkey, "endpoints": [], "dangerousInsecureTransportProtocol": True}},
    }
    env = {**os.environ, "CARGO_TARGET_DIR": str(TARGET_DIR), "CI": "true",
           "TAURI_SIGNING_PRIVATE_KEY": str(key), "TAURI_SIGNING_PRIVATE_KEY_PASSWORD": ""}
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"bundle-{version}.log"
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run([str(TAURI), "build", "--bundles", "deb", "--config", json.dumps(config)],
                              cwd=APP_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=3600)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise SystemExit(f"tauri build {version} failed ({proc.returncode}); log {log}:\n{tail}")
    built = TARGET_DIR / "release" / "bundle" / "deb" / f"{PACKAGE}_{version}_amd64.deb"
    deb = OUT / built.name
    shutil.copy2(built, deb)
    shutil.copy2(built.with_name(built.name + ".sig"), deb.with_name(deb.name + ".sig"))
    return {"deb": str(deb), "signature": deb.with_name(deb.name + ".sig").read_text().strip(),
            "bytes": deb.stat().st_size, "build_s": round(time.monotonic() - started, 1)}


def opened_extensions() -> set[str]:
    """Every file extension the viewer opens, without the dot (the launcher's readers.OPENED)."""
    from buckaroo_tauri_dev.server import launcher_module

    return {ext.lstrip(".") for ext in launcher_module("readers").OPENED}


def png_pixels(path: str | Path) -> list[tuple[int, int, int, int]]:
    """The RGBA pixels of an 8-bit RGB or RGBA, non-interlaced PNG (RGB with alpha 255),
    row by row: the standard library's zlib and the five scanline filters."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, header = 8, bytearray(), None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError(f"{path}: no IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"{path}: depth {depth}, colour type {colour}, interlace {interlace}: only 8-bit RGB/RGBA, not interlaced")
    bpp = 4 if colour == 6 else 3
    stride = width * bpp
    raw = zlib.decompress(bytes(idat))
    previous = bytearray(stride)
    pixels = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
            elif kind != 0:
                raise ValueError(f"{path}: row {y} has filter type {kind}")
        for x in range(0, stride, bpp):
            pixels.append((*line[x:x + 3], line[x + 3] if bpp == 4 else 255))
        previous = line
    return pixels


def png_colors(path: str | Path) -> int:
    """How many distinct RGBA pixels a PNG has (png_pixels): 1 for a flat square."""
    return len(set(png_pixels(path)))


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    if not (env_bundle.OUT / "manifest.json").exists():
        raise SystemExit(f"{env_bundle.OUT} unfinished: run `make env-bundle` (make bundle does)")
    OUT.mkdir(parents=True, exist_ok=True)
    key, pubkey = signing_key()
    base, update = versions()
    # The shipped version last: the release binary left in the target dir (for anything
    # else that packages it) is then this tree's version, not the test's update.
    built = {v: build(v, key, pubkey) for v in (update, base)}
    manifest = {"package": PACKAGE, "base": base, "update": update, "pubkey": pubkey, "key": str(key), "versions": built}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for b in built.values():
        print(f"[bundle] {Path(b['deb']).name}: {b['bytes'] / 1e6:.1f} MB, built in {b['build_s']} s")


if __name__ == "__main__":
    main()
