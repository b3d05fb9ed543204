"""Make xorq build directories the way a user does: a pipeline file and `xorq build`.

`xorq build` reads git state (it fails inside a repository with no commits and copies
the whole `git diff` into the build in a dirty one) and xorq writes its log and caches
under `$HOME`: every build here runs in a scratch directory outside the repository,
with `HOME` inside it, so nothing leaks into the checkout or the user's home.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

XORQ = Path(sys.executable).with_name("xorq")
WRITTEN = re.compile(r"Written '[^']+' to (\S+)")


def scratch_env(workdir: Path, **extra: str) -> dict[str, str]:
    """The environment xorq (and a sidecar that imports it) should run with: HOME in
    `workdir`, so ~/.config/xorq/xorq.log and ~/.cache/xorq stay out of the real home."""
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "HOME": str(home), **extra}


def build(workdir: Path, pipeline: str, expr_name: str = "expr", timeout: float = 300) -> Path:
    """Write `pipeline` (Python source defining `expr_name`) to workdir/pipeline.py and
    run `xorq build` on it there; the absolute build directory."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "pipeline.py").write_text(pipeline)
    done = subprocess.run(
        [str(XORQ), "build", "pipeline.py", "-e", expr_name, "--builds-dir", "builds"],
        cwd=workdir, env=scratch_env(workdir), capture_output=True, text=True, timeout=timeout, check=False)
    found = WRITTEN.search(done.stdout + done.stderr)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"xorq build failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return (workdir / found.group(1)).resolve()


def parquet_pipeline(parquet: Path, table: str = "data", where: str | None = None) -> str:
    """A pipeline reading `parquet` on xorq's embedded engine, optionally filtered
    (`where` is an ibis predicate over `t`, e.g. `t.status != "archived"`)."""
    lines = [
        "import xorq.api as xo",
        "con = xo.connect()",
        f"t = xo.deferred_read_parquet({str(parquet.resolve())!r}, con, table_name={table!r})",
        f"expr = t.filter({where})" if where else "expr = t",
    ]
    return "\n".join(lines) + "\n"


def tied_parquet(path: Path, rows: int = 3000, seed: int = 7) -> Path:
    """A small parquet for exact paging tests: `id` unique (shuffled), `grp` (5 values)
    and `label` (7 values) full of ties, `value` a float with nulls, `tags` a list
    (a type no engine orders by)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    value = rng.normal(size=rows).round(3)
    table = pa.table({
        "id": pa.array(rng.permutation(rows), type=pa.int64()),
        "grp": pa.array(rng.integers(0, 5, rows), type=pa.int64()),
        "label": pa.array([f"w{k}" for k in rng.integers(0, 7, rows)]),
        "value": pa.array(value, mask=rng.random(rows) < 0.1),
        "tags": pa.array([[int(k % 3), int(k % 5)] for k in range(rows)], type=pa.list_(pa.int64())),
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=max(rows // 8, 1))
    return path


def unreadable_copies(build_dir: Path, into: Path) -> dict[str, Path]:
    """Copies of `build_dir` broken the ways a build goes bad on disk: `reads_deleted`,
    `reads_truncated` (half of each reads/ parquet), `yaml_missing`, `yaml_garbage`."""
    import shutil

    def reads_deleted(d: Path) -> None:
        shutil.rmtree(d / "reads")

    def reads_truncated(d: Path) -> None:
        for f in (d / "reads").glob("*.parquet"):
            f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])

    def yaml_missing(d: Path) -> None:
        (d / "expr.yaml").unlink()

    def yaml_garbage(d: Path) -> None:
        (d / "expr.yaml").write_text("{{{ this is not: [yaml\n")

    copies = {}
    for breaks in (reads_deleted, reads_truncated, yaml_missing, yaml_garbage):
        copy = into / breaks.__name__
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(build_dir, copy)
        breaks(copy)
        copies[breaks.__name__] = copy
    return copies


def row_grouped_copy(source: Path, target: Path, row_group_size: int = 65_536) -> Path:
    """`source` rewritten with `row_group_size`-row row groups (what most writers make;
    sample_data writes big_1m.parquet as one). DataFusion scans row groups in parallel
    partitions, which is what makes an unordered LIMIT/OFFSET differ between queries."""
    import pyarrow.parquet as pq

    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pq.read_table(source), target, row_group_size=row_group_size)
    return target


def main(argv: list[str] | None = None) -> None:
    """`python -m buckaroo_tauri_dev.xorq_builds WORKDIR PARQUET [--where PRED]`: print the
    build directory (for the Rust real-server tests, which have no xorq of their own)."""
    import argparse

    parser = argparse.ArgumentParser(prog="xorq_builds")
    parser.add_argument("workdir", type=Path)
    parser.add_argument("parquet", type=Path)
    parser.add_argument("--where")
    args = parser.parse_args(argv)
    print(build(args.workdir, parquet_pipeline(args.parquet.resolve(), where=args.where)))


if __name__ == "__main__":
    main()


def without_xorq(workdir: Path) -> str:
    """A PYTHONPATH under which `import xorq` fails as it does where xorq is not
    installed: a `xorq` package first on it that raises ImportError."""
    fake = workdir / "no-xorq" / "xorq"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "__init__.py").write_text('raise ImportError("No module named \'xorq\' (simulated)")\n')
    return str(fake.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")

