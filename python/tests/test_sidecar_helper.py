"""The probe the plugin runs (`python -m buckaroo_tauri_sidecar --probe`) before spawning the sidecar."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

from buckaroo_tauri_dev import contract
from buckaroo_tauri_dev.server import launcher_command, launcher_module

REPO = Path(__file__).resolve().parents[2]


def run_probe(python: str, *extra: str, env: dict | None = None) -> dict:
    # Exactly how the plugin runs it: `-m` with the package's folder on PYTHONPATH.
    args, env = launcher_command(env)
    out = subprocess.run([python, *args, "--probe", *extra], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_probe_on_the_project_venv_is_ok():
    report = run_probe(sys.executable)
    assert report["ok"] is True, report
    assert report["buckaroo"] == contract.tested_buckaroo() and report["pandas"].startswith("2.")
    assert report["problems"] == [] and report["warnings"] == []


def test_deep_probe_imports_the_server(tmp_path):
    # The deep probe imports xorq, which writes under $HOME: a temp one, not the real one.
    report = run_probe(sys.executable, "--deep", env={**os.environ, "HOME": str(tmp_path)})
    assert report["ok"] is True and report["warnings"] == [], report


def test_probe_on_a_bare_venv_names_what_is_missing(tmp_path):
    venv.EnvBuilder(with_pip=False).create(tmp_path / "bare")
    report = run_probe(str(tmp_path / "bare" / "bin" / "python"))
    assert report["ok"] is False
    assert {"six is not installed", "tornado is not installed", "pandas is not installed"} <= set(report["problems"])
    assert any("buckaroo is not installed" in p for p in report["problems"])
    assert "pandas<3" in report["pip"] and "buckaroo[server" in report["pip"]


def test_pandas_3_and_untested_buckaroo_are_reported(monkeypatch):
    probe = launcher_module("probe")
    versions = {"six": "1.17.0", "tornado": "6.6.1", "pandas": "3.1.1", "buckaroo": "0.16.0"}
    monkeypatch.setattr(probe, "installed_version", versions.get)
    report = probe.probe()
    assert report["ok"] is False
    assert any("pandas 3.1.1" in p and "pandas<3" in p for p in report["problems"])
    assert any("0.16.0" in w for w in report["warnings"])


def test_copy_assets_copies_and_checks_the_bundle(tmp_path):
    repo = REPO
    cmd = ["node", str(repo / "packages/buckaroo-tauri-adapter/bin/copy-assets.mjs")]
    out = subprocess.run([*cmd, "--python", sys.executable, "--out", str(tmp_path / "a")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "a/widget.js").stat().st_size > 1_000_000
    assert (tmp_path / "a/compiled.css").exists()
    assert json.loads((tmp_path / "a/buckaroo-version.json").read_text())["buckaroo"] == contract.tested_buckaroo()

    fake = tmp_path / "fake-python"
    fake.write_text('#!/bin/sh\necho \'{"version": "0.9.0", "static": "/nowhere"}\'\n')
    fake.chmod(0o755)
    out = subprocess.run([*cmd, "--python", str(fake), "--out", str(tmp_path / "b")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "0.9.0 is not supported" in out.stderr


def test_probe_on_a_real_pandas_3_env_reports_it():
    python = REPO / "python" / ".venv-pandas3" / "bin" / "python"
    assert python.exists(), f"{python} missing: run `make setup`"
    report = run_probe(str(python))
    assert report["ok"] is False
    assert report["pandas"].startswith("3.")
    assert any("breaks buckaroo" in p and "pandas<3" in p for p in report["problems"]), report["problems"]
    assert report["tornado"] and report["six"]
