"""Files that change under an open window, through the real launcher: an engine file
rewritten (by rename, as pyarrow/pandas/polars writers do, or in place) or deleted after
its load gets `file_changed` for every later row window instead of the new file's rows
among the old ones the page shows; its sorted copies, made from the old contents, are
deleted; a new load of the same session shows the new file."""

from __future__ import annotations

import glob
import os
import tempfile
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev.xorq_scan import our_launcher, started

from .test_launcher_engine import ids_of, load, wire_name


def table(ids: range) -> pa.Table:
    return pa.table({"id": list(ids), "qty": [(i * 7919) % 1000 for i in ids]})


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("changes").resolve()


def copies_of(pid: int) -> list[str]:
    return glob.glob(os.path.join(tempfile.gettempdir(), f"buckaroo-tauri-sorted-{pid}-*", "*.parquet"))


def refused(ws, start: int, **payload) -> dict:
    resp, parquet = ws.rows(start, start + 100, **payload)
    assert parquet is None and resp["error_code"] == "file_changed", resp
    return resp


@pytest.mark.parametrize("how", ["rename", "in_place"])
def test_an_engine_file_that_changed_is_refused_not_mixed_and_its_sorted_copies_go(work, tmp_path, how):
    path = tmp_path / "sales.parquet"
    pq.write_table(table(range(5000)), path, row_group_size=1000)
    server = our_launcher(work, BUCKAROO_TAURI_SORTED_COPY_MIN_ROWS="0", BUCKAROO_TAURI_LOG_LEVEL="INFO")
    with started(server, work) as s:
        _, ws = load(s, path, backend="xorq")
        with ws:
            sort = {"sort": wire_name(ws.initial_state, "qty"), "sort_direction": "asc"}
            assert ids_of(ws, 0, 100) == list(range(100))
            ids_of(ws, 0, 100, **sort)
            s.wait_for_stderr("sorted copy of", timeout=120)
            assert copies_of(s.proc.pid)
            new = table(range(10_000, 13_000))
            if how == "rename":
                pq.write_table(new, tmp_path / ".sales.parquet.tmp")
                os.replace(tmp_path / ".sales.parquet.tmp", path)
            else:
                with open(path, "r+b") as f:  # truncate + write: the same inode
                    f.truncate(0)
                    pq.write_table(new, f)
            if how == "rename":  # the next windows are refused, and the copies go with the first
                said = refused(ws, 100)["error_info"]
                assert said == f"{path} changed on disk after it was opened: reload it to see it"
                refused(ws, 200, **sort)
            else:  # no window asks: the next load of the file drops them
                load(s, path, backend="xorq")[1].close()
            deadline = time.monotonic() + 30
            while copies_of(s.proc.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not copies_of(s.proc.pid), "sorted copies of the old contents left"
            refused(ws, 300)  # the old session's windows, whichever way it changed
        reply, ws = load(s, path, backend="xorq")  # Reload: the new file
        with ws:
            assert reply["rows"] == 3000
            assert ids_of(ws, 0, 100) == list(range(10_000, 10_100))
            path.unlink()
            assert refused(ws, 100)["error_info"].endswith("was deleted after it was opened: reload it to see it")
