"""One migration under the app's traffic: pgbench plays the load at a fixed rate, the lock
sampler watches, and after a lead-in the migration runs; a lead-out later the load stops. The
transactions' log then says what each table's writes and each shape's reads went through.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from psycopg import sql

from bench.results import stalls
from bench.results.deploy import IndexBuild, Method, MigrationUnderLoad
from bench.results.pgbench_log import Txn
from bench.results.stalls import LockSample
from bench.runner import catalog
from bench.runner.deploy import concurrently, pgbench
from bench.runner.deploy.locks import LockSampler
from bench.runner.deploy.traffic import Script
from bench.runner.progress import bar
from bench.runner.provision import Target, settle

MIGRATION_APP = "pgib-migration"
# The lead-out lasts at least this share of the migration: writes held up by its locks queue
# in pgbench and must have finished when the load stops (one cut short is not logged, and a
# stall would be missed). Measured, the queue had drained 0.03-0.07x the migration's length
# after its commit at scale 1 (0.10-0.50 s after 3.1-7.0 s, 13 runs), 0.04-0.14 s after
# 0.96-1.66 s at 0.3 and 0.01-0.05 s after 0.35-0.67 s at 0.1.
DRAIN_SHARE = 0.25


@dataclass(frozen=True)
class LoadPlan:
    """The load that runs during a migration: every script at the mix's rate, reads scaled
    by `read_scale`, over `clients` connections."""

    exe: Path
    scripts: list[Script]
    files: list[Path]
    clients: int
    read_scale: float
    lead_s: float
    seed: int
    workdir: Path
    read_cost_ms: float | None = None  # a read's mean time on the unmigrated database
    read_samples: int | None = None  # ... over this many reads

    def scale(self, s: Script) -> float:
        return self.read_scale if s.kind == "read" else 1.0

    @property
    def rate(self) -> float:
        return sum(s.rate_per_s * self.scale(s) for s in self.scripts)

    def weighted(self) -> list[tuple[Path, int]]:
        return [(f, s.weight(self.scale(s))) for f, s in zip(self.files, self.scripts,
                                                              strict=True)]


class StatementClock:
    """The wall-clock start and end of every statement an engine sends."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.statements: list[tuple[str, float, float]] = []
        self._starts: list[float] = []
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args: Any) -> None:
        self._starts.append(time.time())

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append((" ".join(statement.split()), self._starts.pop(), time.time()))

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "after_cursor_execute", self._after)

    def builds(self, t0: float) -> list[IndexBuild]:
        out = []
        for stmt, start, end in self.statements:
            m = concurrently.CREATE_INDEX.match(stmt)
            if m:
                out.append(IndexBuild(name=concurrently.unquote(m.group(4)),
                                      table=concurrently.unquote(m.group(5)).split(".")[-1],
                                      sql=stmt, start_s=round(start - t0, 4),
                                      seconds=round(end - start, 4)))
        return out


def table_rows(target: Target) -> dict[str, int]:
    """Rows per table, counted (the planner's estimate drifts after the loads' VACUUMs)."""
    with target.connect() as conn:
        return {t: int(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(t))).fetchone()[0])  # type: ignore[index]
                for t in catalog.app_tables(conn)}


def engine_for(target: Target) -> sa.Engine:
    return sa.create_engine(target.sqlalchemy_url(), poolclass=sa.pool.NullPool,
                            connect_args={"application_name": MIGRATION_APP})


def migrate_under_load(plan: LoadPlan, target: Target, method: Method, revision_file: str,
                       migrate: Callable[[sa.Engine], object], tag: str,
                       progress: bool = False) -> MigrationUnderLoad:
    """Run `migrate(engine)` on `target` while the load runs there; what the load suffered.
    The load runs plan.lead_s before the migration and as long after it, and at least
    DRAIN_SHARE of the migration's length. With `progress`, a bar on a terminal: lead-in,
    migration, lead-out."""
    rows = table_rows(target)
    engine = engine_for(target)
    clock = StatementClock(engine)
    settle(target)
    try:
        with pgbench.Background(plan.exe, target.conninfo, plan.weighted(), plan.clients,
                                plan.rate, plan.workdir, plan.seed, tag) as load, \
                LockSampler(target.conninfo, load.app, MIGRATION_APP) as sampler, \
                bar(3, tag, progress) as shown:
            shown.update("lead-in: the load alone", 0)
            time.sleep(plan.lead_s)
            load.check()
            shown.update("the migration, under the load")
            called = time.time()
            migrate(engine)
            m1 = time.time()
            shown.update("lead-out: the load alone")
            time.sleep(max(plan.lead_s, DRAIN_SHARE * (m1 - called)))
            txns = load.stop()
            t0 = load.started_at
    finally:
        clock.close()
        engine.dispose()
    builds = clock.builds(t0)
    # The migration begins with its first CREATE INDEX (before it, Alembic connects and reads
    # the server's version: no lock is held) and ends when migrate() returns (the commit).
    m0 = t0 + min((b.start_s for b in builds), default=called - t0)
    return analyse(plan.scripts, txns, sampler.samples, sampler.effective_interval_s,
                   builds, method, target.dbname, revision_file, t0, m0, m1, rows)


def analyse(scripts: Sequence[Script], txns: Sequence[Txn], samples: Sequence[LockSample],
            interval_s: float, builds: list[IndexBuild], method: Method, database: str,
            revision_file: str, t0: float, m0: float, m1: float,
            rows: dict[str, int]) -> MigrationUnderLoad:
    script_table = {i: s.table for i, s in enumerate(scripts) if s.kind == "write" and s.table}
    script_shape = {i: s.name for i, s in enumerate(scripts) if s.kind == "read"}
    tables = stalls.table_stalls(txns, script_table, m0, m1, samples, interval_s, rows)
    if method == "as_written":  # every lock is held until the one COMMIT
        for t in tables:
            first = [b.start_s for b in builds if b.table == t.table]
            if first:
                t.locked_from_s, t.locked_until_s = min(first), round(m1 - t0, 4)
    reads = [t for t in txns if t.script in script_shape]
    r_during, r_outside = stalls.split(reads, m0, m1)
    w_during, w_outside = stalls.split([t for t in txns if t.script in script_table], m0, m1)
    return MigrationUnderLoad(
        method=method, database=database, revision_file=revision_file,
        seconds=round(m1 - m0, 4), start_s=round(m0 - t0, 4), end_s=round(m1 - t0, 4),
        load_seconds=round(max((t.end_s for t in txns), default=t0) - t0, 3),
        transactions=len(txns), failed=sum(t.latency_ms is None for t in txns),
        builds=builds, tables=tables,
        reads=stalls.shape_latencies(txns, script_shape, m0, m1),
        writes_during=stalls.latency(w_during), writes_outside=stalls.latency(w_outside),
        reads_during=stalls.latency(r_during), reads_outside=stalls.latency(r_outside),
        reads_exec_during=stalls.exec_stats(r_during),
        reads_exec_outside=stalls.exec_stats(r_outside),
        lock_waits=stalls.lock_waits(samples, interval_s),
        sample_interval_ms=round(interval_s * 1000, 2),
        timeline=stalls.timeline(txns, script_table, t0, samples),
    )
