"""A full disk while a sorted copy is written, through the real launcher: the sorted
copies' folder on a 32 MiB tmpfs, a file whose copy does not fit. Its sorted windows
get `disk_full` naming the folder, nothing is left on the tmpfs, and unsorted windows
keep working. Root only (mounting a tmpfs)."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest

from buckaroo_tauri_dev.big_files import write_parquet
from buckaroo_tauri_dev.xorq_scan import our_launcher, started

from .test_launcher_engine import ids_of, wire_name

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs as root)")


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)


def files_under(folder) -> list[str]:
    return [os.path.join(root, n) for root, _, names in os.walk(folder) for n in names]


def test_a_sorted_copy_that_fills_the_disk_is_disk_full_and_unsorted_windows_go_on(tmp_path_factory, small_disk):
    work = tmp_path_factory.mktemp("disk-full").resolve()
    big = write_parquet(work / "rows_2m.parquet", 2_000_000)  # its sorted copy: ~80 MB
    server = our_launcher(work, BUCKAROO_TAURI_SORTED_COPY_MIN_ROWS="0", BUCKAROO_TAURI_SORTED_DIR=str(small_disk),
                          BUCKAROO_TAURI_LOG_LEVEL="INFO")
    with started(server, work) as s:
        session = uuid.uuid4().hex
        status, reply = s.request("POST", "/load", {"path": str(big), "mode": "buckaroo", "backend": "xorq",
                                                    "session": session, "no_browser": True}, timeout=300)
        assert status == 200, reply
        with s.ws(session, timeout=120) as ws:
            ws.initial_state = ws.next_of_type("initial_state")
            sort = {"sort": wire_name(ws.initial_state, "tag"), "sort_direction": "asc"}
            deep = 1_500_000  # past the top-n rows: it waits for the copy
            resp, parquet = ws.rows(deep, deep + 100, **sort)
            assert parquet is None and resp["error_code"] == "disk_full", resp
            assert str(small_disk) in resp["error_info"] and "BUCKAROO_TAURI_SORTED_DIR" in resp["error_info"], resp
            deadline = time.monotonic() + 10
            while files_under(small_disk) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert files_under(small_disk) == [], "the partial copy or DuckDB's spill left behind"
            assert ids_of(ws, 1_000_000, 1_000_100) == list(range(1_000_000, 1_000_100))  # unsorted: still served
