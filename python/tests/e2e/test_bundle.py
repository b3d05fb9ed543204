"""The shipped artifact: the signed .deb from `make bundle` (out/bundle), installed and
run under Xvfb, and its self-update from a loopback server."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from buckaroo_tauri_dev import bundle, e2e, e2e_desktop, e2e_page, e2e_procs, env_bundle, env_lock
from buckaroo_tauri_dev.update_server import UpdateServer

pytestmark = pytest.mark.bundle


def deb_field(deb: str, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", deb, name], check=True, capture_output=True, text=True).stdout.strip()


def test_the_package_declares_its_dependencies_and_file_types(bundles, tmp_path):
    deb = bundles["versions"][bundles["base"]]["deb"]
    depends = [d.strip() for d in deb_field(deb, "Depends").split(",")]
    assert {"libwebkit2gtk-4.1-0", "libgtk-3-0"} <= set(depends)
    assert deb_field(deb, "Version") == bundles["base"] and deb_field(deb, "Package") == bundle.PACKAGE
    subprocess.run(["dpkg-deb", "-x", deb, str(tmp_path)], check=True)
    entry = (tmp_path / "usr/share/applications" / f"{bundle.PACKAGE}.desktop").read_text()
    fields = dict(line.split("=", 1) for line in entry.splitlines() if "=" in line)
    assert fields["Exec"] == f"{bundle.PACKAGE} %F"  # every selected file, one launch
    # The menu shows the app's name, not the package's (the bundler's {{name}}).
    assert (fields["Name"], fields["GenericName"]) == ("Buckaroo", "Table viewer")
    mime = set(filter(None, fields["MimeType"].split(";")))
    conf = json.loads(bundle.CONF.read_text())
    assert mime == {a["mimeType"] for a in conf["bundle"]["fileAssociations"]}
    assert {"application/vnd.apache.parquet", "application/x-ndjson"} <= mime
    # Every extension the viewer opens is associated with the app.
    associated = {ext: a["mimeType"] for a in conf["bundle"]["fileAssociations"] for ext in a["ext"]}
    assert bundle.opened_extensions() - set(associated) == set()
    # A type the system's shared-mime-info lacks (Debian 12: Parquet, JSON lines) comes
    # with the package, with a glob for each of its extensions.
    from xml.etree import ElementTree

    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    system = ElementTree.parse("/usr/share/mime/packages/freedesktop.org.xml").getroot()
    known = {t.get("type") for t in system.findall("m:mime-type", ns) + system.findall("m:mime-type/m:alias", ns)}
    shipped = ElementTree.parse(tmp_path / "usr/share/mime/packages" / f"{bundle.PACKAGE}.xml").getroot()
    globs = {t.get("type"): {g.get("pattern") for g in t.findall("m:glob", ns)} for t in shipped.findall("m:mime-type", ns)}
    assert {e: t for e, t in associated.items() if t not in known and f"*.{e}" not in globs.get(t, set())} == {}
    assert {"*.parquet", "*.parq"} <= globs["application/vnd.apache.parquet"]
    # The icon, installed under the binary's name (Icon=) at each size: a drawing with
    # colours and a transparent margin, not a flat square.
    hicolor = tmp_path / "usr/share/icons/hicolor"
    assert fields["Icon"] == bundle.PACKAGE
    assert {p.name for p in hicolor.glob("*/apps/*.png")} == {f"{bundle.PACKAGE}.png"}
    assert {"32x32", "128x128"} <= {p.parent.parent.name for p in hicolor.glob("*/apps/*.png")}
    icon = hicolor / "128x128/apps" / f"{bundle.PACKAGE}.png"
    assert bundle.png_colors(icon) >= 16 and any(alpha == 0 for *_, alpha in bundle.png_pixels(icon))


def test_the_package_ships_the_env_bundle(bundles, tmp_path):
    """The managed environment's offline first run: uv (executable), the engine lock's
    wheels and the manifest naming that lock, under the package's resource dir."""
    deb = bundles["versions"][bundles["base"]]["deb"]
    subprocess.run(["dpkg-deb", "-x", deb, str(tmp_path)], check=True)
    shipped = tmp_path / "usr/lib" / bundle.PACKAGE / "buckaroo-env"
    manifest = json.loads((shipped / "manifest.json").read_text())
    lock = env_lock.lock_path(manifest["lock"])
    assert manifest["lock"] == env_bundle.LOCK and manifest["lock_sha256"] == env_bundle.sha256(lock)
    assert (shipped / "uv").stat().st_mode & 0o777 == 0o755
    version = subprocess.run([str(shipped / "uv"), "--version"], capture_output=True, text=True, check=True).stdout.split()[1]
    assert version == manifest["uv"]
    wheels = env_bundle.wheels_present(shipped / "wheels")
    assert set(wheels) == env_bundle.wanted(lock, manifest["python"])
    assert sum(w.stat().st_size for w in wheels.values()) == manifest["wheels_bytes"]
    assert manifest["files"] > 1000 and manifest["bytes"] > manifest["wheels_bytes"]


def test_the_installed_app_opens_a_file_with_rows_painted(display, data_dir, bundles, tmp_path):
    """dpkg -x into a scratch root, then the installed binary with a file, as the
    file manager would start it; the time from unpacking to painted rows is printed."""
    deb = bundles["versions"][bundles["base"]]["deb"]
    started = time.monotonic()
    subprocess.run(["dpkg-deb", "-x", deb, str(tmp_path)], check=True)
    binary = tmp_path / "usr/bin" / bundle.PACKAGE
    driver_proc = e2e.TauriDriver(display, e2e.app_env(), cwd=data_dir).start()
    try:
        driver = driver_proc.session(args=["tiny.parquet"], binary=binary)
        try:
            e2e_procs.wait_until(lambda: driver.execute_script(e2e_page.ROWS_PAINTED_JS), 120, what="rows painted")
            elapsed = time.monotonic() - started
            assert e2e_page.page_state(driver)["file"] == "tiny.parquet · 50 rows"
            assert driver.title == "tiny.parquet — buckaroo"
            print(f"\n[bundle] unpack → first rows painted: {elapsed * 1000:.0f} ms "
                  f"({Path(deb).stat().st_size / 1e6:.1f} MB package)")
        finally:
            driver.quit()
    finally:
        driver_proc.stop()


def installed_version() -> str | None:
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Status} ${Version}", bundle.PACKAGE], capture_output=True, text=True)
    return out.stdout.split()[-1] if out.returncode == 0 and "ok installed" in out.stdout else None


def update_state(driver) -> dict:
    return driver.execute_script(
        "const u = document.getElementById('update'), e = document.getElementById('error');"
        "return {state: u.hidden ? null : u.dataset.state, text: u.textContent,"
        " error: e.hidden ? null : e.dataset.code, message: e.textContent}")


def check(driver) -> dict:
    driver.execute_script("window.__buckarooApp.checkForUpdates()")
    return e2e_procs.wait_until(lambda: (s := update_state(driver)) and (s["state"] not in (None, "checking") or s["error"]) and s,
                                30, what="the update check")


def install(driver) -> None:
    driver.execute_script("document.getElementById('update-install').click()")


def cancel(driver) -> None:
    driver.execute_script("document.getElementById('update-cancel').click()")


def test_the_installed_app_updates_itself(display, data_dir, bundles, installed, tmp_path):
    """0.1.0 (installed) → 0.1.1 over a loopback server: nothing asked at start-up;
    the server down, a package signed by another key, an empty one and a damaged one
    are refused with their codes; a stalled check and download end (Cancel, stall
    timeout); then the real one is downloaded, verified, installed and relaunched."""
    base, update = bundles["base"], bundles["update"]
    good = bundles["versions"][update]
    other_key = tmp_path / "other.key"
    subprocess.run([str(bundle.TAURI), "signer", "generate", "--ci", "-w", str(other_key), "-f"], check=True, capture_output=True)
    forged = tmp_path / "forged.deb"
    forged.write_bytes(Path(good["deb"]).read_bytes())
    forged_signature = bundle.sign(forged, other_key)

    server = UpdateServer(e2e_procs.free_port())
    env = e2e.app_env(BUCKAROO_UPDATE_ENDPOINT=f"{server.url}/latest.json")
    driver_proc = e2e.TauriDriver(display, env, cwd=data_dir).start()
    try:
        driver = driver_proc.session(args=["tiny.parquet"], binary=installed)
        (app,) = e2e_procs.pids_running(installed)
        e2e_procs.wait_until(lambda: e2e_page.page_state(driver)["file"], 90, what="the file")

        # Down: nothing listens on the port yet.
        down = check(driver)
        assert down["error"] == "update_unreachable", down

        server.start()
        time.sleep(1)
        assert server.requests == [], "the app asked for updates on its own"
        server.offer(update, forged, forged_signature)
        assert check(driver)["state"] == "available"
        install(driver)
        refused = e2e_procs.wait_until(lambda: (s := update_state(driver))["error"] and s, 120, what="the forged package refused")
        assert refused["error"] == "update_signature_invalid", refused
        assert installed_version() == base

        # Each refusal names its real cause: an empty download under the real package's
        # signature is the server's fault (not a forgery); a package signed with the real
        # key but damaged is the publisher's (not a question of administrator rights).
        empty = tmp_path / "empty.deb"
        empty.write_bytes(b"")
        damaged = tmp_path / "damaged.deb"
        damaged.write_bytes(Path(good["deb"]).read_bytes()[:64 * 1024])  # a .deb's start, cut off
        for package, signature, code in ((empty, good["signature"], "update_download_empty"),
                                         (damaged, bundle.sign(damaged, bundle.signing_key()[0]), "update_package_broken")):
            server.offer(update, package, signature)
            assert check(driver)["state"] == "available"
            install(driver)
            refused = e2e_procs.wait_until(lambda: (s := update_state(driver))["error"] and s, 120, what=f"{package.name} refused")
            assert refused["error"] == code, refused
            assert installed_version() == base
        assert "dpkg-deb" in refused["message"], refused

        # Stalls: a manifest that never comes is cancelled; a download that stops mid-body
        # ends by itself (update_stalled), and one cancelled mid-body ends at once.
        server.stall_manifest = True
        driver.execute_script("window.__buckarooApp.checkForUpdates()")
        e2e_procs.wait_until(lambda: update_state(driver)["state"] == "checking", 10, what="the check under way")
        cancel(driver)
        assert e2e_procs.wait_until(lambda: update_state(driver)["error"], 10, what="the check cancelled") == "update_cancelled"
        server.recover()
        server.offer(update, Path(good["deb"]), good["signature"])
        server.stall_after = 1_000_000
        assert check(driver)["state"] == "available"
        install(driver)
        e2e_procs.wait_until(lambda: update_state(driver)["text"].endswith("%"), 30, what="the download under way")
        stalled = e2e_procs.wait_until(lambda: (s := update_state(driver))["error"] and s, 60, what="the stalled download ended")
        assert stalled["error"] == "update_stalled" and "no data for" in stalled["message"], stalled
        install(driver)  # offered again: the app kept the update
        e2e_procs.wait_until(lambda: update_state(driver)["text"].endswith("%"), 30, what="the download under way again")
        cancel(driver)
        assert e2e_procs.wait_until(lambda: update_state(driver)["error"], 10, what="the download cancelled") == "update_cancelled"
        assert installed_version() == base and e2e_procs.pids_running(installed) == [app]
        server.recover()

        server.offer(update, Path(good["deb"]), good["signature"], notes="The next patch release.")
        found = check(driver)
        assert found["state"] == "available" and update in found["text"], found
        clicked = time.monotonic()
        install(driver)
        e2e_procs.wait_until(lambda: app not in e2e_procs.pids_running(installed), 180, what="the old app to exit")
        relaunched = e2e_procs.wait_until(lambda: e2e_procs.pids_running(installed), 60, what="the relaunched app")
        e2e_procs.wait_until(lambda: e2e_desktop.x_windows(display, "^tiny.parquet — buckaroo$"), 60, what="the relaunched app's window")
        round_trip = time.monotonic() - clicked
        assert installed_version() == update
        assert f"update {update} installed" in driver_proc.log_tail(400)
        # The relaunched process runs the file dpkg just wrote (a process of the replaced
        # binary would show "(deleted)" and not match), and that file is the update.
        # (Its own log goes nowhere: WebKitWebDriver closed the pipe it inherits.)
        assert relaunched == e2e_procs.pids_running(installed) and app not in relaunched
        version = subprocess.run([str(installed), "--version"], capture_output=True, text=True, timeout=30)
        assert version.stdout.strip() == f"{bundle.PACKAGE} {update}"
        assert server.requests.count("/package.deb") == 6
        print(f"\n[bundle] update {base} → {update}: install clicked → relaunched window {round_trip * 1000:.0f} ms "
              f"(pid {app} → {relaunched})")
    finally:  # the session's app is gone (relaunched): no quit, the driver's group goes

        driver_proc.stop()
        server.stop()
