"""Saved database connections in the real app: saved from File › Open Database…, listed
in File › Saved Connections (reached with the keyboard, as a user does), opened again
after a restart without typing the password, forgotten. The password goes to a real
Secret Service (gnome-keyring on a private session bus, stopped by PID after), read back
by another client (secret-tool); without a keyring it is saved nowhere and asked for.
The PostgreSQL cluster asks for the password over TCP (scram), so a wrong or missing
one cannot pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buckaroo_tauri_dev import e2e, e2e_desktop, e2e_page, e2e_procs, postgres

from . import grid

PASSWORD = "saved-Pw#9-keyring-only"
IDENTIFIER = json.loads((e2e.REPO / "examples/tauri-app/src-tauri/tauri.conf.json").read_text())["identifier"]
TABLES = "const s = document.getElementById('db-tables'); return s.hidden ? null : [...s.options].map(o => o.textContent)"


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    with postgres.cluster(tmp_path_factory.mktemp("pg-saved")) as cluster:
        postgres.series_table(cluster, "sales", 2_000, password=PASSWORD)
        yield cluster


@pytest.fixture
def keyring(tmp_path):
    bus = e2e_desktop.SessionBus().start()
    service = None
    try:
        service = e2e_desktop.SecretService(bus, tmp_path / "keyring-home").start()
        yield service
    finally:
        if service:
            service.stop()
        bus.stop()


def records(home: Path) -> list[dict]:
    file = home / ".config" / IDENTIFIER / "buckaroo-databases.json"
    return json.loads(file.read_text()) if file.exists() else []


def fill_and_list(d, pg, password: str | None = PASSWORD) -> list[str]:
    d.execute_script("window.__buckarooApp.openDatabase()")
    e2e_procs.wait_until(lambda: d.execute_script("return document.getElementById('database').open"), 10, what="the dialog")
    for field, value in [("db-host", pg.host), ("db-port", str(pg.port)), ("db-database", pg.dbname),
                         ("db-user", pg.user), ("db-password", password or "")]:
        d.execute_script("document.getElementById(arguments[0]).value = arguments[1]", field, value)
    d.execute_script("document.getElementById('db-connect').click()")
    return e2e_procs.wait_until(lambda: d.execute_script(TABLES), 60, what="the tables")


def save_as(d, name: str) -> tuple[str, str]:
    d.execute_script("document.getElementById('db-save-name').value = arguments[0]; document.getElementById('db-save').click()", name)
    secret = e2e_procs.wait_until(lambda: d.execute_script("return document.getElementById('db-save-status').dataset.secret || null"),
                                  30, what="the save")
    return secret, d.execute_script("return document.getElementById('db-save-status').textContent")


def open_first_table(d) -> dict[int, int]:
    d.execute_script("document.getElementById('db-open').click()")
    e2e_procs.wait_until(lambda: grid.status_bar(d).get("total_rows") == "2,000", 120, what="the table's 2,000 rows")
    return grid.wait_ids(d, lambda m: all(i in m for i in range(20)), 60, what="the first rows")


def no_leak(home: Path, *texts: str) -> None:
    leaks = [p for p in home.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert not leaks, leaks
    assert all(PASSWORD not in t for t in texts)


def test_a_saved_connection_keeps_its_password_in_the_keyring_and_reopens_from_the_menu(display, pg, keyring, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = e2e.app_env(HOME=str(home), DBUS_SESSION_BUS_ADDRESS=keyring.bus.address)
    with e2e.running_app(display, env) as (d, driver_proc):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", 90, what="the sidecar")
        assert fill_and_list(d, pg)[0].startswith("sales · ~")
        secret, said = save_as(d, "Sales (loopback)")
        assert secret == "keyring", said
        [record] = records(home)
        assert (record["name"], record["secret"], record["host"], record["user"]) == ("Sales (loopback)", "keyring", pg.host, pg.user)
        # Another client of the Secret Service finds the password under the app's identifier.
        assert keyring.lookup(service=IDENTIFIER, username=record["id"]) == PASSWORD
        d.execute_script("document.getElementById('database').close('cancel')")
        e2e_desktop.keys(display, "^buckaroo$", "ctrl+q")
    text = driver_proc.log_path.read_text(errors="replace")
    no_leak(home, text)

    # A new run: File › Saved Connections › Sales (the fifth item of File), no password typed.
    with e2e.running_app(display, env) as (d, driver_proc):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", 90, what="the sidecar")
        e2e_desktop.keys(display, "^buckaroo$", "F10", *["Down"] * 5, "Right", "Return")
        listed = e2e_procs.wait_until(lambda: d.execute_script(TABLES), 60, what="the saved connection's tables")
        assert listed[0].startswith("sales · ~"), listed
        assert d.execute_script("return document.getElementById('db-password').value") == ""
        first = open_first_table(d)
        assert [first[i] for i in range(20)] == list(range(1, 21))
        # Forgotten: the record and the keyring item both go.
        d.execute_script("window.__buckarooApp.openDatabase(arguments[0])", record["id"])
        e2e_procs.wait_until(lambda: d.execute_script("return !document.getElementById('db-forget').hidden"), 30, what="Forget")
        d.execute_script("document.getElementById('db-forget').click()")
        e2e_procs.wait_until(lambda: not records(home), 30, what="the record forgotten")
        assert keyring.lookup(service=IDENTIFIER, username=record["id"]) is None
        page = d.execute_script("return document.documentElement.outerHTML")
    no_leak(home, page, driver_proc.log_path.read_text(errors="replace"))


def test_without_a_keyring_the_password_is_saved_nowhere_and_asked_for(display, pg, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = e2e.app_env(HOME=str(home))  # no session bus: no Secret Service
    with e2e.running_app(display, env) as (d, _):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", 90, what="the sidecar")
        fill_and_list(d, pg)
        secret, said = save_as(d, "Sales")
        assert secret == "ask" and "without its password" in said, said
        [record] = records(home)
        assert record["secret"] == "ask"
        d.execute_script("document.getElementById('database').close('cancel')")
        # Opened again: nothing connects by itself; without the password it is coded.
        d.execute_script("window.__buckarooApp.openDatabase(arguments[0])", record["id"])
        e2e_procs.wait_until(lambda: d.execute_script("return document.getElementById('database').open"), 10, what="the dialog")
        assert d.execute_script("return document.getElementById('db-password').placeholder") == "not saved: type it"
        d.execute_script("document.getElementById('db-connect').click()")
        code = e2e_procs.wait_until(lambda: d.execute_script(
            "const e = document.getElementById('db-error'); return e.hidden ? null : e.dataset.code"), 30, what="the refusal")
        assert code == "db_secret_unavailable"
        d.execute_script("document.getElementById('db-password').value = arguments[0]; document.getElementById('db-connect').click()",
                         PASSWORD)
        assert e2e_procs.wait_until(lambda: d.execute_script(TABLES), 60, what="the tables")[0].startswith("sales")
        first = open_first_table(d)
        assert first[0] == 1
        page = d.execute_script("return document.documentElement.outerHTML")
    no_leak(home, page)
