"""Measure reads: run the shapes under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), keep what it says.

Rounds go round-robin over the shapes (round 1 of every shape, then round 2, ...) so slow drift
in the machine's state spreads evenly over shapes instead of landing on one of them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bench.errors import ShapeError, first_line
from bench.results.model import PlanVariant
from bench.results.stats import Summary, relative_halfwidth, summarize
from bench.runner import plans
from bench.runner.shapes import Shape

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
        counts = Counter(r.plan_key for r in self.rounds)
        firsts: dict[str, Round] = {}
        for r in self.rounds:
            firsts.setdefault(r.plan_key, r)
        return [
            PlanVariant(rounds=n, summary=plans.summary(firsts[key].plan["Plan"]), structure=key)
            for key, n in counts.most_common()
        ]


def explain_once(conn: psycopg.Connection[Any], shape: Shape,
                 params: dict[str, Any]) -> dict[str, Any]:
    with conn.cursor() as cur:
        cur.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + shape.driver_sql, params, prepare=False
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
    )


def check_shapes(conn: psycopg.Connection, shapes: list[Shape],
                 params: dict[str, list[dict[str, Any]]]) -> None:
    """Plan each shape once (no ANALYZE), so a broken query fails before any measuring."""
    for shape in shapes:
        try:
            conn.execute("EXPLAIN " + shape.driver_sql, params[shape.name][0], prepare=False)
        except psycopg.Error as exc:
            raise ShapeError(f"{shape.path}: {first_line(exc)}") from None


@dataclass(frozen=True)
class RoundPolicy:
    """How many measured rounds a shape gets in a phase.

    Adaptive (the default, as pytest-benchmark and hyperfine calibrate): at least min_rounds,
    then stop once the median's 95% interval is within +-target of the median, or when the
    shape has used max_time_s of this phase, or at max_rounds. `fixed` overrides all of it.
    """

    min_rounds: int = 10
    max_rounds: int = 100
    max_time_s: float = 2.0
    target: float = 0.05
    fixed: int | None = None

    def done(self, times: list[float], elapsed_s: float) -> bool:
        n = len(times)
        if self.fixed is not None:
            return n >= self.fixed
        if n >= self.max_rounds:
            return True
        if elapsed_s >= self.max_time_s and n >= MIN_ROUNDS_FOR_SPREAD:
            return True
        return n >= self.min_rounds and relative_halfwidth(times) <= self.target


MIN_ROUNDS_FOR_SPREAD = 5


def measure_phase(
    conninfo: str, shapes: list[Shape], params: dict[str, list[dict[str, Any]]], *,
    warmup: int, settings: SessionSettings, policy: dict[str, RoundPolicy],
    crosscheck: int = 0, cold: Callable[[], None] | None = None,
    into: dict[str, PhaseResult] | None = None,
) -> dict[str, PhaseResult]:
    """Warm-up rounds, then measured rounds until each shape's policy is satisfied.

    Round i of a shape always uses parameter set i, so phases pair up round by round.
    Then `crosscheck` rounds of the plain query (no EXPLAIN), timed by the client.
    With `cold` (a server restart), every measured round runs right after one, in a new
    session, and there are no warm-up rounds. Results fill `into` as they are measured, so a
    caller that is interrupted keeps the rounds taken so far.
    """
    results = into if into is not None else {}
    results.update({s.name: PhaseResult() for s in shapes})
    if cold is not None:
        return _measure_cold(conninfo, shapes, params, settings, policy, cold, results)
    spent = dict.fromkeys(results, 0.0)
    with open_session(conninfo, settings) as conn:
        for i in range(-warmup, max(len(p) for p in params.values())):
            active = [s for s in shapes if not results[s.name].error and (
                i < 0 or not policy[s.name].done(results[s.name].times, spent[s.name]))]
            if not active:
                break
            for shape in active:
                result = results[shape.name]
                seq = params[shape.name]
                if i >= len(seq):
                    continue
                start = time.perf_counter()
                try:
                    doc = explain_once(conn, shape, seq[i % len(seq)])
                except psycopg.errors.QueryCanceled:
                    result.error = (f"statement timeout: a round ran longer than "
                                    f"{settings.statement_timeout_s:g} s; shape skipped")
                    continue
                except psycopg.Error as exc:
                    raise ShapeError(f"{shape.path}: {first_line(exc)}") from None
                if i >= 0:
                    spent[shape.name] += time.perf_counter() - start
                    result.rounds.append(_round(i, doc))
        for shape in shapes:
            result = results[shape.name]
            if not result.error:
                result.plain = _plain_rounds(conn, shape, params[shape.name][:crosscheck])
    return results


def _measure_cold(
    conninfo: str, shapes: list[Shape], params: dict[str, list[dict[str, Any]]],
    settings: SessionSettings, policy: dict[str, RoundPolicy], restart: Callable[[], None],
    results: dict[str, PhaseResult],
) -> dict[str, PhaseResult]:
    i = 0
    while True:
        active = [s for s in shapes if not results[s.name].error
                  and not policy[s.name].done(results[s.name].times, 0.0)]
        if not active:
            return results
        for shape in active:
            restart()
            with open_session(conninfo, settings) as conn:
                try:
                    doc = explain_once(conn, shape, params[shape.name][i % len(params[shape.name])])
                except psycopg.errors.QueryCanceled:
                    results[shape.name].error = (
                        f"statement timeout: a round ran longer than "
                        f"{settings.statement_timeout_s:g} s; shape skipped")
                    continue
            results[shape.name].rounds.append(_round(i, doc))
        i += 1


def _plain_rounds(conn: psycopg.Connection, shape: Shape,
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
