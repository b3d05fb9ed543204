"""Work done once the sidecar is idle: with BUCKAROO_TAURI_WARM_XORQ=1 (xorq() apps),
importing xorq, so the first engine load or /load_expr skips its ~1 s import, then what
the caller adds (cli: DuckDB, which a big file's first sorted window needs)."""

from __future__ import annotations

import os
import threading

from .contract import WARM_XORQ_ENV
from .util import log
from .xorq_support import xorq_import_error


class IdleWarmUp:
    """Runs a job once, in a thread, when the sidecar is idle: the first row window has
    been written (or GRACE_S passed, for an app that opens nothing at start) and no
    request came for IDLE_S. xorq's import holds the GIL for about a second; run next to
    the first /load it doubled it (load + initial_state 811 → 1,598 ms here) and slowed
    the first rows the same way. IDLE_S leaves the page time to paint those rows: its
    mount and paint need the CPU the import would take."""

    IDLE_S = 2.0
    GRACE_S = 3.0

    def __init__(self) -> None:
        import time

        self._clock = time.monotonic
        self._last = self._clock()
        self._served = threading.Event()

    def busy(self) -> None:
        """A request arrived (HTTP or a WebSocket message)."""
        self._last = self._clock()

    def served(self) -> None:
        """A row window was written."""
        self._served.set()

    def start(self, job) -> None:
        def run():
            import time

            self._served.wait(self.GRACE_S)
            while (left := self._last + self.IDLE_S - self._clock()) > 0:
                time.sleep(left)
            job()
        threading.Thread(target=run, daemon=True, name="idle-warm-up").start()


WARM_UP = IdleWarmUp()


def warm_xorq(then=None) -> None:
    """Import xorq once the sidecar is idle (BUCKAROO_TAURI_WARM_XORQ=1, set for xorq()
    apps): the first engine load or /load_expr then skips its ~1 s import. `then` runs
    after it, in the same thread (the engine's next warm-up)."""
    import importlib.util

    if os.environ.get(WARM_XORQ_ENV) != "1" or importlib.util.find_spec("xorq") is None:
        return

    def warm():
        import time

        t0 = time.monotonic()
        error = xorq_import_error()
        log.info("warm-up: xorq %s in %.0f ms, the sidecar idle", "imported" if error is None else "failed", (time.monotonic() - t0) * 1000)
        if then is not None:
            then()
    WARM_UP.start(warm)
