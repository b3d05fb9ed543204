from __future__ import annotations

from pathlib import Path

import pytest

from buckaroo_tauri_dev.sample_data import DEFAULT_DIR, write_all
from buckaroo_tauri_dev.server import server_of_kind


@pytest.fixture(scope="session")
def samples() -> dict[str, Path]:
    return write_all(DEFAULT_DIR, include_big=False)


@pytest.fixture(scope="module", params=["plain", "launcher"])
def server(request):
    """The upstream contract must hold for buckaroo's own server and through our launcher."""
    with server_of_kind(request.param) as srv:
        yield srv
