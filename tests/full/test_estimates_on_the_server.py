"""A row estimate wrong on purpose, on the embedded PostgreSQL: two correlated columns.

In `corr`, b = a on every row and each value of a holds 1% of the rows. The planner takes
`a = 1 AND b = 1` as two independent 1% filters (0.01%: 2 of 20,000 rows) where 1% (200 rows)
match, so the scan's q-error is 100, under. With extended statistics on (a, b) it knows the
dependency and the estimate is right again.
"""

from __future__ import annotations

from pathlib import Path

from bench.report import estimates as estimate_report
from bench.report import markdown
from bench.results import store
from bench.results.model import QueryResult, RunResults
from bench.runner.provision import Target
from bench.runner.reads import SessionSettings, measure_pair
from bench.runner.records import query_record
from bench.runner.shapes import parse_shape

FIXTURES = Path(__file__).parents[1] / "fast" / "fixtures"
SHAPE = """-- report_row: Correlated columns
-- Two columns the planner takes as independent although b = a on every row.
-- param v: SELECT DISTINCT a FROM corr ORDER BY a
SELECT a, b FROM corr WHERE a = :v AND b = :v
"""


def _measure(target: Target, tmp_path: Path) -> QueryResult:
    path = tmp_path / "correlated.sql"
    path.write_text(SHAPE)
    shape = parse_shape(path)
    params = [{"v": 1}, {"v": 2}, {"v": 3}, {"v": 4}]
    pairs = measure_pair({"A": target.conninfo, "B": target.conninfo}, [shape],
                         {shape.name: params}, rounds=4, warmup=1,
                         settings=SessionSettings(), max_time_s=10)
    return query_record(shape, params, None, pairs[shape.name])


def _results(q: QueryResult) -> RunResults:
    results = store.load(FIXTURES / "small1.results.json")
    results.queries = [q]
    # a round trip through results.json keeps every node
    return RunResults.model_validate_json(results.model_dump_json(by_alias=True))


def test_correlated_columns_get_a_flagged_q_error(scratch_db: Target, tmp_path: Path) -> None:
    with scratch_db.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE corr (a int NOT NULL, b int NOT NULL)")
        conn.execute("INSERT INTO corr SELECT i % 100, i % 100 FROM generate_series(1, 20000) i")
        conn.execute("ANALYZE corr")
    q = _measure(scratch_db, tmp_path)
    assert q.before and q.before.estimate and q.before.rows_per_round == [200] * 4
    assert q.before.plan_rows_per_round and q.before.total_cost_per_round
    worst = q.before.estimate.worst
    assert worst is not None and worst.node == "Seq Scan on corr"
    assert worst.plan_rows < 10 and worst.actual_rows == 200
    assert worst.q_error is not None and worst.q_error > 10
    assert worst.direction == "under" and worst.flag in ("10x", "100x")
    assert q.estimate is not None and q.estimate.estimated_speedup == 1.0  # same plan both sides

    results = _results(q)
    loaded = results.queries[0]
    assert loaded.before and loaded.before.estimate
    assert loaded.before.estimate.nodes == q.before.estimate.nodes
    section = "\n".join(estimate_report.section(results, []))
    # the shape's rows: its costs and factors, then its worst row estimates
    cost_row, row = [line for line in section.splitlines() if line.startswith("| `correlated`")]
    assert "| 1.00x |" in cost_row
    assert "`Seq Scan on corr`" in row and "actual rows per loop" in row and "🚩" in row
    assert "under" in row
    text = markdown.render(results, [])
    assert "row estimate off: `Seq Scan on corr`" in text

    # With the dependency known, the same query is estimated right: no flag.
    with scratch_db.connect(autocommit=True) as conn:
        conn.execute("CREATE STATISTICS corr_ab (dependencies) ON a, b FROM corr")
        conn.execute("ANALYZE corr")
    fixed = _measure(scratch_db, tmp_path)
    assert fixed.before and fixed.before.estimate and fixed.before.estimate.worst
    assert fixed.before.estimate.worst.q_error is not None
    assert fixed.before.estimate.worst.q_error < 2
    assert not any(n.flag for n in fixed.before.estimate.nodes)
