"""`--probe [--deep]`: one JSON report of whether this interpreter can run the buckaroo
server and what to install if not. Standard library only (and contract, which imports
nothing), so it works where buckaroo is missing or broken; `--deep` also imports
buckaroo's server and xorq to see that they load."""

from __future__ import annotations

import sys

from .contract import PIP_SPEC, TESTED_BUCKAROO, XORQ_PIP


def installed_version(dist: str) -> str | None:
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
        # The environment (a venv's folder, not the interpreter it links to).
        "prefix": sys.prefix,
        "problems": [],
        "warnings": [],
        "pip": PIP_SPEC,
        "xorq_pip": XORQ_PIP,
    }
    problems, warnings = info["problems"], info["warnings"]
    if sys.version_info < (3, 11):  # noqa: UP036 - the probe runs under any Python, to say so
        problems.append(f"Python {info['python_version']} is too old; buckaroo needs 3.11+")
    for mod in ("six", "tornado", "pandas"):
        info[mod] = installed_version(mod)
        if info[mod] is None:
            problems.append(f"{mod} is not installed")
    info["buckaroo"] = installed_version("buckaroo")
    if info["buckaroo"] is None:
        problems.append("buckaroo is not installed (or fails to import)")
    elif info["buckaroo"] != TESTED_BUCKAROO:
        warnings.append(f"buckaroo {info['buckaroo']} is outside the tested versions {TESTED_BUCKAROO}")
    if info["pandas"] and info["pandas"].split(".")[0].isdigit() and int(info["pandas"].split(".")[0]) >= 3:
        problems.append(f"pandas {info['pandas']} breaks buckaroo's row serialisation; install pandas<3")
    if deep and info["buckaroo"] is not None and info["tornado"] is not None:
        try:
            import buckaroo.server.__main__  # noqa: F401
        except Exception as exc:  # noqa: BLE001
            problems.append(f"buckaroo.server does not import: {type(exc).__name__}: {exc}")
    # Optional (only /load_expr needs it), so never a problem.
    info["xorq"] = installed_version("xorq")
    if deep and info["xorq"] is not None:
        try:
            import xorq.api  # noqa: F401
        except Exception as exc:  # noqa: BLE001
            warnings.append(f"xorq {info['xorq']} does not import (/load_expr will answer 501): "
                            f"{type(exc).__name__}: {exc}")
    info["externally_managed"], info["venv_available"] = externally_managed(), venv_available()
    info["ok"] = not problems
    return info


def externally_managed() -> bool:
    """PEP 668: the OS owns this interpreter's packages (Debian's /usr/bin/python3), so
    `pip install` into it fails with externally-managed-environment; a venv is the fix."""
    import sysconfig
    from pathlib import Path

    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    return not in_venv and (Path(sysconfig.get_path("stdlib")) / "EXTERNALLY-MANAGED").exists()


def venv_available() -> bool:
    """Whether `python -m venv` can make a venv with pip: Debian splits ensurepip out
    into python3-venv."""
    from importlib import util

    return util.find_spec("venv") is not None and util.find_spec("ensurepip") is not None
