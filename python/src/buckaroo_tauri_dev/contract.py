"""Facts the crate owns, read from its source for the Python tests and tools.

The tested buckaroo version has one home: `TESTED_BUCKAROO` in
crates/buckaroo-tauri/src (launcher.rs). python/tests/test_drift.py checks every other
copy against it.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TESTED_BUCKAROO_RS = re.compile(r"\bTESTED_BUCKAROO\s*:\s*&(?:'static\s+)?str\s*=\s*\"([^\"]+)\"")


def tested_buckaroo(root: Path = REPO) -> str:
    """The crate's TESTED_BUCKAROO, wherever in crates/buckaroo-tauri/src it is defined."""
    src = root / "crates" / "buckaroo-tauri" / "src"
    found = {(path, m.group(1)) for path in sorted(src.rglob("*.rs")) for m in TESTED_BUCKAROO_RS.finditer(path.read_text())}
    if len(found) != 1:
        where = ", ".join(f"{p.relative_to(root)}: {v}" for p, v in sorted(found)) or "nowhere"
        raise LookupError(f"expected one `TESTED_BUCKAROO: &str` in {src.relative_to(root)}, found {where}")
    return found.pop()[1]
