from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from buckaroo_tauri_dev import e2e
from buckaroo_tauri_dev.sample_data import DEFAULT_DIR

SHOTS = e2e.REPO / "out" / "e2e"


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
