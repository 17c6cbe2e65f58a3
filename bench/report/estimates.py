"""report.md's section on what the planner predicted next to what was measured.

Markdown only; the arithmetic is bench.results.estimates, the chart bench.report.estimate_charts.
"""

from __future__ import annotations

from bench.formatting import factor, ms, us
from bench.results import estimates
from bench.results.model import NodeEstimate, QueryResult, RunResults, ShapeEstimate

CHART = "estimate_speedup.png"
FLAG_ICON = {"10x": "🚩 10x", "100x": "🚩🚩 100x", "1000x": "🚩🚩🚩 1000x"}


def _rows(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.2g}"


def _cost(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.2f}"


def estimate_cell(q: QueryResult) -> str:
    """The read table's column: '44x (9.0)': the planner's factor, measured ÷ estimated."""
    est = estimates.for_query(q)
    if est is None or est.estimated_speedup is None:
        return "–"
    apart = est.measured_over_estimated
    return f"{factor(est.estimated_speedup)}" + (f" ({factor(apart)})" if apart else "")


def node_text(n: NodeEstimate | None) -> str:
    """'`Seq Scan on t`: 1 estimated, 250 actual rows per loop (250x under, 🚩🚩 100x)'."""
    if n is None or n.q_error is None:
        return "–"
    loops = f" × {n.loops:,} loops" if n.loops > 1 else ""
    how = "exact" if n.direction == "exact" else f"{factor(n.q_error)} {n.direction}"
    badge = f", {FLAG_ICON[n.flag]}" if n.flag else ""
    return (f"`{n.node}`: {_rows(n.plan_rows)} estimated, {_rows(n.actual_rows)} actual rows "
            f"per loop{loops} ({how}{badge})")


def _apart(est: ShapeEstimate) -> str:
    apart = est.measured_over_estimated
    if apart is None:
        return "–"
    if 0.5 <= apart <= 2:
        return f"{factor(apart)}"
    return f"**{factor(apart)}** ({'more' if apart > 1 else 'less'} than estimated)"


def _per_shape(pairs: list[tuple[QueryResult, ShapeEstimate]]) -> list[str]:
    lines = ["| Shape | Planner's cost before → after | Estimated factor | Measured factor "
             "| Measured ÷ estimated | Planning before → after | Execution before → after |",
             "|---|---|---|---|---|---|---|"]
    for q, e in pairs:
        lines.append(
            f"| `{q.name}` | {_cost(e.cost_before)} → {_cost(e.cost_after)} | "
            f"{factor(e.estimated_speedup)} | {factor(e.measured_speedup)} | {_apart(e)} | "
            f"{ms(e.planning_before_ms)} → {ms(e.planning_after_ms)} | "
            f"{ms(e.execution_before_ms)} → {ms(e.execution_after_ms)} |")
    return lines


def _worst_nodes(results: RunResults) -> list[str]:
    lines = ["| Shape | Worst row estimate before | Worst row estimate after "
             "| Nodes flagged (before, after) |", "|---|---|---|---|"]
    any_row = False
    for q in results.queries:
        b, a = estimates.for_phase(q.before), estimates.for_phase(q.after)
        if b is None and a is None:
            continue
        any_row = True
        flagged = [sum(1 for n in p.nodes if n.flag) if p else 0 for p in (b, a)]
        lines.append(f"| `{q.name}` | {node_text(b.worst if b else None)} | "
                     f"{node_text(a.worst if a else None)} | {flagged[0]}, {flagged[1]} |")
    return lines if any_row else []


def _cost_units(results: RunResults) -> list[str]:
    rows = estimates.cost_units(results)
    if not rows:
        return []
    lines = ["Time per planner cost unit on this machine, by the plan's root node (execution "
             "time over the root's total cost, per round; `TIMING OFF` measures no node's own "
             "time, so a plan is counted under its root). The planner's units are the same "
             "everywhere; what one costs in time differs by as much as this between plans:", "",
             "| Root node | Rounds | Shapes | Time per cost unit, median (min–max) |",
             "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.node_type} | {r.plans} | {r.shapes} | {us(1000 * r.median_ms_per_unit)}"
                     f" ({us(1000 * r.min_ms_per_unit)}–{us(1000 * r.max_ms_per_unit)}) |")
    return [*lines, ""]


def section(results: RunResults, chart_names: list[str]) -> list[str]:
    """'## What the planner predicted': per shape, per plan node, cost units, the chart."""
    pairs = [(q, e) for q in results.queries if (e := estimates.for_query(q)) is not None]
    if not pairs:
        return []
    lines = [
        "## What the planner predicted, next to what was measured",
        "",
        "Index advisors decide from the planner's cost estimates (Dexter adds an index when the "
        "estimated cost falls by at least 50%). The *estimated factor* is the planner's total "
        "cost before / after (the median over the paired rounds, or of the two kept plans in "
        "older runs), the *measured factor* this run's; *measured ÷ estimated* above 1 means "
        "the indexes paid more than the planner expected, below 1 less. Planning time is "
        "spent on every execution, beside the execution time.",
        "",
        *_per_shape(pairs),
        "",
    ]
    if CHART in chart_names:
        lines += [f"![{CHART}]({CHART})", ""]
    worst = _worst_nodes(results)
    if worst:
        lines += ["Row estimates per plan node (of each phase's median round): the q-error is "
                  "max(estimated / actual, actual / estimated) rows per loop, flagged at 10x, "
                  "100x and 1000x as pev2 and explain.depesz.com flag it; *over* means the "
                  "planner expected more rows than came. A misestimate that large can make it "
                  "pick the wrong plan, whatever the indexes. results.json keeps every node "
                  "(`queries[].before.estimate.nodes`).", "", *worst, ""]
    lines += _cost_units(results)
    return lines


def flagged_nodes(q: QueryResult, phase: str) -> list[str]:
    """Details lines: every node of a phase's plan whose row estimate is flagged."""
    est = estimates.for_phase(q.phase(phase))
    if est is None:
        return []
    return [f"  - row estimate off: {node_text(n)}" for n in est.nodes if n.flag]
