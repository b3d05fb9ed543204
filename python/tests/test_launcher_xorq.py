"""xorq builds through the launcher: /load_expr off the event loop, exact paging, coded
errors for unreadable builds and a missing xorq, deferred stats.

Real `xorq build`s (xorq_builds) in pytest's tmp dir, the launcher started with a temp
HOME (xorq writes ~/.config/xorq and ~/.cache/xorq when imported) and a cwd outside the
repository (xorq reads git state). Expected rows come from xorq itself
(`xo.load_expr(build)` executed in a child with the same temp HOME), never from the
launcher. The small build (3,000 rows with ties, unique `id`) is for exact comparisons;
the 1M-row sample in 64k-row row groups filtered to one city (~71k rows) is what
buckaroo's plain server pages with duplicated and missing rows, unsorted and sorted on a
tied column (`python -m buckaroo_tauri_dev.xorq_scan` shows it).

xorq missing is simulated: a directory first on PYTHONPATH holds a `xorq/__init__.py`
that raises ImportError, so `import xorq.api` fails the way it does without xorq.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
import uuid
from importlib import metadata
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from buckaroo_tauri_dev.sample_data import DEFAULT_DIR, write_all
from buckaroo_tauri_dev.server import launcher_command
from buckaroo_tauri_dev.xorq_builds import (
    build,
    parquet_pipeline,
    row_grouped_copy,
    scratch_env,
    tied_parquet,
    unreadable_copies,
    without_xorq,
)
from buckaroo_tauri_dev.xorq_scan import load_expr, our_launcher, scan, started, window_ids, window_table

FILTER = 't.city == "Tokyo"'
# Windows over the filtered expression: buckaroo's plain server pages it in 4,000-row
# windows with ~24k ids missing unsorted and ~9k sorted on status (measured in process),
# and fewer windows keep this module near a minute.
BIG_WINDOW = 4000
TIED_COLUMNS = ["id", "grp", "label", "value", "tags"]  # wire names a, b, c, d, e
WIRE = {name: chr(ord("a") + i) for i, name in enumerate(TIED_COLUMNS)}
TESTED = "0.15.11"
XORQ_PIP = f'"buckaroo[server,polars,xorq]=={TESTED}" duckdb==2.0.1 six "pandas<3"'


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("xorq").resolve()


@pytest.fixture(scope="module")
def home(work) -> str:
    return scratch_env(work)["HOME"]


@pytest.fixture(scope="module")
def tied_build(work) -> Path:
    return build(work / "tied", parquet_pipeline(tied_parquet(work / "tied.parquet")))


@pytest.fixture(scope="module")
def filtered_build(work) -> Path:
    big = write_all(DEFAULT_DIR, include_big=True)["big_1m.parquet"]
    grouped = row_grouped_copy(big, work / "big_1m_row_groups.parquet")
    return build(work / "filtered", parquet_pipeline(grouped, where=FILTER))


def executed(build_dir: Path, home: str, columns: list[str] | None = None):
    """The build's expression as xorq executes it (a pyarrow Table)."""
    out = Path(home).parent / f"executed-{uuid.uuid4().hex}.parquet"
    select = f".select({columns!r})" if columns else ""
    code = ("import sys, pyarrow.parquet as pq, xorq.api as xo;"
            f"pq.write_table(xo.load_expr(sys.argv[1]){select}.to_pyarrow(), sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, str(build_dir), str(out)], env={**os.environ, "HOME": home},
                   cwd=home, check=True, capture_output=True, timeout=300)
    return pq.read_table(out)


@pytest.fixture(scope="module")
def tied_rows(tied_build, home):
    return executed(tied_build, home)


@pytest.fixture(scope="module")
def filtered_ids(filtered_build, home) -> list:
    return executed(filtered_build, home, ["id"]).column("id").to_pylist()


@pytest.fixture(scope="module")
def srv(work):
    with started(our_launcher(work, BUCKAROO_TAURI_TEST_LOAD_GATE="1"), work) as s:
        yield s


@pytest.fixture(scope="module")
def tied(srv, tied_build):
    with load_expr(srv, tied_build) as ws:
        yield ws


def as_rows(table) -> list[dict]:
    """A row window as {original column: value}, without buckaroo's index column."""
    names = {wire: name for name, wire in WIRE.items()}
    return [{names[k]: v for k, v in row.items() if k != "index"} for row in table.to_pylist()]


def assert_each_once(ids: list, expected: list) -> None:
    duplicated = len(ids) - len(set(ids))
    missing = len(set(expected) - set(ids))
    assert (duplicated, missing, len(ids)) == (0, 0, len(expected)), \
        f"{duplicated} ids sent more than once, {missing} never, {len(ids)} rows for {len(expected)}"


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_windows_sorted_on_a_unique_column_equal_the_expression(tied, tied_rows, direction):
    expected = tied_rows.sort_by([("id", "ascending" if direction == "asc" else "descending")]).to_pylist()
    for start, end in ((0, 100), (1234, 1734), (2900, 3000)):
        resp, table = window_table(tied, start, end, sort=WIRE["id"], sort_direction=direction)
        assert resp["length"] == 3000
        assert as_rows(table) == expected[start:end], f"window {start}-{end} sorted {direction}"


def test_a_sort_on_a_tied_column_sends_every_row_once_in_a_total_order(tied, tied_rows):
    ids = scan(tied, 3000, 250, sort=WIRE["grp"], sort_direction="asc")
    assert_each_once(ids, tied_rows.column("id").to_pylist())
    # Ties on grp are broken by the next orderable column, the unique id.
    assert ids == tied_rows.sort_by([("grp", "ascending"), ("id", "ascending")]).column("id").to_pylist()


def test_search_then_windows_send_the_matching_rows_once(srv, tied_build, tied_rows):
    expected = tied_rows.filter(pc.equal(tied_rows.column("label"), "w3")).column("id").to_pylist()
    assert 0 < len(expected) < 3000
    with load_expr(srv, tied_build) as ws:
        ws.send({"type": "buckaroo_state_change", "new_state": {**ws.initial_state["buckaroo_state"],
                                                                "search_string": "w3"}})
        ws.next_of_type("initial_state")
        resp, _ = ws.rows(0, 100)
        assert resp["length"] == len(expected)
        assert_each_once(scan(ws, len(expected), 100), expected)


def row_replies(ws, n: int) -> list[dict]:
    """The next `n` infinite_resp headers of `ws` (their parquet frames skipped)."""
    out: list[dict] = []
    while len(out) < n:
        frame = ws.recv()
        if isinstance(frame, str) and (msg := json.loads(frame)).get("type") == "infinite_resp":
            out.append(msg)
    return out


def test_windows_and_searches_in_flight_together_on_two_sessions_of_one_build(srv, tied_build, tied_rows):
    """A `xorq build`'s deferred reads register their table for each query and drop it
    after: windows of two sessions and a search's recount in flight together failed with
    "Table not found: data" (the soak's finding). One such query runs at a time per backend."""
    from concurrent.futures import ThreadPoolExecutor

    matching = sum(1 for v in tied_rows.column("label").to_pylist() if v == "w3")
    windows = [{"start": s, "end": s + 100, **({"sort": WIRE["id"], "sort_direction": "desc"} if s % 200 else {})}
               for s in range(0, 1200, 100)]

    def browse(ws) -> list[dict]:
        for a in windows:
            ws.send({"type": "infinite_request", "payload_args": a})
        return row_replies(ws, len(windows))

    def search_then_browse(ws) -> list[dict]:
        ws.send({"type": "buckaroo_state_change", "new_state": {**ws.initial_state["buckaroo_state"],
                                                                "search_string": "w3"}})
        ws.next_of_type("initial_state")
        for a in windows:
            ws.send({"type": "infinite_request", "payload_args": {**a, "start": 0, "end": 50}})
        return row_replies(ws, len(windows))

    with load_expr(srv, tied_build) as a, load_expr(srv, tied_build) as b, ThreadPoolExecutor(2) as pool:
        got_a, got_b = pool.submit(browse, a), pool.submit(search_then_browse, b)
        replies_a, replies_b = got_a.result(timeout=300), got_b.result(timeout=300)
    failed = [r.get("error_info") for r in replies_a + replies_b if r.get("error_info")]
    assert failed == []
    assert {r["length"] for r in replies_a} == {3000}
    assert {r["length"] for r in replies_b} == {matching}


def test_a_full_unsorted_scan_of_a_filtered_expression_sends_every_row_once(srv, filtered_build, filtered_ids):
    with load_expr(srv, filtered_build) as ws:
        assert ws.initial_state["reply"]["rows"] == len(filtered_ids)
        assert_each_once(scan(ws, len(filtered_ids), BIG_WINDOW), filtered_ids)
        middle = len(filtered_ids) // 2
        assert len({tuple(window_ids(ws, middle, middle + 1000)) for _ in range(3)}) == 1


def test_a_scan_sorted_on_a_tied_column_of_a_filtered_expression_sends_every_row_once(
        srv, filtered_build, filtered_ids):
    with load_expr(srv, filtered_build) as ws:
        status = "g"  # big_1m's 7th column: 4 values over ~71k rows
        ids = scan(ws, len(filtered_ids), BIG_WINDOW, sort=status, sort_direction="desc")
        assert_each_once(ids, filtered_ids)


UNREADABLE = {"reads_deleted": "does not exist", "reads_truncated": "Parquet",
              "yaml_missing": "expr.yaml", "yaml_garbage": "YAML"}


@pytest.fixture(scope="module")
def broken_builds(tied_build, work) -> dict[str, Path]:
    return unreadable_copies(tied_build, work / "broken")


@pytest.mark.parametrize("variant", list(UNREADABLE))
def test_a_build_whose_data_cannot_be_read_is_refused_with_its_cause(srv, tied_build, broken_builds, variant):
    with load_expr(srv, tied_build) as ws:
        session = ws.initial_state["reply"]["session"]
        status, reply = srv.request("POST", "/load_expr", {"session": session,
                                                           "build_dir": str(broken_builds[variant])})
        assert status == 422, reply
        assert reply["error_code"] == "expr_unreadable"
        assert reply["message"].startswith(f"{broken_builds[variant]}: ")
        assert UNREADABLE[variant] in reply["message"]
        assert "Traceback" not in reply["message"]
        # The session keeps the build it had.
        resp, _ = ws.rows(0, 10)
        assert resp["length"] == 3000


def test_a_missing_build_dir_keeps_buckaroos_404(srv, work):
    status, reply = srv.request("POST", "/load_expr", {"build_dir": str(work / "no-such-build")})
    assert (status, reply["error_code"]) == (404, "build_dir_not_found")


class Gate:
    """The FIFO <build_dir>.gate that holds a /load_expr of <build_dir> in its worker."""

    def __init__(self, build_dir: Path):
        self.path = f"{build_dir}.gate"
        os.mkfifo(self.path)

    def held(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)


def test_load_expr_runs_off_the_loop_and_a_newer_load_cancels_it(srv, tied_build, work):
    held_build = work / "held"
    if not held_build.exists():
        held_build.symlink_to(tied_build, target_is_directory=True)
    gate = Gate(held_build)
    session = uuid.uuid4().hex
    try:
        pending = srv.request_in_background("POST", "/load_expr", {"session": session, "build_dir": str(held_build)})
        fd = gate.held()
        assert srv.request("GET", "/health")[0] == 200  # the loop is free while the load is held
        status, reply = srv.request("POST", "/load_expr", {"session": session, "build_dir": str(tied_build)})
        assert status == 200, reply
        status, reply = pending.wait(60)
        assert (status, reply["error_code"]) == (409, "load_cancelled")
        os.close(fd)
    finally:
        os.unlink(gate.path)


def test_deferred_stats_follow_the_first_rows(srv, tied_build):
    with load_expr(srv, tied_build, caps="stats_update", stats_delivery="deferred") as ws:
        stats = ws.initial_state["df_meta"]["stats"]
        assert stats["status"] != "complete" and isinstance(stats["gen"], int)
        ws.send({"type": "infinite_request", "stats_gen": stats["gen"], "payload_args": {"start": 0, "end": 50}})
        resp = ws.next_of_type("infinite_resp")
        assert resp["length"] == 3000 and isinstance(ws.recv(), bytes)
        update = ws.next_of_type("stats_update")
        assert update["stats_gen"] == stats["gen"]
        assert update["payload"], "stats_update without stats"


def test_a_file_load_on_a_stats_update_socket_keeps_inline_stats(srv):
    tiny = write_all(DEFAULT_DIR, include_big=False)["tiny.parquet"]
    session = uuid.uuid4().hex
    srv.load(tiny, session=session)
    with srv.ws(session + "?caps=stats_update") as ws:
        state = ws.next_of_type("initial_state")
        assert (state["df_meta"].get("stats") or {"status": "complete"})["status"] == "complete"
        assert state["df_data_dict"]["all_stats"], "initial_state without stats"


@pytest.fixture(scope="module")
def no_xorq(work) -> str:
    return without_xorq(work)


def test_without_xorq_load_expr_answers_501_and_file_loads_still_work(work, tied_build, no_xorq):
    tiny = write_all(DEFAULT_DIR, include_big=False)["tiny.parquet"]
    with started(our_launcher(work, PYTHONPATH=no_xorq), work) as s:
        for path, body in (("/load_expr", {"build_dir": str(tied_build)}), ("/reload_expr/any", {})):
            status, reply = s.request("POST", path, body)
            assert (status, reply["error_code"]) == (501, "xorq_not_installed"), (path, reply)
            assert f"pip install {XORQ_PIP}" in reply["message"]
        assert s.load(tiny)["rows"] == 50


def probe(home: str, *flags: str, pythonpath: str | None = None) -> dict:
    args, env = launcher_command({**os.environ, "HOME": home, **({"PYTHONPATH": pythonpath} if pythonpath else {})})
    done = subprocess.run([sys.executable, *args, "--probe", *flags], env=env, cwd=home,
                          capture_output=True, text=True, check=True, timeout=120)
    return json.loads(done.stdout)


def test_the_probe_reports_xorq_and_never_requires_it(home, no_xorq):
    info = probe(home)
    assert info["xorq"] == metadata.version("xorq") and info["ok"]
    broken = probe(home, "--deep", pythonpath=no_xorq)
    assert broken["ok"], broken["problems"]
    assert any("xorq" in w and "does not import" in w for w in broken["warnings"]), broken["warnings"]


def test_xorq_is_warmed_once_the_first_rows_are_out_and_the_sidecar_is_idle(work):
    """BUCKAROO_TAURI_WARM_XORQ=1 (xorq() apps): xorq is imported in the background, but
    not next to the first load: its import holds the GIL and doubled that load's time."""
    with started(our_launcher(work, BUCKAROO_TAURI_WARM_XORQ="1", BUCKAROO_TAURI_LOG_LEVEL="INFO"), work) as s:
        ws = s.loaded(DEFAULT_DIR / "small_100k.parquet")
        _, parquet = ws.rows(0, 100)
        assert parquet
        rows_out_at = len(s.stderr_lines)
        line = s.wait_for_stderr("warm-up: xorq imported", timeout=120)
        assert "idle" in line
        warmed_at = next(i for i, text in enumerate(s.stderr_lines) if "warm-up: xorq" in text)
        assert warmed_at >= rows_out_at, "the import ran before the first rows were out"
        ws.close()
