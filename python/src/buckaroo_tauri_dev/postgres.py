"""A throwaway PostgreSQL cluster for xorq-over-Postgres tests and measurements.

    with cluster(workdir) as pg:            # initdb + postgres on 127.0.0.1:<free port>
        load_table(pg, parquet, "big")      # ADBC ingest (COPY binary), dictionaries as text
        build_dir = build_expr(pg, workdir, "big")   # `xorq build` of a pipeline over it
        mark = pg.log_offset()
        ...                                 # e.g. POST /load_expr {build_dir} to a launcher
        pg.statements(since=mark)           # the SQL the server got since, from its log

The cluster is Debian's PostgreSQL 15 server binaries run directly (no pg_ctl, no system
cluster, never port 5432): trust auth, loopback only, fsync off, every statement logged
to `log_path`. initdb and postgres refuse to run as root, so as root they run as the
`postgres` system user (Popen's `user=`, so the PID we hold is postgres's own).

`python -m buckaroo_tauri_dev.postgres --measure` prints start/load/build times and the
launcher's RSS for the Postgres build vs the same table from parquet.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from buckaroo_tauri_dev import xorq_builds

PG_BIN = Path(os.environ.get("BUCKAROO_PG_BIN", "/usr/lib/postgresql/15/bin"))
SYSTEM_USER = "postgres"  # who runs initdb/postgres when we are root
# log_line_prefix: every log record starts with this, continuation lines do not.
LOG_PREFIX = "@@%p@@ "
RECORD = re.compile(r"^@@(\d+)@@ (\w+):  (.*)$")
# log_statement='all' logs simple-protocol queries as "statement: ..." and
# extended-protocol ones (psycopg 3's default) as "execute <name>: ...".
STATEMENT = re.compile(r"^(?:statement|execute [^:]*): (.*)$", re.S)


@dataclass
class Postgres:
    """A running cluster started by `cluster()`."""

    host: str
    port: int
    user: str
    dbname: str
    data_dir: Path
    log_path: Path
    pid: int
    timings: dict[str, float] = field(default_factory=dict)  # seconds: start, load, build

    @property
    def dsn(self) -> str:
        """libpq URI (psycopg, ADBC); no password: the cluster trusts loopback."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    @property
    def socket_dsn(self) -> str:
        """Over the data directory's unix socket: trusted even once TCP asks for a password."""
        return f"postgresql://{self.user}@/{self.dbname}?host={self.data_dir}&port={self.port}"

    def log_offset(self) -> int:
        """The log's current size: pass to `statements(since=...)` to see only what follows."""
        return self.log_path.stat().st_size

    def statements(self, since: int = 0, until: int | None = None) -> list[str]:
        """Every SQL statement the server logged (log_statement='all'), in order, between
        log offsets `since` and `until` (see log_offset); multi-line statements are
        joined back together."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            text = log.read(-1 if until is None else until - since).decode(errors="replace")
        found: list[str] = []
        current: list[str] | None = None
        for line in text.splitlines():
            record = RECORD.match(line)
            if record is None:
                if current is not None:  # continuation of a multi-line statement
                    current.append(line)
                continue
            if current is not None:
                found.append("\n".join(current))
                current = None
            statement = STATEMENT.match(record.group(3)) if record.group(2) == "LOG" else None
            if statement:
                current = [statement.group(1)]
        if current is not None:
            found.append("\n".join(current))
        return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres_user() -> dict:
    """Popen kwargs that drop root to the postgres system user (initdb/postgres refuse root)."""
    if os.geteuid() != 0:
        return {}
    return {"user": SYSTEM_USER, "group": SYSTEM_USER, "extra_groups": []}


def _server_env() -> dict[str, str]:
    # A PG* variable from the caller's shell (PGDATA, PGPORT...) must not steer our cluster.
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"}


def _conf(port: int, data_dir: Path) -> str:
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": f"'{data_dir}'",
        "log_statement": "'all'",
        "logging_collector": "off",  # log to stderr, which we redirect to log_path
        "log_destination": "'stderr'",
        "log_line_prefix": f"'{LOG_PREFIX}'",
        # A scratch cluster: durability buys nothing, speed of the 1M-row load does.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "wal_level": "minimal",
        "max_wal_senders": "0",
        "max_wal_size": "'2GB'",
        "shared_buffers": "'128MB'",
    }
    return "".join(f"{k} = {v}\n" for k, v in settings.items())


def _wait_until_accepting(proc: subprocess.Popen, dsn: str, log_path: Path, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"postgres exited ({proc.returncode}): {log_path.read_text()[-2000:]}")
        try:
            with psycopg.connect(dsn, dbname="postgres", connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"postgres not accepting connections: {log_path.read_text()[-2000:]}") from None
            time.sleep(0.05)


def _stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGINT is postgres's fast shutdown; a server that does not finish in time is
    killed with its whole process group (backends included)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@contextlib.contextmanager
def cluster(workdir: Path, user: str = "buckaroo", dbname: str = "buckaroo",
            timeout: float = 60.0) -> Iterator[Postgres]:
    """A fresh cluster for the block's duration: database `dbname` owned by superuser
    `user`, statement log at workdir/postgres.log. The data directory lives in the
    system temp dir (the postgres user must reach it and a unix socket path is short)
    and is removed on exit, after the server is stopped by its PID."""
    import psycopg

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="buckaroo-pg-"))
    proc: subprocess.Popen | None = None
    try:
        as_pg = _as_postgres_user()
        if as_pg:
            shutil.chown(data_dir, SYSTEM_USER, SYSTEM_USER)
        initdb = subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(data_dir), "-U", user, "--auth=trust",
             "--encoding=UTF8", "--no-instructions", "--no-sync"],
            cwd=data_dir, env=_server_env(), capture_output=True, text=True, check=False, **as_pg)
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed ({initdb.returncode}): {initdb.stderr[-2000:]}")
        port = _free_port()
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write(_conf(port, data_dir))
        # Only our own loopback and socket connections, trusted.
        (data_dir / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n")
        log_path = workdir / "postgres.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [str(PG_BIN / "postgres"), "-D", str(data_dir)],
                cwd=data_dir, env=_server_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, **as_pg)
        pg = Postgres(host="127.0.0.1", port=port, user=user, dbname=dbname,
                      data_dir=data_dir, log_path=log_path, pid=proc.pid)
        _wait_until_accepting(proc, pg.dsn, log_path, timeout)
        with psycopg.connect(pg.dsn, dbname="postgres", autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{dbname}"')
        pg.timings["start"] = time.monotonic() - started
        yield pg
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)


def stop_server(pg: Postgres, timeout: float = 30.0) -> None:
    """Stop the cluster now, as a crashed or shut-down server would be (fast shutdown:
    its backends end, their clients' connections break); returns once its port refuses
    connections. The cluster's context still cleans up after."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pg.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((pg.host, pg.port), timeout=1).close()
        except OSError:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"postgres on port {pg.port} still accepts connections {timeout:g} s after SIGINT")
        time.sleep(0.1)


def load_table(pg: Postgres, parquet: Path, table: str, primary_key: str | None = "id",
               batch_rows: int = 200_000) -> int:
    """Create `table` from `parquet` (replacing it) with ADBC's bulk ingest (COPY binary),
    streaming record batches; dictionary columns become text and nanosecond timestamps
    microsecond ones (Postgres's resolution). `primary_key` gets a primary key, so an
    ordered row window is an index scan. ANALYZEd. The number of rows loaded."""
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.monotonic()
    source = pq.ParquetFile(parquet)

    def plain(t: pa.DataType) -> pa.DataType:
        if pa.types.is_dictionary(t):
            return plain(t.value_type)
        if pa.types.is_large_string(t):
            return pa.string()
        if pa.types.is_timestamp(t) and t.unit == "ns":
            return pa.timestamp("us", t.tz)
        return t

    schema = pa.schema([pa.field(f.name, plain(f.type)) for f in source.schema_arrow])
    batches = (pa.Table.from_batches([b]).cast(schema).to_batches()[0]
               for b in source.iter_batches(batch_size=batch_rows))
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    with adbc.connect(pg.dsn) as con:
        with con.cursor() as cur:
            cur.execute(f'DROP TABLE IF EXISTS "{table}"')
            rows = cur.adbc_ingest(table, reader, mode="create")
            if primary_key:
                cur.execute(f'ALTER TABLE "{table}" ADD PRIMARY KEY ("{primary_key}")')
            cur.execute(f'ANALYZE "{table}"')
        con.commit()
    pg.timings["load"] = time.monotonic() - started
    return rows


SERIES_COLUMNS = ("id", "name", "amount", "category", "created", "flag", "note")


def series_table(pg: Postgres, table: str, rows: int, password: str | None = None) -> None:
    """Create `table` with `rows` rows made by the server itself (generate_series: no
    client transfer), primary key `id` 1..rows, a text, a float (`amount`, not indexed:
    the sort that has to sort), a category, a zoned timestamp, a boolean and a text with
    NULLs; ANALYZEd so pg_class holds its estimate. With `password`, the cluster's user
    gets it and loopback TCP asks for it (scram) from then on."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(pg.dsn, autocommit=True) as con:
        con.execute(f'DROP TABLE IF EXISTS "{table}"')
        con.execute(f"""
            CREATE UNLOGGED TABLE "{table}" AS
            SELECT g::bigint AS id,
                   'row ' || g AS name,
                   ((g * 7919) % 1000003) / 100.0 AS amount,
                   (ARRAY['alpha', 'beta', 'gamma', 'delta'])[1 + g % 4] AS category,
                   TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 second' AS created,
                   g % 3 = 0 AS flag,
                   CASE WHEN g % 10 = 0 THEN NULL ELSE 'note ' || (g % 1000) END AS note
            FROM generate_series(1::bigint, {rows}::bigint) AS g""")
        con.execute(f'ALTER TABLE "{table}" ALTER COLUMN amount TYPE double precision')
        con.execute(f'ALTER TABLE "{table}" ADD PRIMARY KEY (id)')
        con.execute(f'VACUUM ANALYZE "{table}"')
        if password is not None:
            con.execute(f"ALTER USER \"{pg.user}\" PASSWORD '{password}'")
    if password is not None:
        require_password(pg)
    pg.timings["load"] = time.monotonic() - started


def require_password(pg: Postgres) -> None:
    """Loopback TCP asks for the password from now on (the unix socket stays trusted, for
    the harness); the running server reloads its pg_hba.conf."""
    import psycopg

    hba = pg.data_dir / "pg_hba.conf"
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    with psycopg.connect(host=str(pg.data_dir), port=pg.port, user=pg.user, dbname=pg.dbname, autocommit=True) as con:
        con.execute("SELECT pg_reload_conf()")
    time.sleep(0.3)


def table_bytes(pg: Postgres, table: str) -> int:
    """The table's size on disk (heap and TOAST, no index), read over the trusted unix
    socket: what a sidecar that pulled the table in would hold at the least."""
    import psycopg

    with psycopg.connect(host=str(pg.data_dir), port=pg.port, user=pg.user, dbname=pg.dbname) as con:
        return con.execute("SELECT pg_table_size(%s::regclass)", (f'"{table}"',)).fetchone()[0]


def postgres_pipeline(pg: Postgres, table: str, where: str | None = None) -> str:
    """A pipeline over `table` on the cluster, optionally filtered (`where` is an ibis
    predicate over `t`, e.g. `t.status != "archived"`). No password: trust auth."""
    lines = [
        "import xorq.api as xo",
        f"con = xo.postgres.connect(host={pg.host!r}, port={pg.port}, user={pg.user!r}, "
        f"database={pg.dbname!r})",
        f"t = con.table({table!r})",
        f"expr = t.filter({where})" if where else "expr = t",
    ]
    return "\n".join(lines) + "\n"


def build_expr(pg: Postgres, workdir: Path, table: str, where: str | None = None) -> Path:
    """`xorq build` of `postgres_pipeline` in `workdir` (see xorq_builds.build); the
    absolute build directory. A sidecar loading it needs xorq_builds.scratch_env(workdir)."""
    started = time.monotonic()
    built = xorq_builds.build(Path(workdir), postgres_pipeline(pg, table, where))
    pg.timings["build"] = time.monotonic() - started
    return built


# -- measurement CLI ---------------------------------------------------------------

def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants."""
    import psutil

    root = psutil.Process(pid)
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total


def view_windows(srv, session: str, total: int, size: int = 100) -> list[tuple[int, int, float, bytes]]:
    """Open `session`'s socket and fetch windows at 0, the middle and the end:
    (start, end, seconds, parquet bytes) for each."""
    windows = []
    with srv.ws(session) as ws:
        ws.initial_state = ws.next_of_type("initial_state")
        for start in (0, total // 2, max(total - size, 0)):
            t0 = time.monotonic()
            _, frame = ws.rows(start, start + size, sourceName="default", origEnd=start + size,
                               request_time=int(time.time() * 1000))
            windows.append((start, start + size, time.monotonic() - t0, frame))
    return windows


def _measure(parquet: Path, workdir: Path) -> None:
    import uuid

    from buckaroo_tauri_dev.server import launcher_server

    mib = 1024 * 1024
    table = "big"
    with cluster(workdir / "pg") as pg:
        rows = load_table(pg, parquet, table)
        build_dir = build_expr(pg, workdir / "pg-build", table)
        parquet_build = xorq_builds.build(workdir / "pq-build", xorq_builds.parquet_pipeline(parquet))
        print(f"cluster start {pg.timings['start']:.2f}s  load {rows} rows {pg.timings['load']:.2f}s  "
              f"build {pg.timings['build']:.2f}s")
        cases = [("postgres /load_expr", "/load_expr", {"build_dir": str(build_dir)}, workdir / "pg-build"),
                 ("parquet /load_expr", "/load_expr", {"build_dir": str(parquet_build)}, workdir / "pq-build"),
                 ("parquet /load (pandas)", "/load", {"path": str(parquet), "mode": "buckaroo"}, workdir)]
        for label, route, body, home in cases:
            with launcher_server(extra_env=xorq_builds.scratch_env(home)) as srv:
                session = uuid.uuid4().hex
                mark = pg.log_offset()
                t0 = time.monotonic()
                status, reply = srv.request("POST", route, {**body, "session": session, "no_browser": True},
                                            timeout=300)
                took = time.monotonic() - t0
                if status != 200:
                    raise RuntimeError(f"{label}: {status} {reply}")
                between = pg.log_offset()
                windows = view_windows(srv, session, reply["rows"])
                rss = tree_rss(srv.proc.pid)
                times = ", ".join(f"{s}:{t * 1000:.0f}ms" for s, _, t, _ in windows)
                print(f"{label:24s} load {took:.2f}s rows {reply['rows']}  windows {times}  "
                      f"RSS {rss / mib:.0f} MiB")
                if "postgres" in label:
                    on_table = [q for q in pg.statements(since=mark, until=between) if f'FROM "{table}"' in q]
                    print(f"   {len(on_table)} statements on {table!r} during the load, e.g.:")
                    for sql in on_table[:2]:
                        print("   ", " ".join(sql.split())[:300], "...")
                    for sql in pg.statements(since=between):
                        if f'FROM "{table}"' in sql:
                            print("   window:", " ".join(sql.split()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m buckaroo_tauri_dev.postgres")
    parser.add_argument("--measure", action="store_true", help="print start/load/build times and RSS")
    parser.add_argument("--parquet", type=Path, default=None, help="default: the sample big_1m.parquet")
    args = parser.parse_args(argv)
    if not args.measure:
        parser.print_help()
        return 2
    from buckaroo_tauri_dev import sample_data

    parquet = args.parquet or sample_data.write_all(sample_data.DEFAULT_DIR, include_big=True)["big_1m.parquet"]
    with tempfile.TemporaryDirectory(prefix="buckaroo-pg-measure-") as tmp:
        _measure(Path(parquet), Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
