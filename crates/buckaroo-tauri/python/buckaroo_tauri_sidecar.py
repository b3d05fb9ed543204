"""buckaroo-tauri sidecar helper, run with the user's Python.

`--probe` prints one JSON line describing whether this interpreter can run the
buckaroo server, and what to install if not. Standard library only: it must work
in an environment where buckaroo itself is missing or broken.
"""

from __future__ import annotations

import json
import sys

TESTED_BUCKAROO = ("0.15.11",)
PIP_SPEC = '"buckaroo[server,polars]==0.15.11" six "pandas<3"'


def _version(dist: str) -> str | None:
    """Installed version from package metadata: no import, so the probe costs
    ~50 ms instead of the ~500 ms that importing pandas and buckaroo takes."""
    from importlib import metadata, util

    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
    return version if util.find_spec(dist) is not None else None


def probe(deep: bool = False) -> dict:
    info: dict = {
        "python": sys.executable,
        "python_version": ".".join(map(str, sys.version_info[:3])),
        "problems": [],
        "warnings": [],
        "pip": PIP_SPEC,
    }
    problems, warnings = info["problems"], info["warnings"]
    if sys.version_info < (3, 11):
        problems.append(f"Python {info['python_version']} is too old; buckaroo needs 3.11+")
    for mod in ("six", "tornado", "pandas"):
        info[mod] = _version(mod)
        if info[mod] is None:
            problems.append(f"{mod} is not installed")
    info["buckaroo"] = _version("buckaroo")
    if info["buckaroo"] is None:
        problems.append("buckaroo is not installed (or fails to import)")
    elif info["buckaroo"] not in TESTED_BUCKAROO:
        warnings.append(f"buckaroo {info['buckaroo']} is outside the tested versions {', '.join(TESTED_BUCKAROO)}")
    if info["pandas"] and info["pandas"].split(".")[0].isdigit() and int(info["pandas"].split(".")[0]) >= 3:
        problems.append(f"pandas {info['pandas']} breaks buckaroo's row serialisation; install pandas<3")
    if deep and info["buckaroo"] is not None and info["tornado"] is not None:
        try:
            import buckaroo.server.__main__  # noqa: F401
        except Exception as exc:  # noqa: BLE001
            problems.append(f"buckaroo.server does not import: {type(exc).__name__}: {exc}")
    info["ok"] = not problems
    return info


def main(argv: list[str]) -> int:
    if "--probe" in argv:
        print(json.dumps(probe(deep="--deep" in argv)), flush=True)
        return 0
    print("usage: buckaroo_tauri_sidecar.py --probe [--deep]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
