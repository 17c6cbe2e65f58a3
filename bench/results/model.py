"""The result model: one typed record of a run. results.json is its serialisation.

Every producer (the runner) fills these records; every consumer (report, charts, compare,
trend, history, PR comment, sweep) reads them. Field names are the output contract of
results.json (DESIGN.md, "Output contract"): renaming one is a new SCHEMA_VERSION.

Units are in the names: `_ms` milliseconds, `_us_per_row` microseconds per row, `_bytes`,
`_seconds`, `_pct` percent. A `*_ci95` pair is a 95% interval [low, high].
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import Field

from bench.results.record import Record

if TYPE_CHECKING:  # its records build on these; bench/results/__init__.py ties the two
    from bench.results.per_index import PerIndexSection

SCHEMA_VERSION: Final = 1
NOISY_HALFWIDTH = 0.10  # a median whose 95% interval is wider than +-10% is flagged

Interval = tuple[float, float]
ReadVerdict = Literal["faster", "slower", "unchanged", "error"]
Operation = Literal["insert", "copy", "update"]


# --- the run's setting ------------------------------------------------------------------------


class Environment(Record):
    """The facts needed to compare two runs: machine, software versions, git state."""

    harness_version: str
    git_commit: str | None = None
    git_dirty: bool | None = None
    python: str
    platform: str = ""
    cpu_count: int | None = None
    cpu_model: str = "unknown"
    memory_bytes: int | None = None
    libraries: dict[str, str | None] = Field(default_factory=dict)


class RunSettings(Record):
    """The options the run was made with (results.json key `config`)."""

    scale: float
    seed: int
    rounds: int | Literal["adaptive"]
    min_rounds: int = 10
    max_rounds: int = 100
    max_time_s: float = 2.0
    warmup: int
    crosscheck_rounds: int = 5
    drift_rounds: int = 0  # runs before the twin design
    aa_rounds: int = 0
    write_rounds: int = 15
    cache: Literal["warm", "cold"] = "warm"
    parallel_workers: int = 0
    statement_timeout_s: float = 30.0
    shapes: list[str] = Field(default_factory=list)
    migration: str = ""  # the migration file's name
    command_line: str = ""
    dsn: str | None = None  # password masked


class ServerInfo(Record):
    source: Literal["embedded", "dsn"]
    database: str
    settings: dict[str, str] = Field(default_factory=dict)  # read back with current_setting()
    version: str | None = None  # SELECT version()


class SeedTable(Record):
    """One table's load."""

    rows: int
    bytes: int = 0
    copy_seconds: float = 0.0  # generate + COPY, with the commit
    index_seconds: float = 0.0  # primary key and indexes
    vacuum_seconds: float = 0.0  # VACUUM (ANALYZE)
    foreign_key_seconds: float = 0.0  # VALIDATE CONSTRAINT of its foreign keys
    worker: int = 0


class ColumnFidelity(Record):
    """One column of data made from a stats file: its statistics after ANALYZE against the
    file's (bench/results/fidelity.py says the measures)."""

    table: str
    column: str
    null_frac_diff: float  # synthetic minus source
    distinct_ratio: float | None = None  # synthetic distinct count / the source's, scaled
    mcv_distance: float | None = None  # total variation over the union of the two MCV lists
    histogram_error: float | None = None  # largest |F_synthetic(bound) - its quantile|
    correlation_error: float | None = None  # synthetic minus source
    distance: float  # the largest of the above, each as a share (0: identical)
    furthest: str  # which measure gave `distance`
    # "foreign key": dealt out by the fan-out, so parents' identities are the generator's own:
    # MCVs compared by rank, no histogram; "key": a key or unique column the generator makes
    # from the row number (not from the file), left out of the data's distance.
    made_as: Literal["", "foreign key", "key"] = ""


class NodeFidelity(Record):
    """A node of one query shape's plan: estimated rows on the source vs here (every node
    where the plans are the same, else the base-table scans)."""

    node: str  # "Seq Scan on orders", "Index Scan using ix on orders", ...
    source_rows: float
    synthetic_rows: float
    q_error: float


class ShapeFidelity(Record):
    shape: str
    same_plan: bool
    source_plan: str  # the node types, nested: "Hash Join(Seq Scan on a, Hash(Seq Scan on b))"
    synthetic_plan: str
    nodes: list[NodeFidelity] = Field(default_factory=list)
    max_q_error: float | None = None  # of its base-table scans


class DataFidelity(Record):
    """How far data generated from a stats file (--stats) is from the source's statistics."""

    stats_file: str | None = None
    distance: float  # the furthest column's distance
    furthest: str | None = None  # "table.column"
    furthest_what: str | None = None  # its measure
    columns: list[ColumnFidelity] = Field(default_factory=list)
    shapes: list[ShapeFidelity] = Field(default_factory=list)  # with --stats-dsn
    median_q_error: float | None = None  # of the shapes' base-table estimates


class SeedRecord(Record):
    """What seeding did and how fast."""

    scale: float
    seed: int
    rows: dict[str, int]
    total_rows: int
    copy_seconds: float  # generate + COPY (they overlap)
    constraints_seconds: float
    vacuum_analyze_seconds: float
    total_seconds: float
    copy_rows_per_s: float
    rows_per_s: float
    copy_bytes: int | None = None  # binary COPY data sent
    copy_mb_per_s: float | None = None
    method: str | None = None
    workers: int | None = None  # loading connections
    session_settings: dict[str, str] = Field(default_factory=dict)
    context_seconds: float | None = None  # Faker pools etc., before the first COPY
    tables: dict[str, SeedTable] = Field(default_factory=dict)
    # On the embedded server: what it ran with while loading and after (bulk_mode.py).
    server_settings: dict[str, Any] = Field(default_factory=dict)
    fidelity: DataFidelity | None = None  # data from a stats file: how close it came



class CloneDatabase(Record):
    """One of the two clones given with --twins, as the run found it."""

    dsn: str  # password masked
    database: str
    rows: dict[str, int]  # per table, pg_class.reltuples (count(*) where never analyzed)
    bytes: int  # the app's tables with their TOAST and indexes
    database_bytes: int | None = None  # pg_database_size


class ClonePair(Record):
    """The twins were two clones the user gave (--twins DSN_A DSN_B), measured as they are:
    nothing seeded or copied; the migration ran on B and was undone at the end."""

    a: CloneDatabase
    b: CloneDatabase
    same_server: bool  # one server (the same system identifier and start time)
    # The A/A control: True when every interval held 1 (the clones measured alike); the
    # shapes and write workloads whose interval did not.
    measured_alike: bool | None = None
    differing: list[str] = Field(default_factory=list)
    # At the end: B's indexes, and both clones' rows above their integer keys, are as the
    # run found them; what could not be undone or was left (with the statement that undoes it).
    restored: bool | None = None
    undone: list[str] = Field(default_factory=list)  # what the run undid beyond downgrade()
    left_behind: list[str] = Field(default_factory=list)

class CacheState(Record):
    mode: Literal["warm", "cold"]
    pg_prewarm: bool | None = None
    relations: int | None = None
    blocks: int | None = None
    reason: str | None = None  # why pg_prewarm was not available
    note: str | None = None  # cold: what could and could not be made cold


class CacheFit(Record):
    """bench.runner.cache_fit: whether both twins fit in the server's shared_buffers (checked
    before measuring); when they do not, what alternating them cost the figures, measured after
    the before-and-after read phase: each twin alone (both sides of each pair on it) on the
    parameter sets of the phase's first `rounds` rounds, against those rounds of the phase."""

    twins_bytes: int  # pg_total_relation_size of the app's tables, both twins, before migrating
    shared_buffers_bytes: int
    fits: bool
    rounds: int = 0  # paired rounds per shape and twin of the "alone" measurement (0: none)
    # shape -> median execution time (ms): the unmigrated twin A and the migrated twin B, each
    # alone and as measured in the read phase (named for the alternating order; in the order
    # below)
    before_alone_ms: dict[str, float] = Field(default_factory=dict)
    before_alternating_ms: dict[str, float] = Field(default_factory=dict)
    after_alone_ms: dict[str, float] = Field(default_factory=dict)
    after_alternating_ms: dict[str, float] = Field(default_factory=dict)
    # shape -> median shared blocks read from outside shared_buffers per round, both twins'
    alone_read_blocks: dict[str, float] = Field(default_factory=dict)
    alternating_read_blocks: dict[str, float] = Field(default_factory=dict)
    # the order the read phases ran the twins in (bench.runner.round_order) and why: alternating
    # round by round, or (when they do not fit) blocks of rounds per twin in ABBA order over
    # `order_cycles` cycles per phase
    order: Literal["alternating", "blocked"] = "alternating"
    order_reason: str = ""
    order_cycles: int = 0

    @property
    def before_ratio(self) -> dict[str, float]:
        """shape -> before-time alternating / alone (above 1: inflated by the other twin)."""
        return _ratios(self.before_alternating_ms, self.before_alone_ms)

    @property
    def after_ratio(self) -> dict[str, float]:
        return _ratios(self.after_alternating_ms, self.after_alone_ms)

    @property
    def speedup_ratio(self) -> dict[str, float]:
        """shape -> the speedup as measured alternating / the speedup of each twin alone."""
        before, after = self.before_ratio, self.after_ratio
        return {k: before[k] / after[k] for k in before if after.get(k)}


def _ratios(alternating: dict[str, float], alone: dict[str, float]) -> dict[str, float]:
    return {k: alternating[k] / v for k, v in alone.items() if v > 0 and k in alternating}


class MachineLoad(Record):
    """CPU that processes other than the harness and its server used while measuring, in
    cores, per measuring phase (bench.runner.machine_load). Contention stretches long
    operations more than short ones, so it moves speedups in a way the twins cannot cancel."""

    cores: int | None = None  # the machine's
    other_cores: dict[str, float] = Field(default_factory=dict)  # phase -> mean cores used
    # phase -> mean cores the hypervisor gave other guests (steal time, /proc/stat): not in
    # other_cores; it slows the twins alike, as a slower CPU would
    steal_cores: dict[str, float] = Field(default_factory=dict)
    warn_from: float = 0.25  # the report warns from this many cores in any phase

    def busy_phase(self) -> tuple[str, float] | None:
        """The busiest phase and its cores, if it reached `warn_from`."""
        if not self.other_cores:
            return None
        phase, cores = max(self.other_cores.items(), key=lambda kv: kv[1])
        return (phase, cores) if cores >= self.warn_from else None


# --- what the report claimed ------------------------------------------------------------------


class ClaimedRead(Record):
    before_ms: float
    after_ms: float
    factor: float


class Claims(Record):
    """The claims made about the migration, quoted as stated: figures to test, never results.

    Read from the claims file beside the migration (`<migration>.claims.toml`); a migration
    without one has no claims, and the report then compares nothing against them.
    """

    source: str  # the document the claims come from
    new_indexes: int | None = None
    new_indexes_per_table: dict[str, int] = Field(default_factory=dict)
    insert_overhead_pct: Interval | None = None
    update_overhead_pct: Interval | None = None
    copy_overhead_pct: Interval | None = None
    disk_growth_pct: Interval | None = None
    reads: dict[str, ClaimedRead] = Field(default_factory=dict)

    def write_claim(self, operation: str) -> Interval | None:
        return {"insert": self.insert_overhead_pct, "copy": self.copy_overhead_pct,
                "update": self.update_overhead_pct}.get(operation)


# --- how the two states were measured ---------------------------------------------------------


class Rounds(Record):
    """How a figure's rounds ended (sequential stopping, bench.results.stats.Looks): how many
    it got, why it stopped (interval decisive at an early look, the round cap, the time cap),
    and the confidence level of its interval (its `..._ci95` key keeps its name; an early stop
    reports a wider interval, at 99.5%, and one at the cap pays for the early looks: 96%)."""

    rounds: int
    reason: Literal["decisive", "round cap", "time cap", "error"]
    confidence: float
    text: str = ""


class NoiseFloor(Record):
    """The A/A control: the twins, both still unmigrated, measured against each other exactly
    as the real comparison is measured afterwards. The true ratio is 1; the measured ratio and
    its interval show how far noise alone moves this metric in this run."""

    ratio: float  # oriented like the effect: queries A/B (like a speedup), writes B/A
    ci95: Interval
    rounds: int
    a_times: list[float]  # per round: ms per query, µs per row
    b_times: list[float]


class Method(Record):
    """How the before and after states were measured, and how the intervals were made."""

    design: Literal["twins"] = "twins"
    # "twins": one seeded database cloned into two (CREATE DATABASE ... TEMPLATE); one of
    # them migrated; rounds alternate between them in ABBA order in the same time window.
    order: str = "ABBA"
    estimate: str = "20% trimmed geometric mean of the per-round ratios"
    interval: str = "Yuen's interval of the trimmed mean, widened by the between-run SD"
    run_to_run_sd_reads: float = 0.0  # between-run SD of a log factor, added in quadrature
    run_to_run_sd_writes: float = 0.0  # the same for a log write cost ratio
    aa_sd_reads: float = 0.0  # the same for the A/A control's log ratios (0: older runs)
    aa_sd_writes: float = 0.0
    read_rounds: int = 0
    write_rounds: int = 0
    aa_read_rounds: int = 0
    aa_write_rounds: int = 0
    explain: str = "EXPLAIN (ANALYZE, TIMING OFF, BUFFERS)"


# --- reads ------------------------------------------------------------------------------------


# The planner's side of a plan (bench/results/estimates.py does the arithmetic). Plans are run
# with EXPLAIN (ANALYZE, TIMING OFF): every node has its estimates ("Plan Rows", costs) and its
# actual rows and loops, but no per-node time; only the whole plan is timed.
MisestimateFlag = Literal["", "10x", "100x", "1000x"]


class NodeEstimate(Record):
    """One plan node: the planner's row estimate against the rows it returned, per loop."""

    position: str  # in the plan tree: "0" the root, "0.1" its second child, ...
    node: str  # "Index Scan using ix_a on t", "Hash Join", ...
    node_type: str
    startup_cost: float
    total_cost: float
    plan_rows: float  # estimated rows per loop
    actual_rows: float | None  # per loop; None: never executed
    loops: int
    q_error: float | None  # max(est/act, act/est), both at least 1 row; None: never executed
    direction: Literal["over", "under", "exact"] | None  # over: more rows estimated than seen
    flag: MisestimateFlag = ""  # q_error reached 10x, 100x or 1000x (as pev2 flags it)
    # Below a Limit, with no node between that reads all its input (Sort, Hash, ...): it was
    # stopped once the Limit had its rows, so fewer rows than estimated is no misestimate (such
    # a node's "over" is neither flagged nor the worst).
    stopped_early: bool = False


class PlanEstimate(Record):
    """The planner's figures for one phase's representative plan (the median round's)."""

    total_cost: float  # the root node's
    startup_cost: float
    plan_rows: float
    actual_rows: float
    planning_ms: float | None = None  # this plan's planning time
    execution_ms: float | None = None  # this plan's execution time
    ms_per_cost_unit: float | None = None  # execution_ms / total_cost
    root_node_type: str = ""
    nodes: list[NodeEstimate] = Field(default_factory=list)  # every node, in plan order
    worst: NodeEstimate | None = None  # the node with the largest q-error (first of equals)


class ShapeEstimate(Record):
    """Per shape: the planner's estimated speedup (cost before / cost after) next to the
    measured one, and how far apart they are."""

    cost_before: float
    cost_after: float
    estimated_speedup: float | None  # median of the per-round cost ratios (else of the plans)
    measured_speedup: float | None  # QueryResult.speedup
    measured_over_estimated: float | None  # > 1: the indexes paid more than the planner thought
    rounds: int = 0  # paired rounds the estimated speedup comes from; 0: the two kept plans
    planning_before_ms: float | None = None  # medians over the rounds
    planning_after_ms: float | None = None
    execution_before_ms: float | None = None
    execution_after_ms: float | None = None


class PlanVariant(Record):
    rounds: int
    summary: str
    structure: str
    scans: list[str] = Field(default_factory=list)  # "Index Scan using ix_a on t", in order


class Crosscheck(Record):
    """The plain query timed by the client next to EXPLAIN ANALYZE on the same parameters."""

    rounds: int
    plain_client_median_ms: float
    explain_execution_median_ms: float
    explain_over_plain: float | None


class QueryPhase(Record):
    """One shape in one phase (before or after the migration): every round and its summary.

    A phase that could not be measured (a statement timeout) has rounds == 0, no median, and
    the reason in `error`.
    """

    rounds: int = 0
    median_ms: float | None = None
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    p95_ms: float | None = None
    q1_ms: float | None = None
    q3_ms: float | None = None
    iqr_ms: float | None = None
    stdev_ms: float | None = None
    cv: float | None = None
    indexes_used: list[str] = Field(default_factory=list)
    plan_summary: str | None = None
    node_types: list[str] = Field(default_factory=list)
    plan_variants: list[PlanVariant] = Field(default_factory=list)
    plan: dict[str, Any] | None = None  # EXPLAIN (FORMAT JSON) of the median round
    planning_median_ms: float | None = None
    shared_hit_median: float | None = None
    shared_read_median: float | None = None
    # Per round (round i ran parameter set i), the deterministic signals of the plan: the rows
    # the root node returned, the shared buffers it touched (hit + read), and which of
    # `plan_variants` the round's plan was. Same seed, scale, data and code give the same
    # values (bench/ci/signals.py compares them exactly); empty in runs made before them.
    rows_per_round: list[int] = Field(default_factory=list)
    buffers_per_round: list[int] = Field(default_factory=list)
    plan_per_round: list[int] = Field(default_factory=list)
    median_ci95_ms: Interval | None = None
    median_rel_halfwidth: float | None = None
    noisy: bool = False  # the median's interval is wider than +-NOISY_HALFWIDTH
    crosscheck: Crosscheck | None = None
    times_ms: list[float] = Field(default_factory=list)  # execution time of every round
    error: str | None = None
    # The planner's side (bench/results/estimates.py); empty or None in runs made before it.
    # Per round: the root node's total cost and estimated rows.
    total_cost_per_round: list[float] = Field(default_factory=list)
    plan_rows_per_round: list[float] = Field(default_factory=list)
    estimate: PlanEstimate | None = None  # of `plan`, node by node

    @property
    def measured(self) -> bool:
        return self.median_ms is not None and self.rounds > 0


class ParameterGroup(Record):
    """Medians of the rounds that used one parameter set."""

    params: dict[str, Any]
    rounds: int
    before_median_ms: float
    after_median_ms: float
    speedup: float | None


class QueryResult(Record):
    """One query shape: its SQL and claim, both phases, and the speedup between them."""

    name: str  # the .sql file's stem
    report_row: str = ""
    description: str = ""
    file: str = ""
    sql: str = ""
    expects_index: str | None = None
    claimed: ClaimedRead | None = None
    params: list[dict[str, Any]] = Field(default_factory=list)  # round i used params[i]
    before: QueryPhase | None = None
    after: QueryPhase | None = None
    speedup: float | None = None  # median before / median after
    speedup_ci95: Interval | None = None
    by_parameter: list[ParameterGroup] | None = None
    verdict: ReadVerdict | None = None
    verdict_text: str = ""
    aa: NoiseFloor | None = None  # the A/A control: the noise floor of `speedup`
    stopped: Rounds | None = None  # how the before/after rounds ended
    estimate: ShapeEstimate | None = None  # the planner's speedup next to the measured one

    def phase(self, name: str) -> QueryPhase | None:
        return self.before if name == "before" else self.after

    @property
    def meets_claim(self) -> bool:
        """The whole speedup interval is at or above the claimed factor."""
        return bool(self.claimed and self.speedup_ci95
                    and self.speedup_ci95[0] >= self.claimed.factor)


class DriftShape(Record):
    rounds: int
    ratio: float  # median again / median first
    ci95: Interval


class DriftRecord(Record):
    """The before phase re-run at the end against its first rounds (same parameters)."""

    shapes: dict[str, DriftShape] = Field(default_factory=dict)
    median_ratio: float | None = None


# --- writes -----------------------------------------------------------------------------------


class WritePhase(Record):
    """One write workload in one phase: cost per row (µs), WAL, HOT updates."""

    rounds: int
    median_us_per_row: float
    p95_us_per_row: float
    min_us_per_row: float
    q1_us_per_row: float
    q3_us_per_row: float
    cv: float
    times_us_per_row: list[float]
    rows_per_s: float | None = None
    wall_us_per_row: float  # the client's view: round trips and commits included
    wal_bytes_per_row: float
    wal_records_per_row: float | None = None  # COPY has no per-statement count
    wal_fpi: int = 0
    hot_pct: float | None = None  # updates only: share of HOT updates


# exceeds / below: the whole interval above / below the claimed range (exceeds also beyond the
# A/A control's upper edge); within: the whole interval inside it; consistent: the interval
# reaches into the range and beyond it (the data cannot tell); within noise: above the claimed
# range, but not beyond what noise alone moved the A/A control.
WriteVerdict = Literal["exceeds", "within", "consistent", "within noise", "below", "no claim",
                       "not measured"]


class WriteWorkload(Record):
    name: str  # insert:<table>, update:<table>, copy:<table>
    table: str
    operation: Operation
    description: str = ""
    timing: Literal["server", "client"] = "server"
    before: WritePhase | None = None
    after: WritePhase | None = None
    overhead_pct: float | None = None  # cost per row after / before - 1, in percent
    overhead_ci95: Interval | None = None
    claimed_pct: Interval | None = None
    wal_overhead_pct: float | None = None
    aa: NoiseFloor | None = None  # the A/A control: the noise floor of `overhead_pct`
    stopped: Rounds | None = None  # how the rounds of the reported block ended

    @property
    def noise_pct(self) -> Interval | None:
        """The A/A control's interval as an overhead in percent (it contains 0 when noise
        alone is at work)."""
        if self.aa is None:
            return None
        return (100 * (self.aa.ci95[0] - 1), 100 * (self.aa.ci95[1] - 1))

    @property
    def wall_overhead_pct(self) -> float | None:
        if not self.before or not self.after:
            return None
        return 100 * (self.after.wall_us_per_row / self.before.wall_us_per_row - 1)

    @property
    def verdict(self) -> WriteVerdict:
        """How the measured overhead's interval lies against the claimed range (WriteVerdict)."""
        if self.overhead_ci95 is None:
            return "not measured"
        if not self.claimed_pct:
            return "no claim"
        lo, hi = self.overhead_ci95
        claim_lo, claim_hi = self.claimed_pct
        noise = self.noise_pct
        if lo > claim_hi:
            return "exceeds" if noise is None or lo > noise[1] else "within noise"
        if hi < claim_lo:
            return "below"
        return "within" if claim_lo <= lo and hi <= claim_hi else "consistent"


class WriteSection(Record):
    rows_per_round: int
    rows_per_transaction: int
    copy_rows_per_round: int
    rounds: int
    warmup: int
    active_set_rows: int
    inserted_leads_kept: bool = False
    checkpoint_per_phase: bool = True
    workloads: list[WriteWorkload] = Field(default_factory=list)


# --- the migration and its disk cost ----------------------------------------------------------


class StatementTiming(Record):
    action: Literal["create", "drop", "other"]  # other: a statement that is no index's
    index: str = ""  # "" for other statements (and an index left unnamed in its CREATE)
    seconds: float
    sql: str
    transactional: bool | None = None  # False: it ran in autocommit, on its own (CONCURRENTLY)


class DroppedIndex(Record):
    """An index the migration removed, as the catalog had it before."""

    name: str
    table: str
    size_bytes: int
    drop_seconds: float | None = None
    definition: str = ""


class MigrationRecord(Record):
    """One direction of the migration, checked against pg_indexes."""

    revision: str
    direction: Literal["upgrade", "downgrade"]
    seconds: float
    indexes: list[str]  # the index names created (upgrade) or removed (downgrade)
    index_count: int
    statements: list[StatementTiming] = Field(default_factory=list)
    index_counts_before: dict[str, int] = Field(default_factory=dict)
    index_counts_after: dict[str, int] = Field(default_factory=dict)
    # How it ran: "alembic" (a revision file on the harness's connection), "alembic project"
    # (through the app's own env.py), "sql" (a .sql file). None: a run from before forms.
    form: str | None = None
    created: list[str] | None = None  # the indexes that appeared (either direction)
    dropped: list[str] | None = None  # the indexes that disappeared (either direction)
    dropped_indexes: list[DroppedIndex] = Field(default_factory=list)  # sizes as before
    invalid_indexes: list[str] = Field(default_factory=list)  # pg_index.indisvalid false after
    transactional: bool | None = None  # True: all of it in one transaction
    skipped: str | None = None  # why it did not run (a migration without a downgrade)


class TableBytes(Record):
    table_bytes: int  # heap + TOAST
    index_bytes: int


class TableDisk(Record):
    before: TableBytes
    after: TableBytes
    new_index_bytes: int
    growth_pct: float | None
    dropped_index_bytes: int = 0  # what the indexes the migration dropped took


class CreatedIndex(Record):
    name: str
    table: str
    size_bytes: int
    build_seconds: float | None
    definition: str


class DiskSection(Record):
    """What the new indexes cost on disk and in build time (results.json key `indexes`)."""

    created: list[CreatedIndex]
    tables: dict[str, TableDisk]
    total_before_bytes: int
    total_after_bytes: int
    new_index_bytes: int
    growth_pct: float | None
    index_bytes_before: int
    index_bytes_after: int
    index_growth_pct: float | None
    build_seconds_total: float
    claimed_growth_pct: Interval | None = None
    # The indexes the migration dropped, and the bytes they freed; growth and the totals
    # after are net of them.
    dropped: list[DroppedIndex] = Field(default_factory=list)
    freed_index_bytes: int = 0


# --- the run ----------------------------------------------------------------------------------


class RunResults(Record):
    """results.json: everything one run measured, and the setting it was measured in.

    Saved after every phase; `complete` says whether the run reached its end.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    started_at: str  # ISO 8601, UTC
    complete: bool = False
    environment: Environment
    config: RunSettings
    queries: list[QueryResult] = Field(default_factory=list)
    server: ServerInfo | None = None
    seed: SeedRecord | None = None
    clones: ClonePair | None = None  # run --twins: the data was two clones, not seeded
    cache: CacheState | None = None
    writes: WriteSection | None = None
    migration: MigrationRecord | None = None
    disk: DiskSection | None = Field(default=None, alias="indexes")
    migration_down: MigrationRecord | None = None
    drift: DriftRecord | None = None  # runs before the twin design: the before phase re-run
    claims: Claims | None = None
    method: Method | None = None  # None: a run from before the twin design
    machine_load: MachineLoad | None = None  # None: a --dsn server, or an older run
    cache_fit: CacheFit | None = None  # None: --cache cold, or an older run
    wall_seconds: float | None = None
    per_index: PerIndexSection | None = None  # run --per-index (bench/results/per_index.py)

    @property
    def started(self) -> datetime | None:
        try:
            when = datetime.fromisoformat(self.started_at)
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=UTC)

    @property
    def migration_name(self) -> str:
        """How reports name the migration: 'migration 007' for a file named 007_..., else
        'migration <revision>' (or the file's stem)."""
        return migration_name(self.config.migration,
                              self.migration.revision if self.migration else None)

    @property
    def measured_workloads(self) -> list[WriteWorkload]:
        if not self.writes:
            return []
        return [w for w in self.writes.workloads if w.overhead_pct is not None]


def migration_name(file_name: str, revision: str | None = None) -> str:
    m = re.match(r"^(\d+)_", file_name)
    if m:
        return f"migration {m.group(1)}"
    stem = file_name.removesuffix(".py")
    return f"migration {revision or stem or '?'}"


# --- a scale sweep ----------------------------------------------------------------------------


class SweepQuery(Record):
    name: str
    before_median_ms: float | None
    before_ci95_ms: Interval | None
    after_median_ms: float | None
    after_ci95_ms: Interval | None
    speedup: float | None
    speedup_ci95: Interval | None
    verdict: ReadVerdict | None


class SweepCostUnit(Record):
    """Milliseconds per planner cost unit at one scale, of the plans whose root is one node
    type: each round's execution time over its root's total cost (TIMING OFF measures no
    node's own time), both phases of every shape (bench.results.estimates.cost_units)."""

    node_type: str
    plans: int  # rounds it rests on
    shapes: int
    median_ms_per_unit: float
    min_ms_per_unit: float
    max_ms_per_unit: float


class SweepRun(Record):
    scale: float
    rows: dict[str, int]
    total_rows: int | None
    complete: bool
    queries: list[SweepQuery]
    cost_units: list[SweepCostUnit] = Field(default_factory=list)  # older sweeps: none
    cost_unit_all: SweepCostUnit | None = None  # every plan of the run together


class SweepResults(Record):
    """sweep.json: one summary per scale of a scale sweep (each scale is a full run)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    scales: list[float]
    runs: list[SweepRun]
    migration_name: str = "the migration"
