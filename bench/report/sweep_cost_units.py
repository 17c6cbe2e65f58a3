"""sweep.md's table of time per planner cost unit, by root node type, across the scales.

What it rests on is what each run's own report shows (bench.results.estimates.cost_units):
each round's execution time (EXPLAIN ANALYZE with TIMING OFF) over its root's total cost, a
plan counted under its root node type, since TIMING OFF measures no node's own time. Read
across the scales, it says whether a cost unit buys the same time at every data size here.
"""

from __future__ import annotations

from itertools import pairwise

from bench.formatting import factor, us
from bench.results.model import SweepCostUnit, SweepRun

# Within this factor from the smallest to the largest median across scales counts as stable:
# the run-to-run noise of one median at these round counts is well inside it.
STABLE = 1.5


def _us(ms_per_unit: float) -> str:
    return f"{1000 * ms_per_unit:.3g}"


def _cell(c: SweepCostUnit | None) -> str:
    if c is None:
        return "–"
    spread = (f" ({_us(c.min_ms_per_unit)}–{us(1000 * c.max_ms_per_unit)})"
              if c.max_ms_per_unit > c.min_ms_per_unit else "")
    return (f"**{us(1000 * c.median_ms_per_unit)}**{spread}; {c.plans} round"
            f"{'s' * (c.plans != 1)}, {c.shapes} shape{'s' * (c.shapes != 1)}")


def _series(runs: list[SweepRun], kind: str) -> list[tuple[float, SweepCostUnit | None]]:
    return [(r.scale, next((c for c in r.cost_units if c.node_type == kind), None))
            for r in runs]


def _trend(medians: list[float]) -> str:
    pairs = list(pairwise(medians))
    if all(b >= a for a, b in pairs):
        return "rising"
    if all(b <= a for a, b in pairs):
        return "falling"
    return "up and down"


def _moves(kind: str, points: list[tuple[float, SweepCostUnit]]) -> tuple[float, str]:
    """(largest / smallest median, words) of one node type over the scales it appears at:
    'Limit 1.53 → 2.04 µs (scale 0.1 → 1; 1.33x apart, rising)'."""
    medians = [c.median_ms_per_unit for _s, c in points]
    spread = max(medians) / min(medians)
    path = " → ".join(_us(m) for m in medians)
    scales = " → ".join(f"{s:g}" for s, _c in points)
    return spread, (f"{kind} {path} µs (scale {scales}; {factor(spread)} apart, "
                    f"{_trend(medians)})")


def reading(runs: list[SweepRun], kinds: list[str]) -> str:
    """Sentences that read the table: which node types keep their time per cost unit across
    the scales, which do not and by how much, and all plans together."""
    stable: list[str] = []
    moving: list[str] = []
    single: list[str] = []
    for kind in kinds:
        points = [(s, c) for s, c in _series(runs, kind) if c is not None]
        if len(points) < 2:
            single.append(f"{kind} (scale {points[0][0]:g})" if points else kind)
            continue
        spread, words = _moves(kind, points)
        (stable if spread <= STABLE else moving).append(words)
    clauses = []
    if stable:
        clauses.append(f"stays within {STABLE:g}x for {'; '.join(stable)}")
    if moving:
        clauses.append(f"moves by more than {STABLE:g}x for {'; '.join(moving)}")
    out = []
    if clauses:
        out.append(f"Read across the scales, the time per cost unit {'; it '.join(clauses)}.")
    everything = [(r.scale, c) for r in runs if (c := r.cost_unit_all) is not None]
    if len(everything) >= 2:
        spread, words = _moves("all plans together", everything)
        verdict = "stable" if spread <= STABLE else "not stable"
        out.append(f"Over {words}: {verdict} across the scales.")
    if single:
        out.append(f"At one scale only (the plan's root node changed with the data): "
                   f"{', '.join(single)}.")
    return " ".join(out)


def section(runs: list[SweepRun]) -> list[str]:
    """'## Time per planner cost unit, by scale', or nothing when no run has the figures."""
    kinds: list[str] = []
    for r in runs:
        kinds += [c.node_type for c in r.cost_units if c.node_type not in kinds]
    if not kinds:
        return []
    head = " | ".join(f"scale {r.scale:g}" for r in runs)
    lines = [
        "## Time per planner cost unit, by scale",
        "",
        "Microseconds of execution per unit of the planner's total cost (a unit is nominally "
        "one sequential page read, `seq_page_cost` = 1), on this machine: each round's "
        "execution time (EXPLAIN ANALYZE, `TIMING OFF`) over its plan's root total cost, "
        "both phases of every shape, grouped by the plan's root node type. `TIMING OFF` "
        "measures no node's own time, so a plan is counted whole under its root (a `Limit` "
        "over an index scan is a `Limit`), not split by the nodes below it. Median (min–max), "
        "and how many rounds (kept plans, in runs older than the per-round costs) and shapes it "
        "rests on.",
        "",
        f"| Root node | {head} |",
        "|---" * (len(runs) + 1) + "|",
    ]
    for kind in kinds:
        lines.append(f"| {kind} | " + " | ".join(_cell(c) for _s, c in _series(runs, kind))
                     + " |")
    if any(r.cost_unit_all for r in runs):
        lines.append("| *all plans* | " + " | ".join(_cell(r.cost_unit_all) for r in runs)
                     + " |")
    text = reading(runs, kinds)
    return [*lines, "", *([text, ""] if text else [])]
