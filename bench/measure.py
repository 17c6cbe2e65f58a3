"""Run the query shapes under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) and keep what it says.

Rounds go round-robin over the shapes (round 1 of every shape, then round 2, ...) so slow drift
in the machine's state spreads evenly over shapes instead of landing on one of them.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bench import plans
from bench.errors import ShapeError
from bench.shapes import Shape
from bench.stats import Summary, summarize

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

    @property
    def times(self) -> list[float]:
        return [r.execution_ms for r in self.rounds]

    def summary(self) -> Summary | None:
        return summarize(self.times) if self.rounds else None

    def representative(self) -> Round:
        """The round whose execution time is closest to the median."""
        med = self.summary().median_ms  # type: ignore[union-attr]
        return min(self.rounds, key=lambda r: abs(r.execution_ms - med))

    def indexes_used(self) -> list[str]:
        return sorted({ix for r in self.rounds for ix in r.indexes})

    def plan_variants(self) -> list[dict[str, Any]]:
        counts = Counter(r.plan_key for r in self.rounds)
        firsts = {}
        for r in self.rounds:
            firsts.setdefault(r.plan_key, r)
        return [
            {"rounds": n, "summary": plans.summary(firsts[key].plan["Plan"]), "structure": key}
            for key, n in counts.most_common()
        ]


def explain_once(conn: psycopg.Connection, shape: Shape, params: dict[str, Any]) -> dict:
    with conn.cursor() as cur:
        cur.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + shape.driver_sql, params, prepare=False
        )
        doc = cur.fetchone()[0]  # type: ignore[index]
    return (json.loads(doc) if isinstance(doc, str) else doc)[0]


def _round(index: int, doc: dict) -> Round:
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
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ShapeError(f"{shape.path}: {msg}") from None


def measure_phase(
    conninfo: str, shapes: list[Shape], params: dict[str, list[dict[str, Any]]], *,
    warmup: int, settings: SessionSettings,
) -> dict[str, PhaseResult]:
    """Warm-up rounds, then one measured round per parameter set, for every shape."""
    results = {s.name: PhaseResult() for s in shapes}
    rounds = max(len(p) for p in params.values())
    with open_session(conninfo, settings) as conn:
        for i in range(-warmup, rounds):
            for shape in shapes:
                result = results[shape.name]
                seq = params[shape.name]
                if result.error or i >= len(seq):
                    continue
                try:
                    doc = explain_once(conn, shape, seq[i % len(seq)])
                except psycopg.errors.QueryCanceled:
                    result.error = (f"statement timeout: a round ran longer than "
                                    f"{settings.statement_timeout_s:g} s; shape skipped")
                    continue
                except psycopg.Error as exc:
                    raise ShapeError(f"{shape.path}: {str(exc).strip().splitlines()[0]}") from None
                if i >= 0:
                    result.rounds.append(_round(i, doc))
    return results
