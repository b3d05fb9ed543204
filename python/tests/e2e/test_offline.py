"""The offline harness (e2e_netns) itself: the namespace has no network, and the app run
inside it (tauri-driver inside, WebDriver outside through the bridge) shows a file, its
sidecar in the same namespace. What the managed environment's first run is tested under
(test_first_run.py)."""

from __future__ import annotations

import os

from buckaroo_tauri_dev import e2e, e2e_netns, e2e_page, e2e_procs


def test_the_namespace_has_no_network(offline):
    assert offline.offline_evidence() == []
    assert os.readlink(offline.ns) != os.readlink("/proc/self/ns/net")


def test_the_evidence_check_sees_a_network(offline):
    """The same check run in this process's namespace (which has links and routes here)
    reports them: an empty answer above means something."""
    here = e2e_netns.OfflineNet(pid=os.getpid())
    if [line for line in here.run(["ip", "-o", "link"]).stdout.splitlines() if ": lo:" not in line]:
        assert here.offline_evidence() != []


def test_the_app_shows_a_file_with_no_network(display, data_dir, offline):
    with e2e.running_app(display, e2e.app_env(), args=["tiny.parquet"], netns=offline, cwd=data_dir) as (driver, _):
        e2e_procs.wait_until(lambda: driver.execute_script(e2e_page.ROWS_PAINTED_JS), 120, what="rows painted")
        assert e2e_page.page_state(driver)["file"] == "tiny.parquet · 50 rows"
        (app,) = e2e_procs.pids_running(e2e.APP_BINARY)
        (sidecar,) = e2e_procs.python_children(app)
        for pid in (app, sidecar):
            assert os.readlink(f"/proc/{pid}/ns/net") == os.readlink(offline.ns)
