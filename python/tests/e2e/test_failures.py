"""A sidecar that cannot start, in the real example app under Xvfb: the cause and its
fix are shown whole, nothing spins while nothing can happen, About says what is known,
and Retry picks up where the user was once they fixed it."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from buckaroo_tauri_dev import e2e, e2e_page, e2e_procs

from . import grid

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's: no buckaroo, and pip may not install into it (PEP 668)

# Every element of the failure panel inside the window and not clipped: its text is
# on screen whole, not behind an ellipsis or past the edge.
PANEL_WHOLE_JS = """
const panel = document.getElementById('failure');
const els = [panel, ...panel.querySelectorAll('h2, p, pre')].filter(e => e.offsetParent !== null);
return els.map(e => {
  const r = e.getBoundingClientRect();
  return {id: e.id || e.tagName, clipped: e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1,
          outside: r.right > innerWidth || r.bottom > innerHeight || r.left < 0};
}).filter(e => e.clipped || e.outside);
"""

# null until the page's mount resolved and wired its actions (the failure can come first).
ABOUT_JS = ("if (!window.__buckarooApp) return null; window.__buckarooApp.showAbout(); const d = document.getElementById('about');"
            "return d.open && Object.fromEntries([...d.querySelectorAll('dd')].map(dd => [dd.dataset.key, dd.textContent]))")


def start_env(data_dir, autoload: str | None, python: str):
    return e2e.app_env(autoload=data_dir / autoload if autoload else None, scope=[data_dir], BUCKAROO_PYTHON=python)


def failed(driver) -> dict:
    return e2e_procs.wait_until(lambda: (s := e2e_page.page_state(driver))["sidecar"] == "failed" and s, timeout=60, what="failed status")


def test_sidecar_failure_is_shown_with_the_fix(display, data_dir):
    broken = e2e.REPO / "python" / ".venv-pandas3" / "bin" / "python"  # pandas 3, no buckaroo
    assert broken.exists(), "make setup creates python/.venv-pandas3"
    with e2e.running_app(display, start_env(data_dir, None, str(broken))) as (d, _):
        state = failed(d)
        assert state["errorCode"] == "buckaroo_missing"
        assert "pip install" in state["error"] and "pandas<3" in state["error"], state["error"]
        assert "pandas 3" in state["error"]
        assert d.find_element(By.ID, "failure-hint").text.startswith(f"{broken} -m pip install")  # a venv: pip works there
        # Still a working window: commands answer with coded errors instead of hanging.
        err = e2e_page.invoke(d, "buckaroo_load_path", {"args": {"path": str(data_dir / "tiny.parquet")}})["err"]
        assert err["code"] == "sidecar_failed"


def test_a_system_python_without_buckaroo_gets_a_venv_fix_shown_whole(display, data_dir, shots):
    """What an end user of a build without the managed environment meets: the file they
    opened waits without a spinner, the whole fix is on screen and works on Debian
    (a venv, since pip refuses the system's Python), and About says what is missing."""
    with e2e.running_app(display, start_env(data_dir, "tiny.parquet", SYSTEM_PYTHON)) as (d, _):
        state = failed(d)
        assert state["errorCode"] == "buckaroo_missing", state
        hint = d.find_element(By.ID, "failure-hint").text
        assert "externally-managed-environment" in hint and "-m venv ~/.venvs/buckaroo" in hint, hint
        assert "~/.venvs/buckaroo/bin/python -m pip install" in hint and "BUCKAROO_PYTHON=" in hint, hint
        assert d.execute_script(PANEL_WHOLE_JS) == []
        assert not d.find_element(By.ID, "error").is_displayed()  # said once, in the panel
        assert d.find_element(By.ID, "failure-retry").is_displayed()
        # The autoload waits for a sidecar: said, without a spinner; nothing else pending.
        assert d.find_element(By.ID, "progress-text").text == "tiny.parquet opens after Retry"
        assert not d.find_element(By.ID, "progress-spinner").is_displayed()
        grid.wait_idle(d)
        about = e2e_procs.wait_until(lambda: d.execute_script(ABOUT_JS), 20, what="the About box")
        assert about["buckaroo"] == f"not installed in {SYSTEM_PYTHON}", about
        assert about["Python"].startswith("3.") and SYSTEM_PYTHON in about["Python"], about
        assert about["Problem"].startswith("buckaroo_missing: "), about
        e2e_page.grab(display, shots / "failure-system-python.png")


def test_retry_after_fixing_python_opens_the_waiting_file(display, data_dir, tmp_path):
    python = tmp_path / "python"  # does not exist yet: the sidecar fails with python_not_found
    with e2e.running_app(display, start_env(data_dir, "tiny.parquet", str(python))) as (d, _):
        assert failed(d)["errorCode"] == "python_not_found"
        retry = d.find_element(By.ID, "retry")
        assert retry.is_displayed()
        about = e2e_procs.wait_until(lambda: d.execute_script(ABOUT_JS), 20, what="the About box")
        assert about["Python"] == "not found (see Problem)" and about["Problem"].startswith("python_not_found: "), about
        d.execute_script("document.getElementById('about').close()")
        python.write_text(f'#!/bin/sh\nexec {e2e.VENV_PYTHON} "$@"\n')  # the user fixes it
        python.chmod(0o755)
        retry.click()
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=60, what="ready after retry")
        assert not retry.is_displayed() and not d.find_element(By.ID, "failure").is_displayed()
        # The file asked for before the fix opens by itself, and every indicator ends.
        grid.wait_ids(d, lambda m: 0 in m, what="the waiting file's rows after retry")
        assert e2e_page.page_state(d)["file"] == "tiny.parquet · 50 rows"
        grid.wait_idle(d)
