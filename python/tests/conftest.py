from __future__ import annotations

from pathlib import Path

import pytest

from buckaroo_tauri_dev.sample_data import DEFAULT_DIR, write_all
from buckaroo_tauri_dev.server import BuckarooServer


@pytest.fixture(scope="session")
def samples() -> dict[str, Path]:
    return write_all(DEFAULT_DIR, include_big=False)


@pytest.fixture(scope="module")
def server():
    with BuckarooServer() as srv:
        yield srv
