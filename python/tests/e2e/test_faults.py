"""Faults of the running world, in the real app under Xvfb: a sidecar that runs but stops
answering (SIGSTOP here; in life a C extension holding the GIL, a swap storm, a
debugger) is said within seconds, what waits on it is answered, and it comes back by
itself or by Restart; a file rewritten or deleted under its window is said, and Reload
shows what it holds now."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from buckaroo_tauri_dev import e2e, e2e_page, e2e_procs

from . import grid
from .test_app import ready_pid, start_env


def status(d) -> dict:
    return e2e_page.invoke(d, "buckaroo_status")["ok"]


def shows_rows_near(d, df, near: int, what: str) -> None:
    """The grid shows rows near row `near`, each with the file's id there."""
    shown = grid.wait_ids(d, lambda m: any(abs(i - near) < 200 for i in m), timeout=30, what=what)
    assert all(v == int(df["id"].iloc[i]) for i, v in shown.items())


def rows_right(d, df, near: int) -> None:
    """The grid scrolled near row `near` shows the file's ids there."""
    grid.scroll_to_row(d, near)
    shows_rows_near(d, df, near, f"rows near {near}")


def stop_until_unresponsive(d, pid: int, scroll_to: int) -> float:
    """SIGSTOP the sidecar, ask for rows it cannot send; seconds until the window says so."""
    os.kill(pid, signal.SIGSTOP)
    stopped = time.monotonic()
    grid.scroll_to_row(d, scroll_to)
    e2e_procs.wait_until(lambda: status(d)["state"] == "unresponsive", 15, what="unresponsive")
    said = time.monotonic() - stopped
    assert e2e_page.page_state(d)["sidecarText"].startswith("Not responding for")
    retry = d.find_element(By.ID, "retry")
    assert retry.is_displayed() and retry.text == "Restart"
    # Every row request waiting on it is answered to the page (sidecar_not_responding):
    # nothing hangs. The grid keeps those rows empty, to fill them when it answers.
    grid.wait_idle(d)
    assert e2e_page.page_state(d)["counters"]["errors"] > 0
    return said


def test_a_frozen_sidecar_is_said_answered_for_and_comes_back(display, data_dir, df100k):
    """The grid is kept through the silence and through Restart: the rows asked for
    meanwhile come where the user is, with no scrolling again."""
    with e2e.running_app(display, start_env(data_dir)) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="first rows")
        pid = ready_pid(d)
        # 1. Stopped, then continued: ready again by itself, the same sidecar, rows right.
        said = stop_until_unresponsive(d, pid, 40_000)
        os.kill(pid, signal.SIGCONT)
        continued = time.monotonic()
        e2e_procs.wait_until(lambda: (s := status(d))["state"] == "ready" and s["pid"] == pid, 15, what="ready again")
        back = time.monotonic() - continued
        assert not d.find_element(By.ID, "retry").is_displayed()
        # Without scrolling again: the grid kept its place and fills it.
        shows_rows_near(d, df100k, 40_000, "the rows asked for while it was silent")
        grid.wait_idle(d)
        rows_right(d, df100k, 80_000)
        grid.wait_idle(d)
        # 2. Stopped for good: Restart ends it, and a new sidecar fills the rows asked for.
        stop_until_unresponsive(d, pid, 20_000)
        d.find_element(By.ID, "retry").click()
        e2e_procs.wait_until(lambda: (s := status(d))["state"] == "ready" and s["pid"] != pid, 60, what="a new sidecar")
        e2e_procs.wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, what="the stopped sidecar gone")
        shows_rows_near(d, df100k, 20_000, "rows from the new sidecar")
        grid.wait_idle(d)
        rows_right(d, df100k, 60_000)
        grid.wait_idle(d)
        assert e2e_page.page_state(d)["error"] is None
    print(f"\n[faults] SIGSTOP → 'Not responding' {said * 1000:.0f} ms; SIGCONT → ready {back * 1000:.0f} ms")


CHANGED_JS = "const c = document.getElementById('changed'); return c.hidden ? null : c.textContent;"


def write_ids(path, ids: range, how: str) -> None:
    """The file rewritten as writers do: pyarrow to a temp file renamed over it, or in place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": list(ids), "v": [i * 0.5 for i in ids]})
    if how == "rename":
        pq.write_table(table, path.with_name("." + path.name + ".tmp"))
        os.replace(path.with_name("." + path.name + ".tmp"), path)
    else:
        with open(path, "r+b") as f:
            f.truncate(0)
            pq.write_table(table, f)


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_a_file_changed_under_its_window_is_said_and_reload_shows_it(display, tmp_path, engine):
    """Rewritten by rename and in place, then deleted: each said within 2 s, the window
    keeps what it shows (an engine window of the changed file is refused, never the new
    rows among the old), and Reload shows what the file holds now."""
    path = tmp_path / "sales.parquet"
    write_ids(path, range(50), "rename")
    extra = {"BUCKAROO_ENGINE_MIN_BYTES": "1"} if engine else {}
    with e2e.running_app(display, e2e.app_env(autoload=path, scope=[tmp_path], **extra)) as (d, _):
        grid.wait_ids(d, lambda m: m.get(0) == 0, what="the first rows")
        assert e2e_page.page_state(d)["file"].startswith("sales.parquet · 50 rows")
        said = []
        for how, ids in (("rename", range(1000, 1070)), ("in_place", range(2000, 2030))):
            t0 = time.monotonic()
            write_ids(path, ids, how)
            text = e2e_procs.wait_until(lambda: d.execute_script(CHANGED_JS), 10, what=f"the change ({how}) said")
            said.append(time.monotonic() - t0)
            assert text == "sales.parquet changed on disk" and said[-1] < 2.0, (text, said)
            assert grid.ids(grid.data_rows(d)).get(0) != ids[0], "the window keeps what it showed until Reload"
            d.find_element(By.ID, "reload").click()
            grid.wait_ids(d, lambda m, first=ids[0]: m.get(0) == first, what=f"the rows after {how}")
            assert e2e_page.page_state(d)["file"].startswith(f"sales.parquet · {len(ids)} rows")
            assert d.execute_script(CHANGED_JS) is None
            grid.wait_idle(d)
        path.unlink()
        assert e2e_procs.wait_until(lambda: d.execute_script(CHANGED_JS), 10, what="the delete said") == "sales.parquet was deleted"
        d.find_element(By.ID, "reload").click()
        state = e2e_procs.wait_until(lambda: (s := e2e_page.page_state(d))["error"] and s, 30, what="the reload's error")
        assert state["errorCode"] == "file_not_found", state
    print(f"\n[faults] {'engine' if engine else 'pandas'}: a change said after {', '.join(f'{s * 1000:.0f}' for s in said)} ms")


@contextlib.contextmanager
def memory_cgroup(limit: int):
    """A memory cgroup of our own (v1, or v2 where the host has it) limited to `limit`
    bytes, removed after; `cgroup.procs` to join it."""
    own = Path("/proc/self/cgroup").read_text().splitlines()
    name = f"buckaroo-tauri-e2e-oom-{os.getpid()}"
    for line in own:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            folder, limits = Path("/sys/fs/cgroup/memory") / path.lstrip("/") / name, {
                "memory.limit_in_bytes": limit, "memory.memsw.limit_in_bytes": limit}
        elif not controllers and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            folder, limits = Path("/sys/fs/cgroup") / path.lstrip("/") / name, {"memory.max": limit, "memory.swap.max": 0}
        else:
            continue
        folder.mkdir()
        try:
            for file, value in limits.items():
                with contextlib.suppress(OSError):  # swap accounting may be off
                    (folder / file).write_text(str(value))
            yield folder / "cgroup.procs"
        finally:
            for _ in range(50):
                with contextlib.suppress(OSError):
                    folder.rmdir()
                    break
                time.sleep(0.1)
        return
    pytest.fail("no memory cgroup could be made: this test needs root and a cgroup file system (CI has both)")


def test_a_sidecar_killed_for_memory_is_said_and_the_engine_is_offered(display, data_dir, tmp_path):
    """The kernel kills the sidecar (a 400 MiB cgroup) during a pandas load of the 1M-row
    file: the window says out of memory, the restarted sidecar does not load it again, and
    "Open on the engine" shows the same file, read in place."""
    with memory_cgroup(400 << 20) as procs:
        python = tmp_path / "python"  # the sidecar (and its probe) join the cgroup, the app does not
        python.write_text(f'#!/bin/sh\necho $$ > {procs}\nexec {e2e.VENV_PYTHON} "$@"\n')
        python.chmod(0o755)
        env = e2e.app_env(autoload=data_dir / "tiny.parquet", scope=[data_dir], BUCKAROO_PYTHON=str(python))
        with e2e.running_app(display, env) as (d, _):
            grid.wait_ids(d, lambda m: 0 in m, what="the first file")
            d.execute_script("window.__buckarooApp.load(arguments[0])", {"path": str(data_dir / "big_1m.parquet"), "backend": "pandas"})
            state = e2e_procs.wait_until(lambda: (s := e2e_page.page_state(d))["errorCode"] == "sidecar_out_of_memory" and s, 120,
                                         what="out of memory said")
            assert "engine" in state["error"], state["error"]
            e2e_procs.wait_until(lambda: status(d)["state"] == "ready", 60, what="a new sidecar")
            offer = d.find_element(By.ID, "engine-open")
            assert offer.is_displayed()
            offer.click()
            e2e_procs.wait_until(lambda: e2e_page.page_state(d)["file"].endswith("· engine"), 120, what="the file on the engine")
            assert e2e_page.page_state(d)["file"].startswith("big_1m.parquet · 1,000,000 rows")
            grid.wait_ids(d, lambda m: 0 in m, what="its rows")
