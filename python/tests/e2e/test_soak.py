"""The soak (buckaroo_tauri_dev.soak) for 2 minutes: 8 windows of the real app (pandas
Parquet, an engine file, a xorq build, a CSV; two each) scrolling, sorting and searching
together. Every window answered, none failed, every row count right; RSS sampled each
minute. `make soak` runs the hour and its figure is in docs/benchmarks.md."""

from __future__ import annotations

from buckaroo_tauri_dev import soak


def test_eight_windows_scroll_sort_and_search_for_two_minutes_with_every_window_answered(display, samples, tmp_path):
    out = soak.run(display, minutes=2, big_rows=1_000_000, work=tmp_path)
    print(soak.report(out))
    assert soak.failures(out) == [], soak.report(out)
    assert out["sent"] == out["answered"] > 500
    # Each kind of action happened, every window answered, and windows were answered every minute.
    assert min(out["actions"].values()) > 0, out["actions"]
    assert all(w["answered"] > 0 for w in out["per_window"]), out["per_window"]
    assert [m["windows"] > 0 for m in out["per_minute"]] == [True, True], out["per_minute"]
    assert all(m["rss_mb"]["sidecar"] > 0 and m["rss_mb"]["webviews"] > 0 for m in out["per_minute"])
