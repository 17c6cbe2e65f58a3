"""Small synthetic runs, typed like a real run's results, for compare/trend tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.results import store
from bench.results.model import (
    ClaimedRead,
    Environment,
    QueryPhase,
    QueryResult,
    RunResults,
    RunSettings,
    ServerInfo,
    WritePhase,
    WriteSection,
    WriteWorkload,
)

SHAPES = ["fk_join", "timestamp_range", "composite_filter_sort", "simple_where",
          "platform_timeline", "top_contacts_per_company"]


def samples(median: float, n: int = 20, spread: float = 0.03, seed: int = 0) -> list[float]:
    """n timings around `median` with a few percent of noise, deterministic per seed."""
    rng = np.random.default_rng(seed)
    return [round(float(x), 4) for x in median * (1 + rng.normal(0, spread, n))]


def phase(times: list[float] | None, indexes: list[str] | None = None,
          error: str | None = None) -> QueryPhase:
    if not times:
        return QueryPhase(error=error)
    x = np.asarray(times)
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return QueryPhase(rounds=len(times), median_ms=float(med), q1_ms=float(q1), q3_ms=float(q3),
                      min_ms=float(x.min()), max_ms=float(x.max()), p95_ms=float(x.max()),
                      indexes_used=indexes or [], plan_summary="Index Scan", plan={},
                      times_ms=times, error=error)


def query(name: str, before: list[float], after: list[float] | None,
          error: str | None = None) -> QueryResult:
    ix = f"ix_{name}"
    b, a = phase(before), phase(after, [ix], error)
    speedup = b.median_ms / a.median_ms if b.median_ms and a.median_ms else None
    return QueryResult(
        name=name, report_row=name, file=f"{name}.sql", sql="SELECT 1", expects_index=ix,
        claimed=ClaimedRead(before_ms=100.0, after_ms=5.0, factor=20.0), before=b, after=a,
        speedup=speedup, speedup_ci95=(speedup * 0.9, speedup * 1.1) if speedup else None,
        verdict="faster" if speedup else "error")


def _write_phase(times: list[float]) -> WritePhase:
    med = float(np.median(times))
    return WritePhase(rounds=len(times), median_us_per_row=med, p95_us_per_row=max(times),
                      min_us_per_row=min(times), q1_us_per_row=med, q3_us_per_row=med, cv=0.03,
                      times_us_per_row=times, wall_us_per_row=med * 3, wal_bytes_per_row=100.0)


def workload(name: str, before: list[float], after: list[float]) -> WriteWorkload:
    b, a = _write_phase(before), _write_phase(after)
    operation, table = name.split(":")
    assert operation in ("insert", "copy", "update")
    return WriteWorkload(name=name, table=table, operation=operation, before=b, after=a,
                         overhead_pct=(a.median_us_per_row / b.median_us_per_row - 1) * 100,
                         overhead_ci95=(0.0, 10.0), claimed_pct=(3.0, 5.0))


def results_doc(after_ms: dict[str, float] | None = None, *, seed: int = 0,
                started_at: str = "2026-11-20T03:17:00+00:00", scale: float = 0.05,
                commit: str = "a" * 40, writes: dict[str, float] | None = None,
                errors: dict[str, str] | None = None,
                write_cost: dict[str, float] | None = None) -> RunResults:
    """A complete run: every shape 2 ms before and `after_ms[name]` (default 0.5 ms) after,
    20 rounds each; `writes` maps workload name -> µs per row after, `write_cost` (default
    1.05) the cost ratio after / before per row."""
    write_cost = write_cost or {}
    after_ms = after_ms or {}
    errors = errors or {}
    queries = []
    for i, name in enumerate(SHAPES):
        after = None if name in errors else samples(after_ms.get(name, 0.5), seed=seed * 100 + i)
        queries.append(query(name, samples(2.0, seed=seed * 100 + 50 + i), after,
                             errors.get(name)))
    results = RunResults(
        started_at=started_at, complete=True, wall_seconds=10.0,
        environment=Environment(harness_version="0.1.0", git_commit=commit, git_dirty=False,
                                python="3.11", cpu_count=2, cpu_model="test cpu"),
        config=RunSettings(scale=scale, seed=42, rounds=20, warmup=2, parallel_workers=0,
                           shapes=SHAPES, migration="007_add_comprehensive_database_indexes.py"),
        server=ServerInfo(source="embedded", database="test",
                          settings={"server_version": "18.0"}),
        queries=queries,
    )
    if writes is not None:
        results.writes = WriteSection(
            rows_per_round=50, rows_per_transaction=10, copy_rows_per_round=5000, rounds=20,
            warmup=2, active_set_rows=500,
            workloads=[workload(name, samples(us / write_cost.get(name, 1.05),
                                              seed=seed * 100 + 80 + i),
                                samples(us, seed=seed * 100 + 90 + i))
                       for i, (name, us) in enumerate(writes.items())])
    return results


def save(results: RunResults, folder: Path) -> Path:
    return store.save_results(results, folder)


ABBA_TIMES = ["2026-11-20T03:17:00+00:00", "2026-11-20T03:18:00+00:00",
              "2026-11-20T03:19:00+00:00", "2026-11-20T03:20:00+00:00"]


def abba(base: dict[str, Any] | None = None, new: dict[str, Any] | None = None,
         ) -> tuple[list[RunResults], list[RunResults]]:
    """Two runs per side, interleaved in time as the PR job makes them: base, new, new, base.
    `base` and `new` are keyword arguments of results_doc for that side's runs."""
    b, n = base or {}, new or {}
    return ([results_doc(**b, seed=1, started_at=ABBA_TIMES[0]),
             results_doc(**b, seed=3, started_at=ABBA_TIMES[3])],
            [results_doc(**n, seed=2, started_at=ABBA_TIMES[1]),
             results_doc(**n, seed=4, started_at=ABBA_TIMES[2])])
