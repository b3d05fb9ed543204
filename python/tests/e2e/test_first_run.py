"""The managed environment (issue 27) on the installed .deb: a user with nothing but
Debian's python3 opens a file with no network. The first run sets up a private
environment from the wheels the package ships, saying how far it got; later runs start
as fast as a user's venv; a first run killed half-way is finished by the next; with no
python3 at all the page says which package to install."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import pytest

from buckaroo_tauri_dev import e2e, e2e_page, e2e_procs, first_run

pytestmark = pytest.mark.bundle
ARGS = ["tiny.parquet"]
OVERLAY_SHOWN_JS = "const o = document.getElementById('provisioning'); return !!o && !o.hidden;"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """One user's HOME for the first and the second run."""
    return tmp_path_factory.mktemp("first-run-home")


def painted(s: first_run.Sample) -> bool:
    if s.error:
        raise AssertionError(f"error {s.error}: {s.error_text}")
    return s.rows > 0


def check_sidecar_runs_from_the_env(driver, installed: Path, home: Path) -> Path:
    """The sidecar is `<env>/bin/python -m buckaroo_tauri_sidecar` and its sys.prefix is
    that env; the env's path."""
    (env,) = first_run.env_dirs(home)
    assert first_run.ENV_KEY.fullmatch(env.name), env.name
    (sidecar,) = e2e_procs.python_children(first_run.app_pid(installed))
    assert first_run.cmdline(sidecar)[:3] == [str(env / "bin" / "python"), "-m", "buckaroo_tauri_sidecar"]
    diag = e2e_page.invoke(driver, "buckaroo_diagnostics")["ok"]
    probe = diag.get("probe") or {}
    assert Path(probe.get("prefix") or diag.get("prefix")) == env, diag
    return env


def test_the_first_run_sets_up_the_environment_offline_saying_how_far_it_got(display, data_dir, installed, offline, home, shots,
                                                                             tmp_path):
    with first_run.launched(display, first_run.user_binary(tmp_path, installed), first_run.driver_env(home), ARGS, data_dir,
                            offline) as (driver, _, run):
        first_run.watch(driver, run, lambda s: s.state == "provisioning" and (first_run.percent(s) or 0) > 0 or painted(s), 120)
        shot = e2e_page.grab(display, shots / "first-run-provisioning.png")
        assert driver.execute_script(OVERLAY_SHOWN_JS), "no #provisioning overlay while provisioning"
        first_run.watch(driver, run, painted, 600)
        assert not driver.execute_script(OVERLAY_SHOWN_JS)
        texts = run.texts("provisioning")
        assert len(texts) >= 3, texts
        check_sidecar_runs_from_the_env(driver, installed, home)
        assert e2e_page.page_state(driver)["file"] == "tiny.parquet · 50 rows"
    print(f"\n[first-run] offline first run → rows painted: {run.painted_s():.1f} s; {len(texts)} texts while provisioning, "
          f"e.g. {texts[len(texts) // 2]!r}; screenshot {shot}")


def test_the_second_run_starts_like_a_user_venv(display, data_dir, installed, offline, home, tmp_path):
    if not first_run.env_dirs(home):
        pytest.fail("no environment from the first run: run the module in order (the first-run test made none)")
    times = {}
    for name, env in (("managed env", {}), ("user venv", {"BUCKAROO_PYTHON": str(e2e.VENV_PYTHON)})):
        binary = first_run.user_binary(tmp_path, installed, **env)
        with first_run.launched(display, binary, first_run.driver_env(home), ARGS, data_dir, offline) as (driver, _, run):
            first_run.watch(driver, run, painted, 120)
            assert "provisioning" not in run.states(), run.texts("provisioning")
            times[name] = run.painted_s()
    assert len(first_run.env_dirs(home)) == 1
    print(f"\n[first-run] second run → rows painted: {times['managed env']:.2f} s; a user venv: {times['user venv']:.2f} s")


def test_a_first_run_killed_half_way_is_finished_by_the_next(display, data_dir, installed, offline, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with first_run.launched(display, first_run.user_binary(tmp_path, installed), first_run.driver_env(home), ARGS, data_dir,
                            offline) as (driver, _, run):
        at = first_run.watch(driver, run, lambda s: (first_run.percent(s) or 0) > 0 or painted(s), 120)
        assert not at.rows, "rows painted before a percent showed"
        app = first_run.app_pid(installed)
        left = first_run.descendants(app)
        names = {pid: e2e_procs.exe_name(pid) for pid in left}
        assert any(n == "uv" for n in names.values()), f"no uv under the app while installing: {names}"
        os.kill(app, signal.SIGKILL)
        # The plugin sets a parent-death signal on what it starts: nothing outlives the app.
        try:
            e2e_procs.wait_until(lambda: not [p for p in left if e2e_procs.exe_name(p)], 10, what="the app's children to end")
        finally:
            survivors = {p: first_run.cmdline(p)[:3] for p in left if e2e_procs.exe_name(p)}
            for pid in survivors:
                os.kill(pid, signal.SIGKILL)
        assert not survivors, f"outlived the app: {survivors}"
    with first_run.launched(display, first_run.user_binary(tmp_path, installed), first_run.driver_env(home), ARGS, data_dir,
                            offline) as (driver, _, run):
        first_run.watch(driver, run, painted, 600)
        check_sidecar_runs_from_the_env(driver, installed, home)
    names = sorted(p.name for p in first_run.env_root(home).iterdir())
    assert len(first_run.env_dirs(home)) == 1 and not [n for n in names if n.endswith(".partial")], names
    print(f"\n[first-run] killed at {first_run.percent(at)} %; "
          f"relaunch → rows painted {run.painted_s():.1f} s; left in buckaroo-env/: {names}")


def test_with_no_python3_the_page_says_what_to_install(display, data_dir, installed, offline, tmp_path):
    home, empty = tmp_path / "home", Path(tempfile.mkdtemp(dir=tmp_path, prefix="empty-path-"))
    home.mkdir()
    binary = first_run.user_binary(tmp_path, installed, path=str(empty))
    with first_run.launched(display, binary, first_run.driver_env(home), ARGS, data_dir, offline) as (driver, _, run):
        ready = time.monotonic()
        s = first_run.watch(driver, run, lambda s: s.error or s.rows, 30)
        waited = time.monotonic() - ready
        assert s.error == "python_missing", s
        assert "python3" in s.error_text, s.error_text
        assert waited <= 2, f"{waited:.1f} s after the page was ready"
    assert first_run.env_dirs(home) == []
    print(f"\n[first-run] no python3: python_missing {waited * 1000:.0f} ms after the page was ready: {s.error_text!r}")
