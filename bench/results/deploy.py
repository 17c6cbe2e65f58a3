"""The result model of `python -m bench deploy`: deploy.json is its serialisation.

What the app's traffic suffers while the migration is deployed: as written (Alembic, one
transaction) and with CREATE INDEX CONCURRENTLY, per table; the concurrent build's known failure
(an INVALID index); and throughput at N clients without and with the indexes. Filled by
bench.runner.deploy.job; read by bench.report.deploy and bench.report.deploy_charts only.

Times on a run's timeline (`*_s` without `seconds`) are seconds since the load started.
The load runs at a fixed rate (pgbench --rate) over a fixed number of connections, like an app
with a connection pool: a transaction is *due* at its scheduled time, waits for a free
connection if all are busy, then runs. Its latency counts from when it was due (what the app's
user sees); its *own* time (`exec`) from when it started, which for a write held up by a lock is
the time it waited for the lock. A transaction is *during* the migration if it was due before
the migration ended and finished after it began, *outside* otherwise.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from bench.results.model import Environment, SeedRecord, ServerInfo
from bench.results.record import Record

DEPLOY_SCHEMA_VERSION: Final = 1
SLOW_MS: Final = 100.0  # a write slower than this counts as stalled (issue 13: "say, 100 ms")

Method = Literal["as_written", "concurrently"]


class LatencyStats(Record):
    n: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None


class TableStall(Record):
    """The writes to one table during the migration against outside it."""

    table: str
    rows: int | None = None  # the table's rows when the migration ran
    during: LatencyStats  # latency of the writes during the migration (from when each was due)
    outside: LatencyStats  # ... and outside it
    during_exec: LatencyStats = Field(default_factory=LatencyStats)  # their own time
    longest_stall_ms: float | None = None  # the slowest write during the migration
    longest_lock_wait_ms: float | None = None  # the longest own time of one (the lock wait)
    blocked_client_s: float = 0.0  # connection-seconds: own time beyond the usual (median)
    slow_during: int = 0  # writes during the migration slower than SLOW_MS
    slow_outside: int = 0
    lock_wait_client_s: float = 0.0  # sampled: backends waiting for a lock on this table
    max_waiting: int = 0  # sampled: most backends waiting on this table at once
    locked_from_s: float | None = None  # as written: its first CREATE INDEX started ...
    locked_until_s: float | None = None  # ... and the lock went with the COMMIT


class ShapeLatency(Record):
    shape: str
    during: LatencyStats  # from when each read was due
    outside: LatencyStats
    during_exec: LatencyStats = Field(default_factory=LatencyStats)  # their own time


class IndexBuild(Record):
    name: str
    table: str
    sql: str
    start_s: float
    seconds: float


class LockWait(Record):
    """Sampled backends waiting for a lock, grouped by who waited, on what."""

    who: Literal["load", "migration", "other"]
    table: str | None  # a relation lock's table; None for a transaction (virtualxid) wait
    locktype: str
    mode: str
    samples: int
    client_s: float  # samples x the sampling interval


class Timeline(Record):
    """Every write of the load: when it was due and its latency, by table (for the chart)."""

    tables: list[str] = Field(default_factory=list)
    due_s: list[float] = Field(default_factory=list)
    latency_ms: list[float] = Field(default_factory=list)
    table: list[int] = Field(default_factory=list)  # index into `tables`
    waiting_s: list[float] = Field(default_factory=list)  # lock samples: when ...
    waiting: list[int] = Field(default_factory=list)  # ... and how many load backends waited


class MigrationUnderLoad(Record):
    method: Method
    database: str
    revision_file: str  # the Alembic file that ran
    seconds: float  # the migration's own duration: its first CREATE INDEX to its last commit
    start_s: float
    end_s: float
    load_seconds: float
    transactions: int
    failed: int = 0
    builds: list[IndexBuild] = Field(default_factory=list)
    tables: list[TableStall] = Field(default_factory=list)
    reads: list[ShapeLatency] = Field(default_factory=list)
    writes_during: LatencyStats = Field(default_factory=LatencyStats)  # all tables
    writes_outside: LatencyStats = Field(default_factory=LatencyStats)
    reads_during: LatencyStats = Field(default_factory=LatencyStats)  # all shapes
    reads_outside: LatencyStats = Field(default_factory=LatencyStats)
    reads_exec_during: LatencyStats = Field(default_factory=LatencyStats)  # their own time
    reads_exec_outside: LatencyStats = Field(default_factory=LatencyStats)
    lock_waits: list[LockWait] = Field(default_factory=list)
    sample_interval_ms: float = 0.0
    timeline: Timeline = Field(default_factory=Timeline)

    def table(self, name: str) -> TableStall | None:
        return next((t for t in self.tables if t.table == name), None)

    @property
    def longest_stall_ms(self) -> float | None:
        stalls = [t.longest_stall_ms for t in self.tables if t.longest_stall_ms is not None]
        return max(stalls) if stalls else None


class InvalidIndexCase(Record):
    """CREATE INDEX CONCURRENTLY's known failure, reproduced: a transaction left open during
    the build makes it wait; with lock_timeout it fails and leaves an INVALID index."""

    index: str
    table: str
    database: str | None = None  # the twin it ran on
    holder_sql: str  # what the long-running transaction did before it sat idle
    lock_timeout_ms: float
    error: str | None  # what the build got; None: it did not fail
    failed_after_s: float | None = None
    invalid_detected: bool  # pg_index.indisvalid was false afterwards
    detect_sql: str
    rerun_skipped: bool | None = None  # CREATE ... IF NOT EXISTS again left it INVALID
    remedy_sql: list[str] = Field(default_factory=list)
    remedy_seconds: float | None = None  # the generated revision's upgrade() run again
    valid_after_remedy: bool | None = None


class ThroughputCell(Record):
    mix: Literal["write", "read"]
    clients: int
    indexes: Literal["without", "with"]
    runs: int
    seconds: float
    transactions: int
    failed: int = 0
    tps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    tps_runs: list[float] = Field(default_factory=list)


class Throughput(Record):
    seconds_per_run: int
    runs_per_side: int
    order: str  # how runs alternated between the twins
    cells: list[ThroughputCell] = Field(default_factory=list)

    def cell(self, mix: str, clients: int, indexes: str) -> ThroughputCell | None:
        return next((c for c in self.cells if (c.mix, c.clients, c.indexes)
                     == (mix, clients, indexes)), None)


class SweepPoint(Record):
    scale: float
    rows: int  # all six tables
    table_rows: dict[str, int] = Field(default_factory=dict)
    migration_seconds: float
    longest_stall_ms: float | None = None  # the slowest write, any table
    stall_ms: dict[str, float] = Field(default_factory=dict)  # the slowest write per table
    read_rate_per_s: float | None = None  # the load's reads (scaled to the budget) ...
    read_cost_ms: float | None = None  # ... from a read's mean time at this scale, 1 client


class StallSweep(Record):
    """How the as-written stall grows with the data: y = a * rows^b fitted (least squares on
    logarithms) over the scales, and what it gives at the size the user named."""

    points: list[SweepPoint] = Field(default_factory=list)
    at_scale: float
    at_rows: int
    migration_fit: tuple[float, float] | None = None  # (a, b) of the migration's seconds
    stall_fit: tuple[float, float] | None = None  # (a, b) of the longest stall, ms
    predicted_migration_s: float | None = None
    predicted_stall_ms: float | None = None
    lead_seconds: float | None = None  # the load before each smaller scale's migration
    prewarmed: bool = False  # each smaller scale's tables and indexes in shared buffers first


class LoadScript(Record):
    name: str  # a shape's name, or a write workload's (insert:<table>, ...)
    kind: Literal["read", "write"]
    table: str | None  # the table a write goes to
    weight: int  # pgbench's -f FILE@weight
    rate_per_s: float  # what the mix asks for
    sql: str


class LoadSpec(Record):
    pgbench: str  # pgbench --version
    protocol: str
    clients: int
    rate_per_s: float  # --rate of the load during the migrations
    read_rate_per_s: float
    write_rate_per_s: float
    read_scale: float  # the mix's reads were scaled by this to fit the machine
    read_cost_ms: float | None = None  # a read's mean time on the unmigrated twin, 1 client
    read_cost_reads: int | None = None  # ... over this many reads
    lead_seconds: float
    drain_share: float | None = None  # ... and after a migration at least this x its length
    mix_source: str
    scripts: list[LoadScript] = Field(default_factory=list)


class DeploySettings(Record):
    scale: float
    seed: int
    clients: list[int]
    load_clients: int
    lead_seconds: float
    throughput_seconds: int
    sweep_scales: list[float] = Field(default_factory=list)
    at_scale: float
    lock_timeout_ms: float
    migration: str
    mix: str
    command_line: str = ""
    dsn: str | None = None


class DeployResults(Record):
    schema_version: int = DEPLOY_SCHEMA_VERSION
    kind: Literal["deploy"] = "deploy"
    started_at: str
    complete: bool = False
    wall_seconds: float | None = None
    environment: Environment
    config: DeploySettings
    server: ServerInfo | None = None
    seed: SeedRecord | None = None
    migration_name: str = ""
    revision_file: str | None = None  # the CONCURRENTLY revision offered, in the output folder
    load: LoadSpec | None = None
    as_written: MigrationUnderLoad | None = None
    concurrently: MigrationUnderLoad | None = None
    invalid_index: InvalidIndexCase | None = None
    throughput: Throughput | None = None
    sweep: StallSweep | None = None
