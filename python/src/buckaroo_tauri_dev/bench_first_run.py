"""The managed environment's cost: launch → rows painted for a user with nothing (a fresh
HOME, PATH=/usr/bin:/bin, no BUCKAROO_PYTHON), on the first run (no network: the env
bundle's wheels, out/env-bundle), on the second run (the environment made), and with a
user's venv (BUCKAROO_PYTHON), all offline and in one run, as ratios to the last.

    python -m buckaroo_tauri_dev.bench_first_run [--runs N] [--json out/bench/first-run.json]

The debug app (`make app`), told where the bundle is by BUCKAROO_TAURI_ENV_BUNDLE. A
benchmark, not a test: it fails on errors and missing rows, never on slowness.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from . import e2e, env_bundle, first_run
from .bench_common import fmt, stats
from .e2e_netns import OfflineNet
from .sample_data import DEFAULT_DIR, write_all

ARGS = ["tiny.parquet"]


def painted(s: first_run.Sample) -> bool:
    if s.error:
        raise SystemExit(f"error {s.error}: {s.error_text}")
    return s.rows > 0


def one(display: str, net: OfflineNet, home: Path, tmp: Path, **env: str) -> tuple[float, bool]:
    """Launch → rows painted, s; and whether it provisioned on the way."""
    binary = first_run.user_binary(tmp, e2e.APP_BINARY, BUCKAROO_TAURI_ENV_BUNDLE=str(env_bundle.OUT), **env)
    with first_run.launched(display, binary, first_run.driver_env(home), ARGS, DEFAULT_DIR, net) as (driver, _, run):
        first_run.watch(driver, run, painted, 900, interval=0.05)
    return run.painted_s(), "provisioning" in run.states()


def measure(display: str, net: OfflineNet, runs: int) -> dict[str, list[float]]:
    """Per run: a fresh HOME's first run, its second run, then the user venv (same HOME)."""
    out: dict[str, list[float]] = {"first run": [], "second run": [], "user venv": []}
    for i in range(runs):
        tmp = Path(tempfile.mkdtemp(prefix="bench-first-run-"))
        try:
            home = tmp / "home"
            home.mkdir()
            for name, env in (("first run", {}), ("second run", {}), ("user venv", {"BUCKAROO_PYTHON": str(e2e.VENV_PYTHON)})):
                seconds, provisioned = one(display, net, home, tmp, **env)
                if provisioned != (name == "first run"):
                    raise SystemExit(f"{name}: provisioning {'seen' if provisioned else 'not seen'}")
                out[name].append(seconds * 1000)
                print(f"[bench] first-run {i + 1}/{runs}: {name} {seconds:.2f} s", flush=True)
            if len(first_run.env_dirs(home)) != 1:
                raise SystemExit(f"expected one environment, found {first_run.env_dirs(home)}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def table(results: dict[str, dict], manifest: dict) -> str:
    base = results["user venv"]["median"]
    rows = [f"Launch → rows painted (tiny.parquet), no network; ms, median (min–max) of {results['user venv']['n']}. "
            f"Env bundle: {manifest['wheels_bytes'] / 1e6:.0f} MB of wheels → {manifest['files']:,} files, "
            f"{manifest['bytes'] / 1e6:.0f} MB installed.", "",
            "| launch | ms | / user venv |", "|---|---|---|"]
    rows += [f"| {name} | {fmt(s)} | {s['median'] / base:.2f} |" for name, s in results.items()]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not e2e.APP_BINARY.exists():
        raise SystemExit(f"{e2e.APP_BINARY} missing: run `make app`")
    if not (env_bundle.OUT / "manifest.json").exists():
        raise SystemExit(f"{env_bundle.OUT} missing: run `make env-bundle`")
    write_all(DEFAULT_DIR, include_big=False)
    net, x = OfflineNet().start(), e2e.Xvfb().start()
    try:
        wrong = net.offline_evidence()
        if wrong:
            raise SystemExit(f"the namespace has a network: {wrong}")
        raw = measure(x.display, net, args.runs)
    finally:
        x.stop()
        net.stop()
    results = {name: stats(xs) for name, xs in raw.items()}
    print(table(results, json.loads((env_bundle.OUT / "manifest.json").read_text())))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"ms": raw, "stats": results}, indent=1))


if __name__ == "__main__":
    main()
