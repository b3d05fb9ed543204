"""The adapter's committed fixtures still match what the real server sends."""

from __future__ import annotations

import json

from buckaroo_tauri_dev.fixtures import FIXTURE_DIR, record, shape


def test_committed_fixtures_match_a_fresh_recording(tmp_path):
    fresh = record(tmp_path)
    assert fresh, "nothing recorded"
    for name, frame in fresh.items():
        committed_path = FIXTURE_DIR / f"{name}.json"
        assert committed_path.exists(), f"{committed_path} missing: run python -m buckaroo_tauri_dev.fixtures"
        committed = json.loads(committed_path.read_text())
        assert shape(frame) == shape(committed), f"{name}: upstream frame shape changed; re-record and review"
    assert (tmp_path / "infinite_resp_parquet.bin").read_bytes()[:4] == b"PAR1"
    assert (FIXTURE_DIR / "infinite_resp_parquet.bin").read_bytes()[:4] == b"PAR1"
