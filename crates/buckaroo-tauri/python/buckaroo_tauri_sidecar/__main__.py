"""`python -m buckaroo_tauri_sidecar --probe [--deep]` prints the probe's JSON report;
any other arguments start the server (cli.py). Parses argv itself and imports the job
it dispatches to only then: the probe must run on interpreters where buckaroo, tornado
or pandas are missing or broken."""

from __future__ import annotations

import gc
import os
import sys

from .contract import EXIT_OK

# Set by the plugin only so that Python finds this package (PYTHONPATH=<its folder>
# [:<the user's PYTHONPATH>]) and nothing in the working directory shadows a module
# (PYTHONSAFEPATH=1); dropped before anything runs, so the sidecar's children see the
# user's environment.
SAFE_PATH_ENV = "PYTHONSAFEPATH"
PATH_ENV = "PYTHONPATH"


def _same_dir(a: str, b: str) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def restore_user_env(environ, package_parent: str) -> None:
    """Drop PYTHONSAFEPATH, and `package_parent` (the folder holding this package) from
    PYTHONPATH: the user's own PYTHONPATH is what is left, unset when it was empty."""
    environ.pop(SAFE_PATH_ENV, None)
    entries = environ.get(PATH_ENV, "").split(os.pathsep)
    ours = next((i for i, entry in enumerate(entries) if entry and _same_dir(entry, package_parent)), None)
    if ours is None:
        return
    del entries[ours]
    if any(entries):
        environ[PATH_ENV] = os.pathsep.join(entries)
    else:
        environ.pop(PATH_ENV, None)


def main(argv: list[str]) -> int:
    restore_user_env(os.environ, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if "--probe" in argv:
        import json

        from .probe import probe

        print(json.dumps(probe(deep="--deep" in argv)), flush=True)
        return EXIT_OK
    # buckaroo's imports (most of the sidecar's start) allocate several hundred thousand
    # objects, which the collector would walk again and again meanwhile; cli.py turns it
    # back on once they are in (~100 ms less, measured: docs/benchmarks.md).
    gc.disable()
    from .cli import serve

    return serve(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
