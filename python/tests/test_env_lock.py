"""The managed environment's locks (crates/buckaroo-tauri/env, `make env-lock` rewrites
them with buckaroo_tauri_dev.env_lock) against the launcher's contract: the tested
buckaroo pinned, a hash on every pin (the plugin installs with --require-hashes), the
same top-level requirements as the launcher's pip hint, and the engine lock pinning the
uv the env bundle ships. Plain files, no network."""

from __future__ import annotations

import re

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from buckaroo_tauri_dev import env_lock

CONTRACT = env_lock.launcher_contract()


@pytest.fixture(scope="module", params=env_lock.LOCKS)
def lock(request) -> tuple[str, list[env_lock.Pin]]:
    return request.param, env_lock.parse_lock(env_lock.lock_path(request.param).read_text())


def test_the_lock_pins_the_tested_buckaroo(lock):
    _, pins = lock
    assert [p.version for p in pins if p.name == "buckaroo"] == [CONTRACT.TESTED_BUCKAROO]


def test_every_pin_has_a_sha256_hash(lock):
    _, pins = lock
    assert len(pins) > 10
    for pin in pins:
        assert pin.version, f"{pin.name}: not pinned with =="
        assert pin.hashes, f"{pin.name}=={pin.version}: no --hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in pin.hashes), f"{pin.name}: {pin.hashes}"


def test_the_top_level_requirements_are_the_launchers(lock):
    name, pins = lock
    wanted = {canonicalize_name(Requirement(r).name) for r in env_lock.requirements(name)}
    assert {canonicalize_name(n) for n in env_lock.top_level(pins, name)} == wanted


def test_the_requirements_come_from_the_launchers_pip_hints():
    assert env_lock.requirements("base") == [f"buckaroo[server,polars]=={CONTRACT.TESTED_BUCKAROO}", "six", "pandas<3",
                                             CONTRACT.EXPORT_PIP]
    assert f"buckaroo[server,polars,xorq]=={CONTRACT.TESTED_BUCKAROO}" in env_lock.requirements("engine")


def test_the_engine_lock_pins_uv_for_the_bundle():
    """The env bundle's uv binary is the one in the engine lock's uv wheel; its marker
    must hold on the bundle's Python (3.11)."""
    uv = [p for p in env_lock.parse_lock(env_lock.lock_path("engine").read_text()) if p.name == "uv"]
    assert len(uv) == 1 and re.fullmatch(r"\d+\.\d+\.\d+", uv[0].version), uv
    from packaging.markers import Marker

    assert not uv[0].marker or Marker(uv[0].marker).evaluate({"python_full_version": "3.11.2", "python_version": "3.11"})


def test_the_parser_reads_markers_duplicates_and_via_lists():
    text = ("a==1.0 ; python_full_version < '3.12' \\\n    --hash=sha256:" + "0" * 64 + "\n    # via -r x.in\n"
            "a==2.0 ; python_full_version >= '3.12' \\\n    --hash=sha256:" + "1" * 64 + "\n    # via\n    #   -r x.in\n    #   b\n")
    pins = env_lock.parse_lock(text)
    assert [(p.name, p.version, p.marker) for p in pins] == [("a", "1.0", "python_full_version < '3.12'"),
                                                              ("a", "2.0", "python_full_version >= '3.12'")]
    assert pins[1].via == ["-r x.in", "b"] and env_lock.top_level(pins, "x") == {"a"}
