"""Load synthetic rows into an app's schema with binary COPY, the way pg_restore does it, on
parallel connections, for any schema.

The schema is built first (bench/project/schema.py). Then its keys, unique constraints, foreign
keys and indexes are saved (pg_get_constraintdef, pg_get_indexdef: exactly as the source made
them) and dropped. Per table, in one of `workers` loading processes with its own connection:
TRUNCATE and COPY with FREEZE in one transaction (rows are written frozen and all-visible, so
the VACUUM after it has nothing to rewrite; with wal_level=minimal nothing of it goes to WAL),
streaming the table's blocks as they are generated and encoded; then its keys and indexes again
(one index build over loaded rows is far cheaper than maintaining it row by row), its sequences
moved past the loaded values, then VACUUM (ANALYZE). The largest table goes first, and each
process takes the next table when it is free, so both cores stay busy. Foreign keys are added
NOT VALID and then validated (VALIDATE CONSTRAINT takes light locks only, so two tables are
checked side by side): by the process that loaded the table once every table it references has
its keys back, else at the end.

Why this shape (issue 15, measured at scale 1 on 2 cores): generating the whole dataset before
the first COPY, formatting it as text, passing it through a multiprocessing queue and parsing
it on the server took 14-19 s. Now generation (seed/generate.py) and encoding
(bench/data/copy_binary.py) run in the process that sends the data, one per connection: processes,
not threads, because a thread busy with NumPy starves the other's socket of the GIL, and no
data crosses a process boundary. Everything here is plain SQL in the harness's own database
and sessions, so a --dsn server gets the same load; server settings are left alone here (on the
embedded server the pipeline loads with wal_level=minimal: see bench/runner/bulk_mode.py).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg.conninfo import make_conninfo
from tqdm import tqdm

from bench.data.copy_binary import HEADER, TRAILER, TableEncoder
from bench.data.generator import Generator
from bench.data.keys import Keys, drop_keys, restore_keys, save_keys

# Session settings of the loading connections (their own sessions only, also on a --dsn
# server): sort memory for the index builds, and no parallel index workers, since the
# workers already build indexes of two tables at once.
LOAD_SESSION = {"maintenance_work_mem": "256MB", "max_parallel_maintenance_workers": "0",
                "synchronous_commit": "off", "TimeZone": "UTC"}


@dataclass
class TableStats:
    rows: int
    bytes: int = 0
    copy_seconds: float = 0.0  # generate + COPY, with the commit
    index_seconds: float = 0.0  # primary key and indexes
    vacuum_seconds: float = 0.0  # VACUUM (ANALYZE)
    foreign_key_seconds: float = 0.0  # VALIDATE CONSTRAINT of the table's foreign keys
    worker: int = 0
    copied: float = 0.0  # perf_counter() when its COPY committed (a system-wide clock)
    vacuumed: float = 0.0  # perf_counter() when its VACUUM (ANALYZE) ended


@dataclass(frozen=True)
class LoadStats:
    rows: dict[str, int]
    copy_seconds: float  # from the start until the last COPY committed (wall)
    constraints_seconds: float  # from then until every key, index and foreign key was made
    vacuum_seconds: float  # from then until the last VACUUM (ANALYZE) ended
    bytes: int = 0  # binary COPY data sent
    workers: int = 1
    context_seconds: float = 0.0  # Faker pools and lead context, before the first COPY
    tables: dict[str, TableStats] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def copy_rows_per_s(self) -> float:
        return self.total_rows / self.copy_seconds if self.copy_seconds else 0.0

    def record(self, total_seconds: float) -> dict[str, Any]:
        """What results.json keeps of a load that took `total_seconds` in all."""
        return {
            "rows": self.rows, "total_rows": self.total_rows,
            "copy_seconds": self.copy_seconds, "constraints_seconds": self.constraints_seconds,
            "vacuum_analyze_seconds": self.vacuum_seconds, "total_seconds": total_seconds,
            "copy_rows_per_s": self.copy_rows_per_s,
            "rows_per_s": self.total_rows / total_seconds if total_seconds else 0.0,
            "copy_bytes": self.bytes,
            "copy_mb_per_s": self.bytes / 1e6 / total_seconds if total_seconds else 0.0,
            "method": "binary COPY FREEZE into tables created in the same transaction; then "
                      "primary key, indexes, VACUUM (ANALYZE) per table; foreign keys NOT VALID "
                      "+ VALIDATE",
            "workers": self.workers, "session_settings": dict(LOAD_SESSION),
            "context_seconds": self.context_seconds,
            "tables": {name: {k: v for k, v in vars(t).items()
                              if k not in ("copied", "vacuumed")}
                       for name, t in self.tables.items()},
        }

    def summary(self, total_seconds: float) -> str:
        """One line for the console, as pgbench prints what it did."""
        return (f"seed: {self.total_rows:,} rows in {total_seconds:.1f} s "
                f"({self.total_rows / total_seconds:,.0f} rows/s, "
                f"{self.bytes / 1e6 / total_seconds:,.0f} MB/s overall, {self.workers} "
                f"connections): generate + COPY {self.copy_seconds:.1f} s, then keys + indexes "
                f"{self.constraints_seconds:.1f} s, VACUUM ANALYZE {self.vacuum_seconds:.1f} s")


def vacuum_analyze(conn: psycopg.Connection, tables: list[str]) -> float:
    """VACUUM ANALYZE the tables, then switch autovacuum off for them.

    The harness vacuums at phase boundaries itself; an autovacuum that started in the middle of
    one phase would slow that phase only. (A table option: nothing outside this database.)
    """
    start = time.perf_counter()
    for name in tables:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(ident))
        conn.execute(sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = off)").format(ident))
    return time.perf_counter() - start


def default_workers() -> int:
    """Two loading connections on two or more cores: each table's COPY uses one server core
    and the Python side is light, so more connections than cores only contend."""
    return max(1, min(2, os.cpu_count() or 1))


def conninfo_of(conn: psycopg.Connection) -> str:
    """A conninfo that reaches the same database as `conn`, password included."""
    return make_conninfo(conn.info.dsn, password=conn.info.password or None)


_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@dataclass
class _Job:
    """What every loading process shares: fixed at fork, plus a counter and a result queue."""

    conninfo: str
    generator: Generator
    ctx: Any  # the generator's context, made once before the fork
    counts: dict[str, int]
    tables: dict[str, sa.Table]  # reflected from the catalog: column types for the encoder
    keys: Keys  # what was dropped before the load, to make again
    order: list[str]  # tables, largest first: each process takes the next one when free
    taken: Any  # multiprocessing.Value("i"): how many tables of `order` were taken
    results: Any  # multiprocessing.Queue of ("rows", n) | ("table", name, stats) | ...
    keyed: Any  # multiprocessing.Array("b"): table i of `order` has its keys back

    def parents_keyed(self, table: str) -> bool:
        """Every table that `table`'s foreign keys reference has its keys back."""
        with self.keyed.get_lock():
            done = {n for i, n in enumerate(self.order) if self.keyed[i]}
        return all(p in done or p == table for p in self.keys.parents(table))


def _connect(conninfo: str) -> psycopg.Connection:
    conn = psycopg.connect(conninfo, autocommit=True)
    for name, value in LOAD_SESSION.items():
        conn.execute(sql.SQL("SELECT set_config({}, {}, false)").format(
            sql.Literal(name), sql.Literal(value)))
    return conn


def _worker(job: _Job, number: int) -> None:
    """A loading process: takes tables off the shared order until none is left."""
    # Ctrl-C reaches the whole process group: the parent handles it and terminates this child
    # (SIGTERM, default action), so the child neither catches it nor prints a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)  # blocked by the parent around fork
    name = "?"
    try:
        with _connect(job.conninfo) as conn:
            while True:
                with job.taken.get_lock():
                    i = job.taken.value
                    job.taken.value += 1
                if i >= len(job.order):
                    break
                name = job.order[i]
                stats = _load_table(conn, job, name)
                stats.worker = number
                with job.keyed.get_lock():
                    job.keyed[i] = 1
                if job.keys.foreign_keys(name) and job.parents_keyed(name):
                    start = time.perf_counter()
                    _validate(conn, name, _add_foreign_keys(conn, job.keys, name))
                    stats.foreign_key_seconds = time.perf_counter() - start
                job.results.put(("table", name, stats))
        job.results.put(("exit", number, None))
    except Exception as exc:  # tell the parent instead of dying silently
        sqlstate = getattr(exc, "sqlstate", None)
        job.results.put(("error", f"loading {name}: {first_line(exc)}", sqlstate))


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _load_table(conn: psycopg.Connection, job: _Job, name: str) -> TableStats:
    table = job.tables[name]
    stats = TableStats(job.counts[name])
    start = time.perf_counter()
    source = job.generator.blocks(job.ctx, name)
    first = next(source)
    encoder = TableEncoder(table, first)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT binary, FREEZE)").format(
        sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, encoder.columns)))
    with conn.transaction():
        # Emptied in the same transaction as the COPY: FREEZE, and no WAL at wal_level=minimal.
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = off)").format(
            sql.Identifier(name)))
        with conn.cursor().copy(stmt) as copy:
            copy.write(HEADER)
            for block in _chain(first, source):
                for data in encoder.encode(block):
                    copy.write(data)
                    stats.bytes += len(data)
                job.results.put(("rows", len(next(iter(block.values()))), None))
            copy.write(TRAILER)
    stats.copied = time.perf_counter()
    stats.copy_seconds = stats.copied - start
    restore_keys(conn, job.keys, name)
    stats.index_seconds = time.perf_counter() - stats.copied
    stats.vacuum_seconds = vacuum_analyze(conn, [name])
    stats.vacuumed = time.perf_counter()
    return stats


def _mp_context() -> Any:
    """fork where there is one: the children share the parent's context without a copy."""
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _run_workers(job: _Job, workers: int, bar: tqdm[Any]) -> dict[str, TableStats]:
    """Load every table of the job on `workers` processes; the first failure stops them all."""
    ctx = _mp_context()
    procs = [ctx.Process(target=_worker, args=(job, i), daemon=True) for i in range(workers)]
    # Block Ctrl-C/SIGTERM while forking, so neither process loses one that lands during
    # the fork; the children unblock after setting their own handlers.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        for p in procs:
            p.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    stats: dict[str, TableStats] = {}
    running = workers
    try:
        while running:
            try:
                kind, a, b = job.results.get(timeout=1.0)
            except queue.Empty:
                _check_alive(procs)
                continue
            if kind == "rows":
                bar.update(a)
            elif kind == "table":
                stats[a] = b
            elif kind == "exit":
                running -= 1
            else:
                raise _worker_error(a, b)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=10)
    return stats


def _check_alive(procs: list[Any]) -> None:
    """Fail if a worker died without saying why."""
    for p in procs:
        if p.exitcode not in (None, 0):
            raise RuntimeError(f"a loading process exited with code {p.exitcode}")


def _worker_error(message: str, sqlstate: str | None) -> Exception:
    """The worker's error again, as a psycopg error of the same kind when it was one."""
    if sqlstate:
        try:
            return psycopg.errors.lookup(sqlstate)(message)
        except KeyError:
            pass
    return RuntimeError(message)


def _add_foreign_keys(conn: psycopg.Connection, keys: Keys, table: str) -> list[str]:
    """Add the table's foreign keys NOT VALID; their names. (Quick, but it takes a lock on
    the referenced table that conflicts with another such ALTER or a VACUUM of it: they
    wait.)"""
    for name, definition in keys.foreign_keys(table):
        conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
            sql.Identifier(table), sql.Identifier(name)) + sql.SQL(definition + " NOT VALID"))
    return [name for name, _ in keys.foreign_keys(table)]


def _validate(conn: psycopg.Connection, table: str, constraints: list[str]) -> None:
    """Check the rows against the foreign keys: one anti-join each. VALIDATE CONSTRAINT takes
    light locks only, so two connections check two tables side by side."""
    for name in constraints:
        conn.execute(sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
            sql.Identifier(table), sql.Identifier(name)))


def _validate_rest(conninfo: str, todo: list[tuple[str, list[str]]],
                   stats: dict[str, TableStats], connections: int) -> None:
    """Validate foreign keys left over by the workers on parallel connections (threads: the
    work is the server's)."""
    errors: list[BaseException] = []

    def run(share: list[tuple[str, list[str]]]) -> None:
        try:
            with _connect(conninfo) as conn:
                for table, constraints in share:
                    start = time.perf_counter()
                    _validate(conn, table, constraints)
                    stats[table].foreign_key_seconds += time.perf_counter() - start
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(todo[i::connections],), daemon=True)
               for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)
    if errors:
        raise errors[0]


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[tqdm[Any]]:
    with tqdm(total=total, unit="row", unit_scale=True, desc="COPY", disable=not enabled,
              leave=False) as bar:
        yield bar


def load(conn: psycopg.Connection, generator: Generator, seed: int, scale: float, *,
         progress: bool | None = None, workers: int | None = None) -> LoadStats:
    """Fill the app's tables (the schema is in place, empty) with `generator`'s rows for
    (seed, scale).

    `conn` must be in autocommit mode; it saves, drops and finally validates the keys, while
    `workers` further connections to the same database (default: `default_workers()`) load
    the tables.
    """
    from bench.runner.catalog import app_tables

    if progress is None:
        progress = sys.stderr.isatty()
    workers = workers or default_workers()
    start = time.perf_counter()
    rows = {t: n for t, n in generator.row_counts(scale).items()}
    present = app_tables(conn)
    unknown = sorted(set(rows) - set(present))
    if unknown:
        raise ValueError(f"the data generator fills tables the schema lacks: "
                         f"{', '.join(unknown)}")
    ctx = generator.make_context(seed, scale)
    context_seconds = time.perf_counter() - start
    tables = reflect(conn, list(rows))
    keys = save_keys(conn, present)
    drop_keys(conn, keys)
    # The largest table first, so it starts at once; then the others by size.
    order = sorted(rows, key=lambda t: (-rows[t], t))
    mpc = _mp_context()
    job = _Job(conninfo_of(conn), generator, ctx, rows, tables, keys, order,
               mpc.Value("i", 0), mpc.Queue(), mpc.Array("b", len(order)))
    with _progress(sum(rows.values()), progress) as bar:
        loaded = _run_workers(job, min(workers, len(order)), bar) if order else {}
    for table in present:  # tables the generator leaves empty get their keys back too
        if table not in loaded:
            restore_keys(conn, keys, table)
    copied = max((s.copied for s in loaded.values()), default=time.perf_counter())
    todo = [(t, _add_foreign_keys(conn, keys, t)) for t in present
            if keys.foreign_keys(t) and not (t in loaded and loaded[t].foreign_key_seconds)]
    stats = dict(loaded)
    for t, _ in todo:
        stats.setdefault(t, TableStats(0))
    _validate_rest(job.conninfo, todo, stats, min(2, workers))
    end = time.perf_counter()
    # The phases overlap (a small table is indexed while the big one is still copied): the
    # VACUUM ANALYZE time after the last COPY is "vacuum", the rest after it "constraints".
    vacuum_tail = sum(max(0.0, s.vacuumed - max(s.vacuumed - s.vacuum_seconds, copied))
                      for s in loaded.values())
    return LoadStats(
        rows=rows, copy_seconds=copied - start,
        constraints_seconds=max(0.0, end - copied - vacuum_tail), vacuum_seconds=vacuum_tail,
        bytes=sum(s.bytes for s in loaded.values()), workers=workers,
        context_seconds=context_seconds, tables=loaded)


def reflect(conn: psycopg.Connection, tables: list[str]) -> dict[str, sa.Table]:
    """The tables as SQLAlchemy reflects them from the catalog (column names, types, nulls)."""
    engine = sa.create_engine("postgresql+psycopg://", poolclass=sa.pool.NullPool,
                              creator=lambda: psycopg.connect(conninfo_of(conn)))
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine, only=tables, resolve_fks=False)
    finally:
        engine.dispose()
    return {name: metadata.tables[name] for name in tables}
