"""The records of per-index attribution (results.json key `per_index`, `run --per-index`).

Which of a migration's indexes pay for themselves: for every index, what each query shape
loses without it (leave-one-out: the migrated state minus that index) and gains with it alone
(add-one: the unmigrated state plus that index), what it adds to the write workloads of its
table, both weighed with the workload mix into time per second, and a verdict; relations
between indexes; and the smallest set that keeps the shapes' read benefit, measured end to end.

Units as in the rest of results.json: `_ms` per call, `_us_per_row`, `_ms_per_s` (milliseconds
of server time per second of the app's traffic under the mix), `_pct`, `_bytes`, `_seconds`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bench.results.mix import WorkloadMix
from bench.results.model import (
    DiskSection,
    Interval,
    MigrationRecord,
    QueryResult,
    Rounds,
    WriteWorkload,
)
from bench.results.record import Record

IndexVerdict = Literal["keep", "drop", "inconclusive", "unused"]
RelationKind = Literal["covered", "drop_candidate", "low_cardinality", "substitute",
                       "slower_alone"]
AdvisorDecision = Literal["add", "reject"]
# Where a cost-based advisor and the measurement part ways ("" where they agree or the
# measurement is inconclusive): it would add an index that no plan uses, or one that costs more
# than it saves (verdict drop) or makes the shape it was added for slower; or it would reject
# one whose verdict is keep.
AdvisorDisagreement = Literal["", "adds_unused", "adds_harmful", "rejects_paying"]


class EstimatedEffect(Record):
    """The planner's side of a ReadEffect: plain EXPLAIN (no ANALYZE) of the rounds' parameter
    sets in the same two index states (the real index, built), bench/results/advisor.py.

    `ratio` is the median over the rounds of cost without / cost with (> 1: the planner expects
    the index to save), `saved_pct` the share of the cost it saves, 100 * (1 - 1 / ratio); the
    costs are the per-round medians. `hypo_*`: the same with a HypoPG hypothetical index in
    place of the real one (add-one only, where the server has HypoPG).
    """

    rounds: int
    cost_without: float
    cost_with: float
    ratio: float | None
    saved_pct: float | None
    hypo_cost_with: float | None = None
    hypo_ratio: float | None = None
    hypo_saved_pct: float | None = None


class AdvisorCall(Record):
    """What a cost-based advisor would have decided for one index, beside the verdict.

    Dexter's rule (its defaults --min-cost-savings-pct 50, --min-cost 100): suggest the index
    when, added alone to the database as it was before the migration, the estimated total cost
    of some shape falls below half (new < 0.5 x initial) while that plan uses the index, the
    shape's initial cost being at least 100. `shape` is the shape that decides it (the one with
    the largest estimated add-one ratio among those eligible).
    """

    rule: str = "dexter: estimated cost < 50% with the index alone, initial cost >= 100"
    decision: AdvisorDecision
    shape: str | None = None
    estimated_ratio: float | None = None
    estimated_saved_pct: float | None = None
    measured_factor: float | None = None  # add-one, on `shape`
    measured_saved_pct: float | None = None
    verdict: IndexVerdict
    disagreement: AdvisorDisagreement = ""
    text: str = ""


class ReadEffect(Record):
    """What one index does to one shape, in one comparison (leave-one-out or add-one).

    `plans_changed` of `param_sets` distinct parameter sets got another plan; when none did,
    the effect is exactly zero and nothing was timed (rounds == 0).
    """

    shape: str
    plans_changed: int
    param_sets: int
    rounds: int = 0
    saved_ms: float = 0.0  # mean time per call the index saves (negative: slower with it)
    saved_ci95: Interval | None = None
    factor: float | None = None  # typical per-round ratio, time without / time with
    factor_ci95: Interval | None = None
    uses: list[str] = Field(default_factory=list)  # indexes the plans use with the index
    estimate: EstimatedEffect | None = None  # the planner's cost ratio, same states


class WriteEffect(Record):
    """What one index (or a set of them) adds to a write workload of its table, per row."""

    workload: str
    rounds: int
    without_us_per_row: float  # the table without any of the migration's indexes
    added_us_per_row: float  # server time (client time for COPY) the index adds per row
    added_ci95: Interval
    added_wal_bytes_per_row: float
    added_wal_records_per_row: float | None = None  # COPY has no per-statement count
    hot_pct_without: float | None = None  # updates: share of HOT updates without / with it
    hot_pct_with: float | None = None
    stopped: Rounds | None = None  # how the workload's rounds ended (sequential stopping)


class IndexAttribution(Record):
    """One index of the migration: its plans, read benefit, write cost, net and verdict.

    Two nets: with the read time it saves alone (add-one) and with what the migration loses
    without it (leave-one-out), each minus the write time it adds (measured alone). keep: one
    of them is above zero with its whole interval (it pays for itself, alone or within the
    migration); drop: both are below zero; inconclusive otherwise; unused: no plan uses it.
    """

    name: str
    table: str
    definition: str
    size_bytes: int | None = None
    build_seconds: float | None = None
    used_in: list[str] = Field(default_factory=list)  # "fk_join: after", "...: alone"
    leave_one_out: list[ReadEffect] = Field(default_factory=list)
    add_one: list[ReadEffect] = Field(default_factory=list)
    writes: list[WriteEffect] = Field(default_factory=list)
    read_saved_ms_per_s: float = 0.0  # add-one, weighed with the mix's calls per second
    read_saved_ci95: Interval = (0.0, 0.0)
    loo_read_saved_ms_per_s: float = 0.0  # the same for leave-one-out
    loo_read_saved_ci95: Interval = (0.0, 0.0)
    write_added_ms_per_s: float = 0.0  # weighed with the mix's rows per second
    write_added_ci95: Interval = (0.0, 0.0)
    net_ms_per_s: float = 0.0  # read saved alone (add-one) - write added
    net_ci95: Interval = (0.0, 0.0)
    loo_net_ms_per_s: float = 0.0  # read saved with the rest of the migration - write added
    loo_net_ci95: Interval = (0.0, 0.0)
    verdict: IndexVerdict
    verdict_text: str = ""
    in_recommended_set: bool = False
    advisor: AdvisorCall | None = None  # what Dexter's 50% rule would have decided
    hypo_size_bytes: int | None = None  # HypoPG's size estimate of it (hypopg_relation_size)


class Relation(Record):
    """How an index relates to others, or to its data, with what was measured about it."""

    kind: RelationKind
    index: str
    other: str | None = None
    text: str  # one sentence, figures included


class ShapeBenefit(Record):
    """One shape in the per-index block: mean time per call without any of the migration's
    indexes and with all of them, side by side (the reference the 95% rule keeps)."""

    shape: str
    calls_per_s: float
    rounds: int
    param_sets: int
    none_ms: float  # mean per call, none of the migration's indexes
    all_ms: float  # mean per call, all of them
    saved_ms: float
    saved_ci95: Interval
    aa_ms: float | None = None  # the A/A control: the "all" state timed twice, mean difference
    aa_ci95: Interval | None = None
    stopped: Rounds | None = None  # how the shape's rounds ended (sequential stopping)


class RecommendedSet(Record):
    """The smallest subset of the migration's indexes that keeps >= `keep_pct` of every
    shape's read benefit, applied to a third twin and measured there like the migration.

    A shape whose plan there equals the migrated twin's for every parameter set of its rounds
    (`shapes_as_migration`) runs there as it ran on the migrated twin, and keeps the
    migration's read figures (not timed again); `queries` holds the shapes timed against the
    unmigrated twin, `writes` every write workload.
    """

    keep_pct: float = 95.0
    indexes: list[str]
    drop_existing: list[str] = Field(default_factory=list)  # made redundant by the set
    kept_pct: dict[str, float] = Field(default_factory=dict)  # per shape, per-index block
    notes: list[str] = Field(default_factory=list)  # why an index stayed or went
    revision_file: str = ""
    sql_file: str = ""
    migration: MigrationRecord | None = None
    disk: DiskSection | None = None
    dropped_bytes: int = 0  # existing indexes the set drops
    queries: list[QueryResult] = Field(default_factory=list)  # before = unmigrated twin
    writes: list[WriteWorkload] = Field(default_factory=list)
    shapes_as_migration: list[str] = Field(default_factory=list)  # the same plans
    seconds: float | None = None

    def query(self, name: str, migration: list[QueryResult]) -> QueryResult | None:
        """The set's figure for a shape: measured, or the migration's (the same plans)."""
        source = migration if name in self.shapes_as_migration else self.queries
        return next((q for q in source if q.name == name), None)


class PerIndexSection(Record):
    """results.json key `per_index`: present when the run was made with --per-index."""

    mix: WorkloadMix
    method: str = ""
    read_rounds: int = 0
    write_rounds: int = 0
    seconds: float = 0.0  # wall time of the whole feature (attribution, set, end to end)
    shapes: list[ShapeBenefit] = Field(default_factory=list)
    write_aa: list[WriteEffect] = Field(default_factory=list)  # "none" vs "none": noise floor
    write_all: list[WriteEffect] = Field(default_factory=list)  # all of a table's indexes
    indexes: list[IndexAttribution] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)
    recommended: RecommendedSet | None = None
    # HypoPG beside the real indexes: its version where the server has it, else "" and why not.
    hypopg_version: str = ""
    hypopg_note: str = ""

    def index(self, name: str) -> IndexAttribution | None:
        return next((i for i in self.indexes if i.name == name), None)
