"""buckaroo's summary-stats pipeline runs a self-check (its stats over a 10-row frame of
awkward values, PERVERSE_DF) each time one is built: twice per buckaroo-mode /load
(DfStatsV2.verify_analysis_objects and DfStatsV2.__init__), and no load path reads
the verdict. Its polars and xorq pipelines skip it for that reason ("the per-widget
PERVERSE_DF pipeline run"). Here it runs once per set of analyses, the verdict kept."""

from __future__ import annotations

import threading


def self_check_once(unit_test):
    """StatPipeline.unit_test, run once per set of inputs (the analysis classes or stat
    functions the pipeline was built from, in order); later pipelines of the same set
    get that verdict. The inputs are kept with it: their ids are never reused."""
    verdicts: dict[tuple[int, ...], tuple[list, tuple[bool, list]]] = {}
    lock = threading.Lock()

    def checked_once(self):
        inputs = list(self._original_inputs)
        key = tuple(map(id, inputs))
        with lock:
            known = verdicts.get(key)
        if known is None:
            known = (inputs, unit_test(self))
            with lock:
                known = verdicts.setdefault(key, known)
        passed, errors = known[1]
        return passed, list(errors)

    return checked_once
