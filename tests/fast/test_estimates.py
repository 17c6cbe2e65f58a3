"""The planner's estimates against the measurement: hand-computed values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.results import estimates, store
from bench.results.model import PlanVariant, QueryPhase, QueryResult, RunResults

FIXTURES = Path(__file__).parent / "fixtures"


def _node(kind: str, plan_rows: float, actual: float, loops: int = 1, cost: float = 10.0,
          children: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"Node Type": kind, "Startup Cost": 0.5, "Total Cost": cost,
                            "Plan Rows": plan_rows, "Actual Rows": actual,
                            "Actual Loops": loops, **extra}
    if children:
        node["Plans"] = children
    return node


def test_q_error_is_the_larger_ratio_with_its_direction() -> None:
    assert estimates.q_error(100, 4) == (25.0, "over")
    assert estimates.q_error(1, 250) == (250.0, "under")
    assert estimates.q_error(7, 7.0) == (1.0, "exact")
    # both count as at least one row: 0 returned against 1 estimated is no error
    assert estimates.q_error(1, 0) == (1.0, "exact")
    assert estimates.q_error(50, 0.5) == (50.0, "over")


@pytest.mark.parametrize(("q", "expected"), [
    (None, ""), (1.0, ""), (9.99, ""), (10.0, "10x"), (99.9, "10x"), (100.0, "100x"),
    (999.0, "100x"), (1000.0, "1000x"), (1e6, "1000x")])
def test_flags_at_10_100_1000(q: float | None, expected: str) -> None:
    assert estimates.flag(q) == expected


def test_nodes_per_loop_positions_labels_and_the_worst() -> None:
    # A nested loop: 3 outer rows estimated, 40 seen (13.3x under); the inner index scan runs
    # 40 times, 2 rows per loop estimated and 2.5 seen (1.25x under); a node never run.
    plan = {"Plan": _node("Nested Loop", 6, 100, cost=80.0, children=[
        _node("Seq Scan", 3, 40, **{"Relation Name": "a"}),
        _node("Index Scan", 2, 2.5, loops=40, **{"Index Name": "ix_b", "Relation Name": "b"}),
        _node("Seq Scan", 5, 0, loops=0, **{"Relation Name": "c"}),
    ]), "Planning Time": 0.2, "Execution Time": 4.0}
    est = estimates.plan_estimate(plan)
    assert est is not None
    assert [n.position for n in est.nodes] == ["0", "0.0", "0.1", "0.2"]
    assert [n.node for n in est.nodes] == ["Nested Loop", "Seq Scan on a",
                                           "Index Scan using ix_b on b", "Seq Scan on c"]
    root, outer, inner, never = est.nodes
    assert root.q_error == pytest.approx(100 / 6) and root.direction == "under"
    assert root.flag == "10x"
    assert outer.q_error == pytest.approx(40 / 3) and outer.flag == "10x"
    assert inner.q_error == pytest.approx(1.25) and inner.loops == 40 and inner.flag == ""
    assert never.q_error is None and never.actual_rows is None and never.direction is None
    assert est.worst == root  # 16.7x beats 13.3x
    assert est.total_cost == 80.0 and est.ms_per_cost_unit == pytest.approx(4.0 / 80)
    assert est.planning_ms == 0.2 and est.root_node_type == "Nested Loop"
    assert estimates.plan_estimate(None) is None
    assert estimates.plan_estimate({"Plan": {"Node Type": "Result"}}) is None


def test_the_worst_of_equal_nodes_is_the_first() -> None:
    plan = {"Plan": _node("Append", 1, 20, children=[_node("Seq Scan", 1, 20)])}
    est = estimates.plan_estimate(plan)
    assert est is not None and est.worst is not None and est.worst.position == "0"


def _phase(costs: list[float], times: list[float], structure: str = "Sort > Seq Scan(t)",
           plan_cost: float = 1.0) -> QueryPhase:
    plan = {"Plan": _node(structure.split(" ")[0], 1, 1, cost=plan_cost),
            "Execution Time": times[0], "Planning Time": 0.1}
    return QueryPhase(rounds=len(times), median_ms=sorted(times)[len(times) // 2],
                      times_ms=times, total_cost_per_round=costs, planning_median_ms=0.1,
                      plan_variants=[PlanVariant(rounds=len(times), summary="",
                                                 structure=structure)],
                      plan_per_round=[0] * len(times), plan=plan)


def test_estimated_speedup_is_the_median_of_per_round_cost_ratios() -> None:
    before = _phase([1000.0, 2000.0, 4000.0], [10.0, 20.0, 40.0])
    after = _phase([100.0, 100.0, 100.0, 50.0], [0.1, 0.1, 0.1, 0.1])
    est = estimates.shape_estimate(before, after, measured_speedup=200.0)
    assert est is not None
    # ratios 10, 20, 40 over the three rounds both measured: median 20
    assert est.estimated_speedup == 20.0 and est.rounds == 3
    assert est.cost_before == 2000.0 and est.cost_after == 100.0
    assert est.measured_over_estimated == 10.0  # measured 200x, estimated 20x


def test_without_per_round_costs_the_kept_plans_are_used() -> None:
    before = _phase([], [10.0], plan_cost=500.0)
    after = _phase([], [1.0], plan_cost=20.0)
    est = estimates.shape_estimate(before, after, measured_speedup=None)
    assert est is not None and est.rounds == 0
    assert est.estimated_speedup == 25.0 and est.measured_over_estimated is None
    assert estimates.shape_estimate(before, None, 2.0) is None


def test_ms_per_cost_unit_by_root_node_type() -> None:
    q1 = QueryResult(name="a", before=_phase([100.0, 200.0], [1.0, 1.0], "Sort > Seq Scan(t)"),
                     after=_phase([10.0, 10.0], [0.05, 0.03], "Limit > Index Scan(ix)"))
    q2 = QueryResult(name="b", before=_phase([1000.0], [3.0], "Sort > Hash Join"))
    rows = estimates.cost_units(_run([q1, q2]))
    by = {r.node_type: r for r in rows}
    # Sort: 1/100 = 0.01, 1/200 = 0.005, 3/1000 = 0.003 -> median 0.005
    assert by["Sort"].plans == 3 and by["Sort"].shapes == 2
    assert by["Sort"].median_ms_per_unit == pytest.approx(0.005)
    assert by["Sort"].min_ms_per_unit == pytest.approx(0.003)
    assert by["Limit"].median_ms_per_unit == pytest.approx(0.004)  # 0.005 and 0.003
    assert [r.node_type for r in rows] == ["Sort", "Limit"]


def _run(queries: list[QueryResult]) -> RunResults:
    results = store.load(FIXTURES / "small1.results.json")
    results.queries = queries
    return results


def test_old_results_get_estimates_from_their_kept_plans() -> None:
    results = store.load(FIXTURES / "scale1.results.json")
    q = next(q for q in results.queries if q.name == "composite_filter_sort")
    assert q.estimate is None and q.before and q.before.estimate is None
    est = estimates.for_query(q)
    assert est is not None and est.rounds == 0
    assert q.before.plan and q.after and q.after.plan
    cost_b = q.before.plan["Plan"]["Total Cost"]
    cost_a = q.after.plan["Plan"]["Total Cost"]
    assert est.estimated_speedup == pytest.approx(cost_b / cost_a)
    assert est.measured_over_estimated == pytest.approx(q.speedup / (cost_b / cost_a))
    phase = estimates.for_phase(q.before)
    assert phase is not None and phase.worst is not None and phase.nodes


def test_nodes_a_limit_stopped_are_not_overestimates() -> None:
    # Limit 50 > Sort (stopped after 50 of 7,667) > Seq Scan (all 7,700 of 7,667 read);
    # Limit 50 > Index Scan (stopped after 50 of 24,067): fewer rows by design, not flagged;
    # an underestimate below a Limit still counts.
    sort = {"Plan": _node("Limit", 50, 50, children=[
        _node("Sort", 7667, 50, children=[_node("Seq Scan", 7667, 7700)])])}
    est = estimates.plan_estimate(sort)
    assert est is not None
    assert [n.stopped_early for n in est.nodes] == [False, True, False]
    assert est.nodes[1].q_error == pytest.approx(7667 / 50) and est.nodes[1].flag == ""
    assert est.worst is not None and est.worst.node_type == "Seq Scan"
    scan = {"Plan": _node("Limit", 50, 50, children=[
        _node("Nested Loop", 24067, 50, children=[_node("Index Scan", 24067, 50),
                                                  _node("Index Scan", 1, 30, loops=50)])])}
    est = estimates.plan_estimate(scan)
    assert est is not None and [n.stopped_early for n in est.nodes] == [False, True, True, True]
    assert [n.flag for n in est.nodes] == ["", "", "", "10x"]
    assert est.worst is not None and est.worst.position == "0.0.1"  # 30x under
    agg = {"Plan": _node("Limit", 1, 1, children=[
        _node("Aggregate", 1, 1, Strategy="Plain", children=[_node("Seq Scan", 5000, 20)])])}
    est = estimates.plan_estimate(agg)
    assert est is not None and est.nodes[2].flag == "100x" and not est.nodes[2].stopped_early


def test_the_chart_has_one_point_per_shape(tmp_path: Path) -> None:
    from bench.report import estimate_charts

    results = store.load(FIXTURES / "scale1.results.json")
    pts = estimate_charts.points(results)
    assert [p[0] for p in pts] == [q.name for q in results.queries]
    assert estimate_charts.draw(results, tmp_path / "e.png")
    assert (tmp_path / "e.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results.queries = []
    assert not estimate_charts.draw(results, tmp_path / "none.png")
