"""Expression work shared fairly between sessions.

Every expression row window and deferred stats job is a query, and one engine that
hangs (a PostgreSQL that stops answering, a network that died) holds a worker for as
long as it hangs. With one FIFO pool of 8 workers, one session's 8 stuck windows left
every other session's windows waiting (measured: no answer within 30 s), and 16 queued
deep sorts of one session delayed another's 20 ms window to 10.5 s.

So: each session's tasks wait in a queue of their own, workers take from the queues in
turn (round robin), and a session runs at most PER_SESSION tasks at once, stuck ones
included. A task that outlives its deadline is given up by the caller (the window is
answered `row_request_timeout`); the worker it holds is replaced, so the pool keeps its
capacity while the stuck query runs on, up to MAX_EXTRA replacements.
"""

from __future__ import annotations

import collections
import threading

from .util import log

WORKERS = 8
PER_SESSION = 4  # a session's windows and stats never hold more than half the workers
MAX_EXTRA = 16  # replacement threads for tasks given up while still running


class Task:
    """One unit of work of a session; `give_up()` once its caller stopped waiting."""

    def __init__(self, session: str, call, args: tuple):
        self.session, self.call, self.args = session, call, args
        self.state = "queued"  # queued → running → done; given up: never run, or its worker replaced
        self.given_up = False


class FairPool:
    def __init__(self, workers: int = WORKERS, per_session: int = PER_SESSION):
        self.workers, self.per_session = workers, per_session
        self._lock = threading.Condition()
        self._queues: collections.OrderedDict[str, collections.deque] = collections.OrderedDict()
        self._running: collections.Counter = collections.Counter()
        self._threads = 0
        self._replaced = 0  # workers held by tasks given up while running

    def submit(self, session: str, call, *args) -> Task:
        task = Task(session, call, args)
        with self._lock:
            self._queues.setdefault(session, collections.deque()).append(task)
            if self._threads < self.workers + self._replaced:
                self._start_thread()
            self._lock.notify()
        return task

    def give_up(self, task: Task) -> None:
        """The caller answered for `task` already: a queued one never runs; a running
        one's worker is replaced until it returns."""
        with self._lock:
            task.given_up = True
            if task.state == "queued":
                queue = self._queues.get(task.session)
                if queue is not None and task in queue:
                    queue.remove(task)
            elif task.state == "running" and self._replaced < MAX_EXTRA:
                self._replaced += 1
                task.state = "replaced"
                self._start_thread()
                self._lock.notify()

    def _start_thread(self) -> None:
        self._threads += 1
        threading.Thread(target=self._work, daemon=True, name=f"window-{self._threads}").start()

    def _next(self) -> Task | None:
        """The oldest task of the first session in turn that may run one more."""
        for session, queue in self._queues.items():
            if queue and self._running[session] < self.per_session:
                task = queue.popleft()
                self._queues.move_to_end(session)  # the next turn starts after it
                if not queue:
                    del self._queues[session]
                return task
        return None

    def _work(self) -> None:
        while True:
            with self._lock:
                while (task := self._next()) is None:
                    if self._threads > self.workers + self._replaced:
                        self._threads -= 1
                        return
                    self._lock.wait()
                task.state = "running"
                self._running[task.session] += 1
            try:
                task.call(*task.args)
            except BaseException:  # noqa: BLE001 - the call answers for itself; never lose a worker (a panic neither)
                log.exception("a worker's task failed")
            finally:
                with self._lock:
                    self._running[task.session] -= 1
                    if not self._running[task.session]:
                        del self._running[task.session]
                    if task.state == "replaced":
                        self._replaced -= 1
                    task.state = "done"
                    self._lock.notify_all()
