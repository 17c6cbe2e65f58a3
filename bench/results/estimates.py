"""What the planner predicted next to what was measured: pure arithmetic on kept plans.

Every plan the harness keeps is an `EXPLAIN (ANALYZE, TIMING OFF, BUFFERS, FORMAT JSON)`
document: each node has the planner's estimates ("Startup Cost", "Total Cost", "Plan Rows") and
what happened ("Actual Rows", "Actual Loops"); TIMING OFF leaves out per-node times, so only the
whole plan's execution time can be set against its cost.

- **Estimated speedup** of a shape: the root's total cost before / after, per paired round
  (round i ran parameter set i on both sides), and the median of those ratios; the measured
  speedup is the run's own (QueryResult.speedup). Their ratio, measured / estimated, says how far
  a cost-based advisor would have misjudged the change (> 1: the indexes paid more than the
  planner thought).
- **q-error** of a node: max(est/act, act/est) of the rows per loop ("Plan Rows" is per loop,
  and so is "Actual Rows"), both taken as at least one row (the planner never estimates fewer),
  with its direction (over: more rows estimated than returned). Flagged at 10x, 100x and 1000x as
  pev2 and explain.depesz.com flag it. A node that never ran (loops 0) has no q-error; a node
  below a Limit that was stopped once the Limit had its rows (no Sort or Hash between them)
  returns fewer rows than estimated by design, so that "over" is neither flagged nor the worst.
- **Milliseconds per cost unit**: a plan's execution time over its root's total cost, grouped
  by the root's node type (per-node times are not measured).

Old results.json files keep their plans but not these fields; `for_query` and `for_phase`
compute them from the kept plans then, so older runs get the same sections.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from bench.results.model import (
    MisestimateFlag,
    NodeEstimate,
    PlanEstimate,
    QueryPhase,
    QueryResult,
    RunResults,
    ShapeEstimate,
)
from bench.results.per_index import PerIndexSection

FLAGS: tuple[tuple[float, MisestimateFlag], ...] = ((1000.0, "1000x"), (100.0, "100x"),
                                                    (10.0, "10x"))
Direction = Literal["over", "under", "exact"]


def q_error(plan_rows: float, actual_rows: float) -> tuple[float, Direction]:
    """max(est/act, act/est) with both at least 1 row, and whether the estimate was over."""
    est, act = max(float(plan_rows), 1.0), max(float(actual_rows), 1.0)
    if est == act:
        return 1.0, "exact"
    return (est / act, "over") if est > act else (act / est, "under")


def flag(q: float | None) -> MisestimateFlag:
    """'10x', '100x' or '1000x' from the q-error it reaches; '' below 10."""
    if q is None:
        return ""
    for threshold, name in FLAGS:
        if q >= threshold:
            return name
    return ""


def ratio(numer: float | None, denom: float | None) -> float | None:
    if numer is None or denom is None or denom <= 0 or numer <= 0:
        return None
    return numer / denom


def median_ratio(numer: list[float], denom: list[float]) -> float | None:
    """The median of numer[i] / denom[i] over the pairs both have (non-positive ones skipped)."""
    ratios = [n / d for n, d in zip(numer, denom, strict=False) if n > 0 and d > 0]
    return statistics.median(ratios) if ratios else None


# Nodes that read all their input before returning a row: below them, a Limit stops nothing.
BLOCKING = frozenset({"Sort", "Hash", "SetOp"})


def _reads_all(node: dict[str, Any]) -> bool:
    kind = node.get("Node Type")
    if kind == "Aggregate":
        return node.get("Strategy") in ("Plain", "Hashed")
    return kind in BLOCKING


def _walk(node: dict[str, Any], position: str = "0", limited: bool = False
          ) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(position, node, stopped early by a Limit above it) in plan order."""
    yield position, node, limited
    below = True if node.get("Node Type") == "Limit" else limited and not _reads_all(node)
    for i, child in enumerate(node.get("Plans", [])):
        yield from _walk(child, f"{position}.{i}", below)


def node_label(node: dict[str, Any]) -> str:
    """'Index Scan using ix_a on t', 'Bitmap Index Scan using ix_a', 'Seq Scan on t', 'Sort'."""
    kind = str(node.get("Node Type", "?"))
    if "Index Name" in node:
        kind += f" using {node['Index Name']}"
    if "Relation Name" in node:
        kind += f" on {node['Relation Name']}"
    return kind


def node_estimates(root: dict[str, Any]) -> list[NodeEstimate]:
    """Every node of a plan, in plan order, with its q-error."""
    out = []
    for position, node, stopped in _walk(root):
        loops = int(node.get("Actual Loops", 0) or 0)
        plan_rows = float(node.get("Plan Rows", 0) or 0)
        actual = float(node["Actual Rows"]) if loops and "Actual Rows" in node else None
        q, direction = q_error(plan_rows, actual) if actual is not None else (None, None)
        out.append(NodeEstimate(
            position=position, node=node_label(node), node_type=str(node.get("Node Type", "?")),
            startup_cost=float(node.get("Startup Cost", 0) or 0),
            total_cost=float(node.get("Total Cost", 0) or 0), plan_rows=plan_rows,
            actual_rows=actual, loops=loops, q_error=q, direction=direction,
            flag="" if stopped and direction == "over" else flag(q), stopped_early=stopped))
    return out


def counts(n: NodeEstimate) -> bool:
    """Whether a node's q-error is a misestimate (it ran, and was not cut short by a Limit)."""
    return n.q_error is not None and not (n.stopped_early and n.direction == "over")


def worst_node(nodes: list[NodeEstimate]) -> NodeEstimate | None:
    """The node with the largest q-error that counts; of equals, the first in plan order."""
    best: NodeEstimate | None = None
    for n in nodes:
        if counts(n) and (best is None or (n.q_error or 0) > (best.q_error or 0)):
            best = n
    return best


def plan_estimate(doc: dict[str, Any] | None) -> PlanEstimate | None:
    """The planner's figures of one EXPLAIN (ANALYZE, FORMAT JSON) document."""
    if not doc or "Plan" not in doc or "Total Cost" not in doc["Plan"]:
        return None
    root = doc["Plan"]
    nodes = node_estimates(root)
    cost = float(root["Total Cost"])
    execution = float(doc["Execution Time"]) if "Execution Time" in doc else None
    planning = float(doc["Planning Time"]) if "Planning Time" in doc else None
    return PlanEstimate(
        total_cost=cost, startup_cost=float(root.get("Startup Cost", 0) or 0),
        plan_rows=float(root.get("Plan Rows", 0) or 0),
        actual_rows=float(root.get("Actual Rows", 0) or 0), planning_ms=planning,
        execution_ms=execution, ms_per_cost_unit=ratio(execution, cost),
        root_node_type=str(root.get("Node Type", "?")), nodes=nodes, worst=worst_node(nodes))


def for_phase(phase: QueryPhase | None) -> PlanEstimate | None:
    """The phase's stored estimate, or one computed from its kept plan (older runs)."""
    if phase is None:
        return None
    return phase.estimate if phase.estimate is not None else plan_estimate(phase.plan)


def shape_estimate(before: QueryPhase | None, after: QueryPhase | None,
                   measured_speedup: float | None) -> ShapeEstimate | None:
    """Estimated speedup (cost ratio) next to the measured one, for one shape.

    With the per-round costs of both phases, the estimated speedup is the median of the
    per-round ratios cost before / cost after (the rounds both measured) and the costs shown
    are the per-round medians; without them (older runs), the ratio of the two kept plans.
    """
    b, a = for_phase(before), for_phase(after)
    if before is None or after is None or b is None or a is None:
        return None
    bc, ac = before.total_cost_per_round, after.total_cost_per_round
    n = min(len(bc), len(ac))
    if n:
        estimated = median_ratio(bc[:n], ac[:n])
        cost_before, cost_after = statistics.median(bc[:n]), statistics.median(ac[:n])
    else:
        estimated, cost_before, cost_after = ratio(b.total_cost, a.total_cost), b.total_cost, \
            a.total_cost
    return ShapeEstimate(
        cost_before=cost_before, cost_after=cost_after, estimated_speedup=estimated,
        measured_speedup=measured_speedup,
        measured_over_estimated=ratio(measured_speedup, estimated), rounds=n,
        planning_before_ms=before.planning_median_ms, planning_after_ms=after.planning_median_ms,
        execution_before_ms=before.median_ms, execution_after_ms=after.median_ms)


def for_query(q: QueryResult) -> ShapeEstimate | None:
    """The shape's stored estimate, or one computed from its kept plans (older runs)."""
    if q.estimate is not None:
        return q.estimate
    return shape_estimate(q.before, q.after, q.speedup)


def index_points(section: PerIndexSection | None) -> list[tuple[str, float, float, bool]]:
    """(index, estimated, measured, Dexter's rule and the measurement disagree) per index of
    a --per-index run whose deciding shape (AdvisorCall.shape) has both ratios: the index
    added alone, its estimated cost ratio and its measured time ratio."""
    if section is None:
        return []
    out = []
    for rec in section.indexes:
        a = rec.advisor
        if a and a.estimated_ratio and a.measured_factor and a.measured_factor > 0:
            out.append((rec.name, a.estimated_ratio, a.measured_factor, bool(a.disagreement)))
    return out


@dataclass(frozen=True)
class CostUnit:
    """Milliseconds per planner cost unit of the plans whose root is one node type."""

    node_type: str
    plans: int  # rounds (or kept plans, in older runs) it is made of
    shapes: int
    median_ms_per_unit: float
    min_ms_per_unit: float
    max_ms_per_unit: float


def _root_type(structure: str) -> str:
    """'Limit' from a plan variant's structure 'Limit > Index Scan(ix) > ...'."""
    return structure.split(" > ", 1)[0].split("(", 1)[0]


def phase_cost_units(phase: QueryPhase) -> list[tuple[str, float]]:
    """(root node type, ms per cost unit) per round, or of the kept plan in older runs."""
    costs, times = phase.total_cost_per_round, phase.times_ms
    if costs and len(costs) == len(times):
        variants, per_round = phase.plan_variants, phase.plan_per_round
        out = []
        for i, (c, t) in enumerate(zip(costs, times, strict=True)):
            if c <= 0:
                continue
            kind = (_root_type(variants[per_round[i]].structure)
                    if i < len(per_round) and per_round[i] < len(variants) else "?")
            out.append((kind, t / c))
        return out
    est = for_phase(phase)
    if est is None or est.ms_per_cost_unit is None:
        return []
    return [(est.root_node_type, est.ms_per_cost_unit)]


def _cost_unit_values(results: RunResults) -> Iterator[tuple[str, str, float]]:
    """(shape, root node type, ms per cost unit) of every measured round of both phases."""
    for q in results.queries:
        for phase in (q.before, q.after):
            if phase is None or not phase.measured:
                continue
            for kind, v in phase_cost_units(phase):
                yield q.name, kind, v


def _summary(kind: str, values: list[float], shapes: set[str]) -> CostUnit:
    return CostUnit(kind, len(values), len(shapes), statistics.median(values), min(values),
                    max(values))


def cost_units(results: RunResults) -> list[CostUnit]:
    """Milliseconds per cost unit by root node type over both phases of every shape, the node
    types with the most plans first."""
    values: dict[str, list[float]] = {}
    shapes: dict[str, set[str]] = {}
    for name, kind, v in _cost_unit_values(results):
        values.setdefault(kind, []).append(v)
        shapes.setdefault(kind, set()).add(name)
    rows = [_summary(kind, v, shapes[kind]) for kind, v in values.items()]
    return sorted(rows, key=lambda r: (-r.plans, r.node_type))


def cost_unit_all(results: RunResults) -> CostUnit | None:
    """Milliseconds per cost unit over every measured round of the run, whatever its root."""
    rows = list(_cost_unit_values(results))
    if not rows:
        return None
    return _summary("all plans", [v for _n, _k, v in rows], {n for n, _k, _v in rows})
