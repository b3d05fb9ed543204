"""buckaroo's stats pipeline checks itself once per set of analyses in the launcher
(stat_checks.py), not twice per /load: the verdict and the stats are what buckaroo's
own pipeline gives."""

from __future__ import annotations

import subprocess
import sys

from buckaroo_tauri_dev.server import LAUNCHER_PATH_ENTRY, launcher_module


class FakePipeline:
    checks = 0

    def __init__(self, inputs):
        self._original_inputs = inputs

    def unit_test(self):
        FakePipeline.checks += 1
        return len(self._original_inputs) == 2, [f"error of check {FakePipeline.checks}"]


def test_the_check_runs_once_per_set_of_inputs_and_each_caller_gets_its_own_list():
    once = launcher_module("stat_checks").self_check_once(FakePipeline.unit_test)
    a, b = object(), object()
    FakePipeline.checks = 0
    first = once(FakePipeline([a, b]))
    again = once(FakePipeline([a, b]))
    assert FakePipeline.checks == 1
    assert first == again == (True, ["error of check 1"])
    again[1].append("the caller's own")
    assert once(FakePipeline([a, b]))[1] == ["error of check 1"]
    # Another set, or the same in another order: checked on its own.
    assert once(FakePipeline([b, a])) == (True, ["error of check 2"])
    assert once(FakePipeline([a])) == (False, ["error of check 3"])
    assert FakePipeline.checks == 3


REAL = r"""
import sys
sys.path.insert(0, sys.argv[1])
import pandas as pd
from buckaroo.pluggable_analysis_framework import stat_pipeline
from buckaroo.pluggable_analysis_framework.df_stats_v2 import DfStatsV2
from buckaroo.dataflow.dataflow import CustomizableDataflow

runs = []
process_df = stat_pipeline.StatPipeline.process_df
def counted(self, df, *a, **kw):
    if df is stat_pipeline.PERVERSE_DF:
        runs.append(1)
    return process_df(self, df, *a, **kw)
stat_pipeline.StatPipeline.process_df = counted

klasses = CustomizableDataflow.analysis_klasses
df = pd.DataFrame({"n": [1, 2, None, 4], "s": ["a", "b", "b", None], "t": pd.to_datetime(["2024-01-01", None, "2024-01-03", "2024-01-04"])})

def two_loads():
    runs.clear()
    DfStatsV2.verify_analysis_objects(klasses)
    stats = DfStatsV2(df, klasses)
    verdict = stats.ap.unit_test()
    DfStatsV2.verify_analysis_objects(klasses)
    DfStatsV2(df, klasses)
    return len(runs), verdict, repr(stats.sdf)

plain = two_loads()
from buckaroo_tauri_sidecar import patches
patches.install_stat_checks()
patched = two_loads()
print(plain[0], patched[0])
assert plain[0] == 5, plain[0]      # 2 per load, and the one asked for
assert patched[0] == 1, patched[0]  # once for the process
assert patched[1] == plain[1], (patched[1], plain[1])
assert patched[2] == plain[2]
"""


def test_buckaroo_s_pipeline_checks_itself_once_and_computes_the_same_stats(tmp_path):
    done = subprocess.run([sys.executable, "-c", REAL, str(LAUNCHER_PATH_ENTRY)], capture_output=True, text=True,
                          cwd=tmp_path, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
