"""xorq expressions in the real app: a build made with `xorq build`, opened through the
page and through the native folder dialog, rows paged through xorq's engine, stats
after the first rows, sort and search as engine queries, a broken build as a readable
error. Expectations come from pandas over the same parquet file.

Builds live in a scratch directory outside the repository (`xorq build` reads git
state) and the app runs with HOME inside it (xorq writes its log and caches there)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from buckaroo_tauri_dev import e2e, e2e_desktop, e2e_page, e2e_procs, xorq_builds

from . import grid

FILTER = 't.status != "archived"'


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("xorq-e2e")


@pytest.fixture(scope="module")
def build(workdir, samples) -> Path:
    return xorq_builds.build(workdir / "project", xorq_builds.parquet_pipeline(samples["small_100k.parquet"], where=FILTER))


@pytest.fixture(scope="module")
def expected(df100k) -> pd.DataFrame:
    return df100k[df100k["status"] != "archived"].reset_index(drop=True)


def xorq_env(workdir: Path, scope: list[Path] | None) -> dict[str, str]:
    return e2e.app_env(scope=scope, HOME=str(xorq_builds.scratch_env(workdir)["HOME"]))


def stats_state(driver) -> dict:
    return driver.execute_script(
        "const m = window.__buckaroo.model; return {stats: (m.get('df_meta') || {}).stats || null, counters: {...m.counters}};")


def stat_value(driver, stat: str, col: str):
    return driver.execute_script(
        "const [stat, col] = arguments; const rows = window.__buckaroo.model.get('df_data_dict').all_stats;"
        " const row = Array.isArray(rows) ? rows.find((r) => r.index === stat) : null; return row ? row[col] : null;",
        stat, col)


def test_a_build_pages_sorts_and_searches_through_the_engine(display, workdir, build, expected, shots):
    with e2e.running_app(display, xorq_env(workdir, [workdir])) as (d, _):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=60, what="sidecar ready")
        d.execute_script("window.__buckarooApp.loadExpr(arguments[0])", str(build))
        # 1. Rows first, in the expression's order (ids ascending: the file's order).
        first = grid.wait_ids(d, lambda m: 0 in m and len(m) >= 20, timeout=60, what="first rows")
        assert all(first[i] == int(expected["id"].iloc[i]) for i in first), first
        e2e_procs.wait_until(lambda: grid.status_bar(d).get("total_rows", "").replace(",", "") == str(len(expected)),
                             timeout=30, what=f"{len(expected)} rows in the status bar")
        # 2. The stats follow: deferred, then complete, painted in the summary rows.
        done = e2e_procs.wait_until(lambda: (s := stats_state(d))["stats"] and s["stats"].get("status") == "complete" and s,
                                    timeout=60, what="stats complete")
        assert done["counters"]["statsUpdates"] >= 1, done
        assert stat_value(d, "mean", "b") == pytest.approx(expected["count"].mean(), rel=1e-9)
        assert stat_value(d, "max", "a") == int(expected["id"].max())
        e2e_procs.wait_until(lambda: grid.histogram_marks(d, "b") > 0, timeout=30, what="count's histogram painted")
        grid.wait_idle(d)  # rows and stats in: no indicator left on
        shot = shots / "20-xorq-build.png"
        e2e_page.grab(display, shot)
        assert e2e_page.screenshot_ok(shot)

        # 3. Sort by ratio (no ties) both ways: an ORDER BY in the engine.
        for direction, ascending in (("asc", True), ("desc", False)):
            grid.click_header(d, "e")
            want = expected.sort_values("ratio", ascending=ascending, kind="stable")["id"].tolist()[:15]
            got = grid.wait_ids(d, lambda m: [m.get(i) for i in range(15)] == want, timeout=30, what=f"ratio {direction}")
            assert [got[i] for i in range(15)] == want
        grid.click_header(d, "e")
        grid.wait_ids(d, lambda m: [m.get(i) for i in range(5)] == expected["id"].tolist()[:5], what="unsorted again")

        # 4. Search: a filter in the engine over every string column.
        term = "kilo lima"
        mask = expected["description"].astype("string").str.contains(term, regex=False).fillna(False)
        for col in ("code", "city", "status"):
            mask = mask | expected[col].astype("string").str.contains(term, regex=False).fillna(False)
        want_rows = int(mask.sum())
        assert 0 < want_rows < len(expected)
        grid.search(d, term)
        e2e_procs.wait_until(lambda: grid.status_bar(d).get("filtered_rows", "").replace(",", "") == str(want_rows), timeout=30,
                             what=f"filtered == {want_rows}")
        hit = grid.wait_ids(d, lambda m: 0 in m and m[0] == int(expected[mask]["id"].iloc[0]), timeout=30, what="first match")
        assert hit[0] == int(expected[mask]["id"].iloc[0])
        e2e_procs.wait_until(lambda: grid.all_answered(d), timeout=30, what="every row request answered")
        c = e2e_page.page_state(d)["counters"]
        assert c["errors"] == 0, c


def test_open_xorq_build_dialog_and_a_broken_build(display, workdir, build):
    broken = workdir / "broken" / build.name
    shutil.copytree(build, broken)
    shutil.rmtree(broken / "reads")
    # No scope: only what the user picks in the folder dialog may be opened.
    with e2e.running_app(display, xorq_env(workdir, None)) as (d, _):
        e2e_procs.wait_until(lambda: e2e_page.page_state(d)["sidecar"] == "ready", timeout=60, what="sidecar ready")
        err = e2e_page.invoke(d, "buckaroo_load_expr", {"args": {"buildDir": str(build)}})["err"]
        assert err["code"] == "path_not_allowed", err
        d.find_element(By.ID, "open-build").click()
        e2e_desktop.answer_folder_dialog(display, build, title="Open xorq build")
        grid.wait_ids(d, lambda m: 0 in m and len(m) >= 10, timeout=60, what="the picked build's rows")
        assert e2e_page.page_state(d)["file"].startswith(build.name), e2e_page.page_state(d)["file"]

        d.find_element(By.ID, "open-build").click()
        e2e_desktop.answer_folder_dialog(display, broken, title="Open xorq build")
        state = e2e_procs.wait_until(lambda: (s := e2e_page.page_state(d))["error"] and s, timeout=60, what="error shown")
        assert state["errorCode"] == "expr_unreadable", state
        assert "xorq build" in state["error"], state["error"]  # the hint says how to fix it
        assert d.find_element(By.ID, "error").is_displayed()
        # The window keeps the good build's rows and still answers.
        grid.wait_ids(d, lambda m: 0 in m, what="previous rows still shown")
