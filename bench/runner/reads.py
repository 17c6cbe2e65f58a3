"""Measure reads: run the shapes on two databases side by side, round by round, under
EXPLAIN (ANALYZE, TIMING OFF, BUFFERS, FORMAT JSON), and keep what it says.

The two sides (A and B: twin databases, one of them later migrated) are measured in the same
time window: round i of a shape runs on both sides with parameter set i, one right after the
other, in ABBA order (A B, then B A, ...), so whatever the machine does meanwhile lands on both
and cancels in their ratio. Rounds also go round-robin over the shapes (round 1 of every shape,
then round 2, ...). TIMING OFF: per-node clock reads would add a cost that grows with the rows
a plan touches, so the slow plans would pay more of it than the fast ones.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import psycopg

from bench.errors import ShapeError, first_line
from bench.results.model import PlanVariant
from bench.results.stats import Looks, Stop, Summary, stop_now, stop_record, summarize
from bench.runner import plans
from bench.runner.progress import bar
from bench.runner.shapes import Shape

if TYPE_CHECKING:
    from bench.runner.round_order import RoundOrder

EXPLAIN = "EXPLAIN (ANALYZE, TIMING OFF, BUFFERS, FORMAT JSON) "
Side = Literal["A", "B"]
SIDES: tuple[Side, Side] = ("A", "B")

# Settings that move timings: fixed per session, then read back and recorded.
RECORDED_SETTINGS = [
    "server_version", "jit", "max_parallel_workers_per_gather", "work_mem", "shared_buffers",
    "effective_cache_size", "random_page_cost", "seq_page_cost", "effective_io_concurrency",
    "default_statistics_target", "enable_seqscan", "enable_indexscan", "enable_bitmapscan",
    "statement_timeout", "track_io_timing", "fsync", "synchronous_commit", "wal_level",
    "full_page_writes", "checkpoint_timeout", "max_wal_size", "autovacuum", "huge_pages",
]


@dataclass(frozen=True)
class SessionSettings:
    parallel_workers: int = 0
    statement_timeout_s: float = 30.0

    def statements(self) -> list[str]:
        return [
            # JIT compiles expressions for expensive plans only, so it would add a varying
            # compile cost to the slow "before" plans and not to the fast "after" ones.
            "SET jit = off",
            f"SET max_parallel_workers_per_gather = {int(self.parallel_workers)}",
            f"SET statement_timeout = {int(self.statement_timeout_s * 1000)}",
            "SET TIME ZONE 'UTC'",
        ]


def open_session(conninfo: str, settings: SessionSettings) -> psycopg.Connection:
    conn = psycopg.connect(conninfo, autocommit=True)
    for stmt in settings.statements():
        conn.execute(stmt)
    return conn


def read_settings(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s) ORDER BY name",
        (RECORDED_SETTINGS,),
    ).fetchall()
    return dict(rows)


@dataclass
class Round:
    param_index: int
    execution_ms: float
    planning_ms: float
    shared_hit: int
    shared_read: int
    plan_key: str
    indexes: list[str]
    plan: dict[str, Any] = field(repr=False)
    rows: int = 0  # the root node's Actual Rows (it runs once, so a whole number)


@dataclass
class PhaseResult:
    rounds: list[Round] = field(default_factory=list)
    error: str | None = None
    plain: list[float] = field(default_factory=list)  # client ms of the plain query

    @property
    def times(self) -> list[float]:
        return [r.execution_ms for r in self.rounds]

    def summary(self) -> Summary | None:
        return summarize(self.times) if self.rounds else None

    def representative(self) -> Round:
        """The round whose execution time is closest to the median."""
        summary = self.summary()
        assert summary is not None, "no rounds"
        med = summary.median
        return min(self.rounds, key=lambda r: abs(r.execution_ms - med))

    def indexes_used(self) -> list[str]:
        return sorted({ix for r in self.rounds for ix in r.indexes})

    def plan_variants(self) -> list[PlanVariant]:
        counts = self._variant_counts()
        firsts: dict[str, Round] = {}
        for r in self.rounds:
            firsts.setdefault(r.plan_key, r)
        return [
            PlanVariant(rounds=n, summary=plans.summary(firsts[key].plan["Plan"]), structure=key,
                        scans=plans.scans(firsts[key].plan["Plan"]))
            for key, n in counts
        ]

    def _variant_counts(self) -> list[tuple[str, int]]:
        return Counter(r.plan_key for r in self.rounds).most_common()

    def plan_per_round(self) -> list[int]:
        """For each round, the index of its plan in plan_variants()."""
        index = {key: i for i, (key, _n) in enumerate(self._variant_counts())}
        return [index[r.plan_key] for r in self.rounds]


def explain_once(conn: psycopg.Connection[Any], shape: Shape,
                 params: dict[str, Any]) -> dict[str, Any]:
    with conn.cursor() as cur:
        cur.execute(
            EXPLAIN + shape.driver_sql, params, prepare=False
        )
        return plans.explain_document(cur.fetchone())


def _round(index: int, doc: dict[str, Any]) -> Round:
    top = doc["Plan"]
    return Round(
        param_index=index,
        execution_ms=float(doc["Execution Time"]),
        planning_ms=float(doc.get("Planning Time", 0.0)),
        shared_hit=int(top.get("Shared Hit Blocks", 0)),
        shared_read=int(top.get("Shared Read Blocks", 0)),
        plan_key=plans.shape_key(top),
        indexes=plans.indexes_used(top),
        plan=doc,
        rows=round(float(top.get("Actual Rows", 0))),
    )


def check_shapes(conn: psycopg.Connection, shapes: list[Shape],
                 params: dict[str, list[dict[str, Any]]]) -> None:
    """Plan each shape once (no ANALYZE), so a broken query fails before any measuring."""
    for shape in shapes:
        try:
            conn.execute("EXPLAIN " + shape.driver_sql, params[shape.name][0], prepare=False)
        except psycopg.Error as exc:
            raise ShapeError(f"{shape.path}: {first_line(exc)}") from None


MIN_ROUNDS = 4  # with the time limit: at least two ABBA cycles


@dataclass
class PairedResult:
    """One shape measured on both sides; round i of each used parameter set i."""

    a: PhaseResult = field(default_factory=PhaseResult)
    b: PhaseResult = field(default_factory=PhaseResult)
    stop: Stop | None = None  # how its rounds ended (set when the phase ends)

    def side(self, name: Side) -> PhaseResult:
        return self.a if name == "A" else self.b

    @property
    def error(self) -> str | None:
        return self.a.error or self.b.error

    @property
    def rounds(self) -> int:
        return min(len(self.a.rounds), len(self.b.rounds))


@dataclass(frozen=True)
class Stopping:
    """Sequential stopping (bench.results.stats, "sequential stopping"): a shape stops at an
    early look once the interval of its ratio A/B is decisive for its verdict, i.e. contains
    none of its `cuts` (the noise band's edges, a claimed factor), and is narrow enough."""

    cuts: Mapping[str, Sequence[float]]
    extra_sd: float
    factor: float

    def looks(self, cap: int) -> Looks:
        return Looks.up_to(cap)


def order(round_index: int, shape_index: int = 0) -> tuple[Side, Side]:
    """ABBA: the side that goes first alternates from round to round (and shape to shape), so
    neither side is systematically the first after the other's caches and CPU state."""
    return ("A", "B") if (round_index + shape_index) % 2 == 0 else ("B", "A")


def _timeout(settings: SessionSettings) -> str:
    return (f"statement timeout: a round ran longer than {settings.statement_timeout_s:g} s; "
            "shape skipped")


def measure_pair(
    conninfo: dict[Side, str], shapes: list[Shape], params: dict[str, list[dict[str, Any]]], *,
    rounds: int, warmup: int, settings: SessionSettings, max_time_s: float,
    crosscheck: int = 0, cold: Callable[[], None] | None = None,
    into: dict[str, PairedResult] | None = None, progress: bool = False,
    round_order: RoundOrder | None = None,
    stopping: Stopping | None = None,
) -> dict[str, PairedResult]:
    """Warm-up rounds, then `rounds` measured rounds of every shape on both sides.

    A shape stops early, at the end of an ABBA cycle and after at least MIN_ROUNDS, once it has
    spent max_time_s in this phase (slow plans at large scales). Then `crosscheck` rounds of the
    plain query (no EXPLAIN) per side, timed by the client. With `cold` (a server restart),
    every measured query runs right after one, in a new session, and there is no warm-up.
    Results fill `into` as they are measured, so an interrupted caller keeps the rounds so far.
    With `progress`, a bar on a terminal (bench.runner.progress), updated between rounds.
    With a blocked `round_order` (twins that do not fit in shared_buffers), bench.runner.round_order
    runs the rounds in blocks per twin instead.
    With `stopping`, a shape also stops at an early look once its interval is decisive
    (Stopping); each PairedResult's `stop` says how many rounds it got and why.
    """
    if round_order is not None and round_order.blocked and cold is None:
        from bench.runner.round_order import measure_blocked

        return measure_blocked(conninfo, shapes, params, rounds=rounds, warmup=warmup,
                               settings=settings, max_time_s=max_time_s, crosscheck=crosscheck,
                               into=into, progress=progress, order=round_order)
    results = into if into is not None else {}
    results.update({s.name: PairedResult() for s in shapes})
    spent = dict.fromkeys(results, 0.0)
    ended: dict[str, str] = {}  # shape -> why its rounds ended
    if cold is not None:
        warmup = 0
    of = {s.name: min(rounds, len(params[s.name])) for s in shapes}
    looks = {name: stopping.looks(n) if stopping else Looks((n,)) for name, n in of.items()}

    def why_stop(shape: Shape, i: int) -> str | None:
        """Before round i (i rounds done): why the shape's rounds end here, if they do."""
        pair, name = results[shape.name], shape.name
        if pair.error:
            return "error"
        if i >= of[name]:
            return "round cap"
        if i >= MIN_ROUNDS and i % 2 == 0 and spent[name] >= max_time_s:
            return "time cap"
        if stopping and name in stopping.cuts and stop_now(
                pair.a.times, pair.b.times, looks[name], stopping.cuts[name],
                extra_sd=stopping.extra_sd, factor=stopping.factor):
            return "decisive"
        return None

    def active(i: int) -> list[tuple[int, Shape]]:
        for s in shapes:
            if s.name not in ended and i >= 0 and (reason := why_stop(s, i)):
                ended[s.name] = reason
        return [(k, s) for k, s in enumerate(shapes)
                if s.name not in ended and not results[s.name].error]

    def run(conn: psycopg.Connection[Any], shape: Shape, i: int) -> dict[str, Any] | None:
        try:
            return explain_once(conn, shape, params[shape.name][i])
        except psycopg.errors.QueryCanceled:
            return None
        except psycopg.Error as exc:
            raise ShapeError(f"{shape.path}: {first_line(exc)}") from None

    left = {name: warmup + n for name, n in of.items()}  # the bar's units: shape rounds
    conns = {} if cold else {side: open_session(conninfo[side], settings) for side in SIDES}
    shown = bar(sum(left.values()), "reads", progress)
    try:
        for i in range(-warmup, rounds):
            todo = active(i)
            for name in left.keys() - {s.name for _k, s in todo}:  # stopped early
                shown.shrink(left.pop(name))
            if not todo:
                break
            for k, shape in todo:
                pair = results[shape.name]
                for side in order(i, k):
                    if cold:
                        cold()
                        with open_session(conninfo[side], settings) as conn:
                            start = time.perf_counter()
                            doc = run(conn, shape, i)
                    else:
                        start = time.perf_counter()
                        doc = run(conns[side], shape, i)
                    spent[shape.name] += time.perf_counter() - start if i >= 0 else 0.0
                    if doc is None:  # the shape is skipped on both sides
                        pair.a.error = pair.b.error = _timeout(settings)
                        break
                    if i >= 0:
                        pair.side(side).rounds.append(_round(i, doc))
                left[shape.name] -= 1  # between timed statements: the bar moves on
                shown.update(f"{shape.name}, warm-up" if i < 0
                             else f"{shape.name}, round {i + 1} of {of[shape.name]}")
        for shape in shapes:
            pair = results[shape.name]
            reason = "error" if pair.error else ended.get(shape.name, "round cap")
            pair.stop = stop_record(looks[shape.name], pair.rounds, reason)
            if crosscheck and not pair.error and not cold:
                for side in SIDES:
                    pair.side(side).plain = _plain_rounds(
                        conns[side], shape, params[shape.name][:crosscheck])
    finally:
        shown.close()
        for conn in conns.values():
            conn.close()
    return results


def _plain_rounds(conn: psycopg.Connection[Any], shape: Shape,
                  param_sets: list[dict[str, Any]]) -> list[float]:
    """Client-side wall time (ms) of the plain query, rows fetched, per parameter set."""
    out = []
    for p in param_sets:
        with conn.cursor() as cur:
            start = time.perf_counter()
            cur.execute(shape.driver_sql, p, prepare=False)
            cur.fetchall()
            out.append((time.perf_counter() - start) * 1000)
    return out
