"""The launcher's fair worker pool (window_pool.py), alone: sessions take turns, one
session never holds more than its share, and a task given up frees its worker."""

from __future__ import annotations

import threading
import time

from buckaroo_tauri_dev.server import launcher_module

pool_module = launcher_module("window_pool")


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_a_stuck_session_holds_only_its_share_and_others_run_at_once():
    pool = pool_module.FairPool(workers=4, per_session=2)
    release, started, done = threading.Event(), [], []
    stuck = [pool.submit("a", lambda n=n: (started.append(n), release.wait())) for n in range(8)]
    wait_for(lambda: len(started) == 2)
    t0 = time.monotonic()
    pool.submit("b", lambda: done.append(time.monotonic() - t0))
    wait_for(lambda: done)
    assert done[0] < 0.5 and len(started) == 2, (done, started)  # b ran; a still at its share
    # Given up: the queued ones never run, the running ones' workers are replaced.
    for task in stuck:
        pool.give_up(task)
    for n in range(4):
        pool.submit("c", lambda n=n: done.append(n))
    wait_for(lambda: len(done) == 5)
    release.set()
    time.sleep(0.1)
    assert sorted(started) == [0, 1], "tasks given up while queued never ran"


def test_sessions_take_turns():
    pool = pool_module.FairPool(workers=1, per_session=1)
    gate, order = threading.Event(), []
    pool.submit("first", gate.wait)
    for n in range(3):
        pool.submit("a", lambda n=n: order.append(f"a{n}"))
    for n in range(3):
        pool.submit("b", lambda n=n: order.append(f"b{n}"))
    gate.set()
    wait_for(lambda: len(order) == 6)
    assert order == ["a0", "b0", "a1", "b1", "a2", "b2"]
