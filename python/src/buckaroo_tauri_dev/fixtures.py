"""Record real buckaroo server frames as fixtures for the TS adapter's tests.

`python -m buckaroo_tauri_dev.fixtures` rewrites them; the pytest suite re-records
into a temporary folder and compares *shapes* with the committed copies, so an
upstream protocol change fails a test instead of silently drifting.
"""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path
from typing import Any

from .sample_data import DEFAULT_DIR, write_all
from .server import BuckarooServer

FIXTURE_DIR = Path(__file__).resolve().parents[3] / "packages" / "buckaroo-tauri-adapter" / "test" / "fixtures"


def record(out: Path) -> dict[str, Any]:
    files = write_all(DEFAULT_DIR, include_big=False)
    tiny = files["tiny.parquet"]
    out.mkdir(parents=True, exist_ok=True)
    frames: dict[str, Any] = {}
    with BuckarooServer() as srv:
        session = uuid.uuid4().hex
        with srv.ws(session) as ws:
            srv.load(tiny, mode="buckaroo", session=session)
            frames["initial_state_buckaroo"] = ws.next_of_type("initial_state")
            args = {"sourceName": "fixture", "start": 0, "end": 20, "origEnd": 20, "request_time": 1}
            resp, parquet = ws.rows(**args)
            frames["infinite_resp_parquet"] = resp
            (out / "infinite_resp_parquet.bin").write_bytes(parquet or b"")
            resp, _ = ws.rows(0, 10, sort="zz")
            frames["infinite_resp_error"] = resp
            state = dict(frames["initial_state_buckaroo"]["buckaroo_state"])
            state["quick_command_args"] = {"search": ["alpha"]}
            ws.send({"type": "buckaroo_state_change", "new_state": state, "state_seq": 1})
            frames["initial_state_reply"] = ws.next_of_type("initial_state")
            ws.send("this is not json")
            frames["error_invalid_json"] = ws.next_of_type("error")
        session = uuid.uuid4().hex
        with srv.ws(session) as ws:
            srv.load(tiny, mode="viewer", session=session)
            frames["initial_state_viewer"] = ws.next_of_type("initial_state")
    for name, frame in frames.items():
        (out / f"{name}.json").write_text(json.dumps(frame, indent=1, sort_keys=True) + "\n")
    return frames


def shape(value: Any) -> Any:
    """Structure without values: what a client's code depends on."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=FIXTURE_DIR)
    args = parser.parse_args()
    for name in record(args.out):
        print(args.out / f"{name}.json")


if __name__ == "__main__":
    main()
