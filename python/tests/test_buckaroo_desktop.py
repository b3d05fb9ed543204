"""buckaroo_desktop's own logic, without a viewer: what each kind of frame becomes on
disk (with the real libraries, xorq included), and which leftover folders the next
show() removes. The viewer itself is tested from the built wheel (e2e/test_wheel.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python" / "buckaroo-desktop" / "src"))
from buckaroo_desktop import _show, viewer  # noqa: E402

FRAME = pd.DataFrame({"id": range(5), "name": [f"r{i}" for i in range(5)]})


KINDS = {"pandas": FRAME, "polars": pl.from_pandas(FRAME), "polars-lazy": pl.from_pandas(FRAME).lazy(),
         "pyarrow": pa.Table.from_pandas(FRAME, preserve_index=False)}


@pytest.mark.parametrize("data", KINDS.values(), ids=KINDS.keys())
def test_each_kind_of_frame_is_written_as_parquet(data, tmp_path):
    path = tmp_path / "f.parquet"
    _show.write_parquet(data, path)
    assert pd.read_parquet(path).reset_index(drop=True).equals(FRAME)


def test_a_series_and_non_string_column_names_are_made_writable(tmp_path):
    _show.write_parquet(FRAME["name"], tmp_path / "s.parquet")
    assert pd.read_parquet(tmp_path / "s.parquet")["name"].tolist() == FRAME["name"].tolist()
    _show.write_parquet(pd.DataFrame({0: [1, 2], 1: ["a", "b"]}), tmp_path / "n.parquet")
    assert list(pd.read_parquet(tmp_path / "n.parquet").columns) == ["0", "1"]


def test_a_xorq_expression_runs_on_its_engine(tmp_path):
    """In its own process: xorq writes under HOME and reads the cwd's git state."""
    script = (f"import sys; sys.path.insert(0, {str(REPO / 'python' / 'buckaroo-desktop' / 'src')!r})\n"
              "import pandas as pd, xorq.api as xo\n"
              "from buckaroo_desktop import _show\n"
              "t = xo.memtable(pd.DataFrame({'id': range(10)}))\n"
              "_show.write_parquet(t.filter(t.id >= 7), __import__('pathlib').Path('x.parquet'))\n")
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={**os.environ, "HOME": str(tmp_path)}, check=True, timeout=120)
    assert pd.read_parquet(tmp_path / "x.parquet")["id"].tolist() == [7, 8, 9]


def test_other_data_is_a_type_error_that_points_at_the_command():
    with pytest.raises(TypeError, match="buckaroo-desktop FILE"):
        _show.write_parquet([1, 2, 3], Path("unused.parquet"))


def test_titles_become_safe_file_names():
    assert _show.file_stem("Q3 sales / EU") == "Q3_sales_EU"
    assert _show.file_stem("../..") == "frame"
    assert _show.default_title(FRAME) == "pandas DataFrame"


def test_the_next_show_removes_only_folders_whose_viewer_is_gone(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()

    def folder(name: str, owner: int | None, age_s: float = 0) -> Path:
        d = tmp_path / f"{_show.DIR_PREFIX}{name}"
        d.mkdir()
        (d / "f.parquet").write_bytes(b"PAR1")
        if owner is not None:
            (d / _show.OWNER_FILE).write_text(str(owner))
        os.utime(d, (time.time() - age_s, time.time() - age_s))
        return d

    gone = folder("dead", dead.pid)
    alive = folder("alive", os.getpid())
    unclaimed_old = folder("old", None, age_s=_show.UNCLAIMED_AFTER_S + 60)
    unclaimed_new = folder("new", None)  # another show() still starting its viewer
    unrelated = tmp_path / "someone-else"
    unrelated.mkdir()
    _show.sweep()
    assert not gone.exists() and not unclaimed_old.exists()
    assert alive.exists() and unclaimed_new.exists() and unrelated.exists()


def test_a_missing_library_message_names_each_distros_packages():
    text = viewer.missing_libraries_message("libwebkit2gtk-4.1.so.0")
    assert "libwebkit2gtk-4.1.so.0 was not found" in text
    assert all(command in text for command in viewer.OS_PACKAGES.values())
    line = "/x/buckaroo-desktop-viewer: error while loading shared libraries: libgtk-3.so.0: cannot open shared object file: No such file"
    assert viewer.LOADER_ERROR.search(line).group(1) == "libgtk-3.so.0"
