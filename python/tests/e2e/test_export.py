"""Data out, in the real app: File › Export… (the native save dialog answered as a user
would) writes what the grid shows (its sort, its search, columns in grid order with the
user's names); read back with pyarrow it is the grid's rows in the grid's order. A page
cannot make the plugin write a path its save dialog did not return to that window."""

from __future__ import annotations

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from buckaroo_tauri_dev import e2e, e2e_desktop, e2e_page, e2e_procs

from . import grid

TERM = "kilo lima"


def expected_view(df100k) -> list[int]:
    """The search (buckaroo's: a literal substring of any text column), sorted by ratio descending (no ties)."""
    mask = False
    for c in [c for c in df100k.columns if df100k[c].dtype == object]:
        mask = mask | df100k[c].astype("string").str.contains(TERM, regex=False).fillna(False)
    return df100k[mask].sort_values("ratio", ascending=False)["id"].tolist()


def export_through_the_dialog(display, d, target) -> dict:
    d.execute_script("window.__buckarooApp.exportView()")
    e2e_desktop.answer_save_dialog(display, target, title="Export")
    e2e_procs.wait_until(lambda: target.exists() and d.find_element("id", "exporting").get_attribute("hidden"),
                         timeout=60, what=f"{target.name} written")
    return e2e_page.page_state(d)


def test_export_writes_the_sorted_searched_view_the_grid_shows(display, data_dir, df100k, tmp_path):
    want = expected_view(df100k)
    assert 0 < len(want) < 5000
    env = e2e.app_env(autoload=data_dir / "small_100k.parquet", scope=[data_dir])
    with e2e.running_app(display, env) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="first rows")
        grid.search(d, TERM)
        e2e_procs.wait_until(lambda: grid.status_bar(d).get("filtered_rows", "").replace(",", "") == str(len(want)),
                             timeout=30, what="searched")
        grid.click_header(d, "e")  # ratio: ascending, then descending
        grid.click_header(d, "e")
        shown = grid.wait_ids(d, lambda m: [m.get(i) for i in range(10)] == want[:10], timeout=30, what="sorted desc")
        for name in ("view.csv", "view.parquet"):
            target = tmp_path / name
            state = export_through_the_dialog(display, d, target)
            assert state["error"] is None, state
            table = pacsv.read_csv(target) if name.endswith(".csv") else pq.read_table(target)
            assert table.column("id").to_pylist() == want, name  # the grid's rows, in its order
            assert table.column_names == list(df100k.columns), name  # grid order, the user's names
        assert [shown[i] for i in range(10)] == want[:10]
        assert e2e_page.page_state(d)["progress"].startswith(f"Exported {len(want):,} rows to view.parquet in ")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["view.csv", "view.parquet"]  # no part files


def test_a_page_cannot_export_to_a_path_it_did_not_get_from_the_dialog(display, data_dir, tmp_path):
    env = e2e.app_env(autoload=data_dir / "tiny.parquet", scope=[data_dir])
    with e2e.running_app(display, env) as (d, _):
        grid.wait_ids(d, lambda m: 0 in m, what="rows")
        for path in (tmp_path / "evil.csv", data_dir / "evil.csv", "relative.csv"):
            err = e2e_page.invoke(d, "buckaroo_export", {"args": {"path": str(path)}})["err"]
            assert err["code"] == "export_path_refused", err
        # A picked path is good once.
        target = tmp_path / "once.csv"
        d.execute_script("window.__pick = window.__TAURI_INTERNALS__.invoke("
                         "'plugin:buckaroo-tauri|buckaroo_pick_export', {args: null})")
        e2e_desktop.answer_save_dialog(display, target, title="Export")
        assert d.execute_async_script("window.__pick.then(arguments[0])") == str(target)
        ok = e2e_page.invoke(d, "buckaroo_export", {"args": {"path": str(target)}})["ok"]
        assert ok["rows"] == 50 and ok["path"] == str(target), ok
        again = e2e_page.invoke(d, "buckaroo_export", {"args": {"path": str(target)}})["err"]
        assert again["code"] == "export_path_refused", again
    assert sorted(p.name for p in tmp_path.iterdir()) == ["once.csv"]
    assert not (data_dir / "evil.csv").exists()


# Press on one cell and drag to another (DOM mouse events on the grid's own cells), as a user's drag does.
DRAG_JS = e2e_page.DATA_GRID_JS + """
const [r0, c0, r1, c1] = arguments;
const cell = (r, c) => dataGrid().querySelector(`.ag-row[row-index="${r}"] .ag-cell[col-id="${c}"]`);
const fire = (el, type) => el.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true, button: 0, buttons: 1}));
fire(cell(r0, c0), 'mousedown');
fire(cell(r1, c1), 'mousemove');
document.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
return [window.__buckaroo.selection(), dataGrid().querySelectorAll('.buckaroo-selected').length];
"""


def x_clipboard(display: str) -> str:
    import subprocess

    run = subprocess.run(["xclip", "-selection", "clipboard", "-o"], env={"DISPLAY": display}, capture_output=True,
                         text=True, timeout=10)
    return run.stdout if run.returncode == 0 else ""


def test_a_3x3_block_copied_with_ctrl_c_is_tsv_on_the_x_clipboard(display, data_dir, df100k):
    env = e2e.app_env(autoload=data_dir / "small_100k.parquet", scope=[data_dir])
    with e2e.running_app(display, env) as (d, _):
        grid.wait_ids(d, lambda m: all(i in m for i in range(6)), what="first rows")
        block, marked = d.execute_script(DRAG_JS, 2, "b", 4, "d")
        assert block == {"start": 2, "end": 5, "columns": ["b", "c", "d"]} and marked == 9, (block, marked)
        e2e_desktop.keys(display, "small_100k", "ctrl+c")  # the X keyboard's Ctrl+C, into the page
        text = e2e_procs.wait_until(lambda: (t := x_clipboard(display)).count("\n") >= 4 and t, timeout=20,
                                    what="the X clipboard to hold the block")
        rows = df100k.iloc[2:5]
        cell = lambda v: "" if v != v else repr(float(v)) if isinstance(v, float) else str(v)  # noqa: E731
        want = ["count\tamount\tscore"] + ["\t".join(cell(r[c]) for c in ("count", "amount", "score"))
                                           for _, r in rows.iterrows()]
        assert text.splitlines() == want
        assert e2e_page.page_state(d)["progress"] == "Copied 3 × 3 cells"
