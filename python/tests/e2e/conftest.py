from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from buckaroo_tauri_dev import bundle, e2e, e2e_netns, e2e_procs
from buckaroo_tauri_dev.sample_data import DEFAULT_DIR

SHOTS = e2e.REPO / "out" / "e2e"
INSTALLED = Path("/usr/bin") / bundle.PACKAGE


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def display():
    if not e2e.APP_BINARY.exists():
        pytest.fail(f"{e2e.APP_BINARY} missing: run `make app` (make test-e2e builds it)")
    x = e2e.Xvfb().start()
    yield x.display
    x.stop()


@pytest.fixture(scope="session")
def data_dir(samples) -> Path:
    return DEFAULT_DIR


@pytest.fixture(scope="session")
def df100k(samples) -> pd.DataFrame:
    return pd.read_parquet(samples["small_100k.parquet"])


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture(scope="module")
def offline():
    """A network namespace with loopback only (e2e_netns): pass it as TauriDriver's
    `netns` and the app runs with no network. Root only."""
    why = e2e_netns.needs_root()
    if why:
        pytest.skip(why)
    net = e2e_netns.OfflineNet().start()
    try:
        assert net.offline_evidence() == []
        yield net
    finally:
        net.stop()


@pytest.fixture(scope="module")
def bundles() -> dict:
    """The manifest of `make bundle`'s signed .debs (out/bundle)."""
    return e2e.built_manifest(bundle.OUT / "manifest.json", "bundle", "test-bundle")


def end_descendants(pid: int) -> None:
    """kill -9 of `pid` and everything it started (a sidecar, a probe, an installer)."""
    for child in e2e_procs.children(pid):
        end_descendants(child)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def installed(bundles):
    """The base version installed for real (dpkg -i), removed after the module's tests
    with every process they left running from it."""
    if os.geteuid() != 0:
        pytest.skip("installing a .deb for real needs root (CI runs as root)")
    subprocess.run(["dpkg", "-r", bundle.PACKAGE], capture_output=True)
    subprocess.run(["dpkg", "-i", bundles["versions"][bundles["base"]]["deb"]], check=True, capture_output=True)
    yield INSTALLED
    for pid in e2e_procs.pids_running(INSTALLED):
        end_descendants(pid)
    subprocess.run(["dpkg", "-r", bundle.PACKAGE], check=True, capture_output=True)
