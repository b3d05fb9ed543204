"""Whether a Python can run buckaroo's server for the viewer: the plugin's own probe
(`python -m buckaroo_tauri_sidecar --probe`), run before anything opens.

The rules have one home, the launcher's probe.py (which modules, which pandas): the
wheel carries the launcher package the viewer binary embeds (hatch_build.py copies the
same files in) and runs it as the plugin does (sidecar.rs `probe`, launcher.rs
`python_env`): its folder first on PYTHONPATH, PYTHONSAFEPATH=1, and the last JSON line
of stdout is the report. Without this, a half-installed Python passed a "buckaroo
imports" check and the window showed the probe's failure instead of the shell.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

PACKAGE = "buckaroo_tauri_sidecar"
HERE = Path(__file__).resolve().parent
#: In the wheel (hatch_build.py: LAUNCHER_INSIDE).
BUNDLED = HERE / "launcher"
#: The plugin waits its handshake timeout (30 s by default) for the same answer.
TIMEOUT_S = 30.0


class ProbeFailed(Exception):
    """The probe gave no report; the message says why."""


def launcher_folder() -> Path | None:
    """The folder holding the launcher package: the wheel's copy, else (a source
    checkout: the tests, a debug viewer) the crate's own."""
    candidates = [BUNDLED]
    if len(HERE.parents) > 3:  # <repo>/python/buckaroo-desktop/src/buckaroo_desktop
        candidates.append(HERE.parents[3] / "crates" / "buckaroo-tauri" / "python")
    return next((c for c in candidates if (c / PACKAGE / "probe.py").is_file()), None)


def probe_env(folder: Path) -> dict[str, str]:
    """The plugin's: our folder first on PYTHONPATH (the user's entries kept after it),
    and PYTHONSAFEPATH so a `pandas.py` in the working directory shadows nothing."""
    user = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), *user]), "PYTHONSAFEPATH": "1"}


def run(python: str, folder: Path, timeout: float = TIMEOUT_S) -> dict:
    """The probe's report on `python` ({"ok", "problems", "pip", ...}); ProbeFailed when
    it gives none."""
    try:
        out = subprocess.run([python, "-m", PACKAGE, "--probe"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=timeout, env=probe_env(folder))
    except subprocess.TimeoutExpired:
        raise ProbeFailed(f"{python} did not answer the viewer's probe within {timeout:g} s") from None
    except OSError as e:
        raise ProbeFailed(f"{python} cannot be run: {e}") from None
    for line in reversed(out.stdout.splitlines()):
        with contextlib.suppress(ValueError):
            report = json.loads(line)
            if isinstance(report, dict) and isinstance(report.get("problems"), list):
                return report
    said = out.stderr.strip()[-500:] or f"exit {out.returncode}, no report"
    raise ProbeFailed(f"{python} is not a working Python 3 (the viewer's probe said: {said})")
