"""The managed environment's controls in the built app (the debug binary, its env bundle
given by BUCKAROO_TAURI_ENV_BUNDLE): Cancel during the first-run set-up, Retry, an
environment that stopped working (`env_broken`) and Reset. The installed package's
first run, offline, is test_first_run.py's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from buckaroo_tauri_dev import bundle, e2e, e2e_page, e2e_procs
from buckaroo_tauri_dev.env_bundle import OUT as ENV_BUNDLE

STATUS_JS = "const s = document.getElementById('sidecar'); return [s.dataset.state, s.textContent];"


@pytest.fixture
def user(tmp_path) -> tuple[Path, dict[str, str]]:
    """A user with nothing set up: an empty HOME, the system's PATH, no BUCKAROO_PYTHON;
    the app's binary wrapped so only it sees that environment."""
    if not (ENV_BUNDLE / "manifest.json").exists():
        pytest.fail(f"{ENV_BUNDLE} missing: run `make env-bundle` (make test-e2e builds it)")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "BUCKAROO_TAURI_ENV_BUNDLE": str(ENV_BUNDLE), "RUST_LOG": "info"}
    binary = e2e.wrapped_binary(tmp_path / "app.sh", e2e.APP_BINARY, env, unset=("BUCKAROO_PYTHON",))
    return binary, env


@pytest.fixture
def held_user(tmp_path, user) -> tuple[Path, dict[str, str], Path]:
    """`user`, with the env bundle's uv holding its install until `release` exists (the
    wheels and manifest are the bundle's own): a Cancel then always finds the set-up
    running, however fast the install would be."""
    held = tmp_path / "held-bundle"
    held.mkdir()
    shutil.copy(ENV_BUNDLE / "manifest.json", held / "manifest.json")
    (held / "wheels").symlink_to(ENV_BUNDLE / "wheels")
    release = tmp_path / "release"
    uv = held / "uv"
    uv.write_text(f'#!/bin/sh\n[ "$1" = pip ] && while [ ! -e "{release}" ]; do sleep 0.05; done\nexec "{ENV_BUNDLE / "uv"}" "$@"\n')
    uv.chmod(0o755)
    _, env = user
    env = {**env, "BUCKAROO_TAURI_ENV_BUNDLE": str(held)}
    return e2e.wrapped_binary(tmp_path / "held-app.sh", e2e.APP_BINARY, env, unset=("BUCKAROO_PYTHON",)), env, release


def env_root(env: dict[str, str]) -> Path:
    return Path(env["HOME"]) / ".local/share" / bundle.identifier() / "buckaroo-env"


def folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.exists() else []


def test_cancel_then_retry_then_reset(display, data_dir, held_user):
    binary, env, release = held_user
    root = env_root(env)
    with e2e.running_app(display, e2e.app_env(), binary=binary, args=["tiny.parquet"], cwd=data_dir) as (driver, _):
        e2e_procs.wait_until(lambda: (s := driver.execute_script(STATUS_JS))[0] == "provisioning" and "%" in s[1] and s,
                             60, what="the set-up under way")
        assert driver.execute_script("return !document.getElementById('provisioning').hidden")
        driver.execute_script("document.getElementById('provisioning-cancel').click()")
        # The load waiting for the sidecar may be refused (sidecar_failed) before the status
        # arrives; the status's own error is what stays.
        err = e2e_procs.wait_until(lambda: (e := driver.execute_script(e2e_page.ERROR_JS)) and e[0] == "setup_cancelled" and e, 20,
                                   what="the cancelled set-up's error")
        assert "Retry" in err[1], err
        assert driver.execute_script(STATUS_JS)[0] == "failed"
        assert driver.execute_script("return document.getElementById('provisioning').hidden")
        assert [f for f in folders(root) if not f.startswith(".")] == [], folders(root)

        release.touch()  # the installs from here on run at once
        driver.execute_script("document.getElementById('retry').click()")
        e2e_procs.wait_until(lambda: driver.execute_script(e2e_page.ROWS_PAINTED_JS), 120, what="rows after Retry")
        (key,) = folders(root)
        assert key.startswith("engine-py3.") and (root / key / "buckaroo-env.json").is_file()

        # Reset: the environment is removed, set up again, and the window reloads its file.
        first = json.loads((root / key / "buckaroo-env.json").read_text())
        states = set()
        reset = e2e_page.invoke(driver, "buckaroo_reset_environment")
        assert "ok" in reset, reset
        e2e_procs.wait_until(lambda: states.add(driver.execute_script(STATUS_JS)[0]) or "provisioning" in states, 30,
                             what="the set-up again", interval=0.05)
        e2e_procs.wait_until(lambda: driver.execute_script(STATUS_JS)[0] == "ready", 120, what="ready after Reset")
        e2e_procs.wait_until(lambda: driver.execute_script(e2e_page.ROWS_PAINTED_JS), 60, what="rows after Reset")
        assert folders(root) == [key]
        again = json.loads((root / key / "buckaroo-env.json").read_text())
        assert again["seconds"] != first["seconds"], "the environment was not made again"


def test_a_broken_environment_says_so_and_reset_mends_it(display, data_dir, user):
    binary, env = user
    root = env_root(env)
    with e2e.running_app(display, e2e.app_env(), binary=binary, args=["tiny.parquet"], cwd=data_dir) as (driver, _):
        e2e_procs.wait_until(lambda: driver.execute_script(e2e_page.ROWS_PAINTED_JS), 120, what="rows")
    (key,) = folders(root)
    # Something the user (or a clean-up tool) did to it: buckaroo is gone.
    for site in (root / key / "lib").glob("python3.*/site-packages"):
        shutil.rmtree(site / "buckaroo")
    with e2e.running_app(display, e2e.app_env(), binary=binary, args=["tiny.parquet"], cwd=data_dir) as (driver, _):
        err = e2e_procs.wait_until(lambda: (e := driver.execute_script(e2e_page.ERROR_JS)) and e[0] == "env_broken" and e, 30,
                                   what="env_broken")
        assert "Reset" in err[1], err
        # The status can fail before the page's mount resolves and wires its actions.
        e2e_procs.wait_until(lambda: driver.execute_script("return !!window.__buckarooApp"), 30, what="the page wired")
        driver.execute_script("window.__buckarooApp.resetEnvironment()")
        e2e_procs.wait_until(lambda: driver.execute_script(e2e_page.ROWS_PAINTED_JS), 120, what="rows after Reset")
        assert folders(root) == [key]


def test_too_little_disk_is_said_before_installing(display, data_dir, tmp_path):
    """HOME on a 64 MB tmpfs: the bundle's install needs ~0.9 GB, so the set-up refuses
    at once with env_disk_full and how much it needs, and writes nothing."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    home = tmp_path / "small-home"
    home.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(home)], check=True)
    try:
        env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "BUCKAROO_TAURI_ENV_BUNDLE": str(ENV_BUNDLE)}
        binary = e2e.wrapped_binary(tmp_path / "app.sh", e2e.APP_BINARY, env, unset=("BUCKAROO_PYTHON",))
        with e2e.running_app(display, e2e.app_env(), binary=binary, args=["tiny.parquet"], cwd=data_dir) as (driver, _):
            err = e2e_procs.wait_until(lambda: (e := driver.execute_script(e2e_page.ERROR_JS)) and e[0] == "env_disk_full" and e, 30,
                                       what="env_disk_full")
            assert "MB are free" in err[1] and "Free space on the disk" in err[1], err
        assert [f for f in folders(env_root(env)) if not f.startswith(".")] == []
    finally:
        subprocess.run(["umount", "--lazy", str(home)], check=False)


def test_no_network_and_nothing_bundled_says_so(display, data_dir, tmp_path, offline):
    """No env bundle (the debug build carries none) and no network: env_offline, with the fix."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    binary = e2e.wrapped_binary(tmp_path / "app.sh", e2e.APP_BINARY, env, unset=("BUCKAROO_PYTHON", "BUCKAROO_TAURI_ENV_BUNDLE"))
    with e2e.running_app(display, e2e.app_env(), binary=binary, args=["tiny.parquet"], netns=offline, cwd=data_dir) as (driver, _):
        err = e2e_procs.wait_until(lambda: (e := driver.execute_script(e2e_page.ERROR_JS)) and e[0] == "env_offline" and e, 180,
                                   what="env_offline")
        assert "Connect to the network" in err[1], err
    assert [f for f in folders(env_root(env)) if not f.startswith(".")] == []
