"""The six query shapes before and after migration 007, timed by pytest-benchmark.

Each round runs the query once, plainly through psycopg (execute + fetchall, no EXPLAIN), with
the next of the shape's seeded parameter sets, in a session with the harness's settings (JIT
off, no parallel workers). Groups are per shape, so the table shows before next to after.

    make bench-pytest ARGS="--benchmark-autosave"
    make bench-pytest ARGS="--benchmark-compare --benchmark-compare-fail=median:25%"
    make bench-pytest ARGS="--benchmark-json=benchmark.json"
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from bench.runner import plans
from bench.runner.shapes import load_shapes
from benchmarks.database import PHASES, BenchDatabase
from tests.sales_agent import QUERIES_DIR

SHAPES = [s.name for s in load_shapes(QUERIES_DIR)]


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_shape(benchmark: Any, bench_db: BenchDatabase, shape: str, phase: str) -> None:
    bench_db.ensure(phase)
    s, params = bench_db.shapes[shape], bench_db.params[shape]
    sets = itertools.cycle(params)

    def next_params() -> tuple[tuple[dict[str, Any]], dict[str, Any]]:
        return (next(sets),), {}

    def query(p: dict[str, Any]) -> int:
        with bench_db.conn.cursor() as cur:
            cur.execute(s.driver_sql, p, prepare=False)
            return len(cur.fetchall())

    plan = bench_db.plan(s, params[0])
    benchmark.group = shape
    benchmark.name = f"{shape}[{phase}]"
    benchmark.extra_info.update({
        "shape": shape, "phase": phase, "scale": bench_db.config.scale,
        "seed": bench_db.config.seed, "expects_index": s.expects_index,
        "plan": plans.summary(plan), "indexes_used": plans.indexes_used(plan),
    })
    rows = benchmark.pedantic(query, setup=next_params, rounds=len(params),
                              warmup_rounds=bench_db.config.warmup)
    assert rows is None or rows >= 0
