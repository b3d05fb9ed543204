"""`make demo`: open the example app on the 100k sample.

With a display: the app in a normal window until you close it. Without one (or
with --headless): under a private Xvfb, wait until rows are painted, save a
screenshot, print its path, exit 0.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from . import e2e, e2e_page, e2e_procs
from .sample_data import DEFAULT_DIR, write_all

OUT = e2e.REPO / "out" / "demo.png"



def headless(sample: Path, out: Path) -> int:
    x = e2e.Xvfb().start()
    t0 = time.monotonic()
    try:
        env = e2e.app_env(autoload=sample, scope=[sample.parent])
        with e2e.running_app(x.display, env) as (driver, _):
            painted = e2e_procs.wait_until(lambda: driver.execute_script(e2e_page.ROWS_PAINTED_JS), timeout=90, what="rows painted")
            first_rows = time.monotonic() - t0
            time.sleep(0.3)  # let the histograms finish drawing
            e2e_page.grab(x.display, out)
            if not e2e_page.screenshot_ok(out):
                print(f"demo: screenshot {out} looks blank", file=sys.stderr)
                return 1
    finally:
        x.stop()
    print(f"demo: {painted} rows painted {first_rows:.1f} s after launch (headless, Xvfb {x.display})")
    print(f"demo: screenshot {out}")
    return 0


def windowed(sample: Path) -> int:
    # On a desktop: the user's own HOME (their theme, their xorq and buckaroo logs).
    env = {**os.environ, **e2e.app_env(autoload=sample, scope=[sample.parent], HOME=str(Path.home()))}
    print(f"demo: {e2e.APP_BINARY} on {sample} (close the window to exit)")
    return subprocess.call([str(e2e.APP_BINARY)], env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--headless", action="store_true", help="use a private Xvfb even if DISPLAY is set")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sample = write_all(DEFAULT_DIR, include_big=False)["small_100k.parquet"]
    if not e2e.APP_BINARY.exists():
        sys.exit(f"demo: {e2e.APP_BINARY} missing; run `make demo` (it builds the app)")
    if args.headless or not os.environ.get("DISPLAY"):
        sys.exit(headless(sample, args.out))
    sys.exit(windowed(sample))


if __name__ == "__main__":
    main()
