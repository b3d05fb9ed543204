"""Faults of the running world, in the real app under Xvfb: a sidecar that runs but stops
answering (SIGSTOP here; in life a C extension holding the GIL, a swap storm, a
debugger) is said within seconds, what waits on it is answered, and it comes back by
itself or by Restart."""

from __future__ import annotations

import os
import signal
import time

from selenium.webdriver.common.by import By

from buckaroo_tauri_dev import e2e, e2e_page, e2e_procs

from . import grid
from .test_app import ready_pid, start_env


def status(d) -> dict:
    return e2e_page.invoke(d, "buckaroo_status")["ok"]


def rows_right(d, df, near: int) -> None:
    """The grid scrolled near row `near` shows the file's ids there."""
    grid.scroll_to_row(d, near)
    shown = grid.wait_ids(d, lambda m: any(abs(i - near) < 200 for i in m), timeout=30, what=f"rows near {near}")
    assert all(v == int(df["id"].iloc[i]) for i, v in shown.items())


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
    # Every row request waiting on it is answered (with sidecar_not_responding): nothing hangs.
    grid.wait_idle(d)
    return said


def test_a_frozen_sidecar_is_said_answered_for_and_comes_back(display, data_dir, df100k):
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
        rows_right(d, df100k, 80_000)
        grid.wait_idle(d)
        # 2. Stopped for good: Restart ends it, and a new sidecar shows the file again.
        stop_until_unresponsive(d, pid, 20_000)
        d.find_element(By.ID, "retry").click()
        e2e_procs.wait_until(lambda: (s := status(d))["state"] == "ready" and s["pid"] != pid, 60, what="a new sidecar")
        e2e_procs.wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, what="the stopped sidecar gone")
        grid.wait_ids(d, lambda m: 0 in m, what="rows from the new sidecar")
        rows_right(d, df100k, 60_000)
        grid.wait_idle(d)
        assert e2e_page.page_state(d)["error"] is None
    print(f"\n[faults] SIGSTOP → 'Not responding' {said * 1000:.0f} ms; SIGCONT → ready {back * 1000:.0f} ms")
