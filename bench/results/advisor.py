"""What a cost-based index advisor would have decided, next to what was measured: pure
arithmetic on the per-index records (run --per-index).

Per index and shape, in the two comparisons per-index attribution measures (add-one: the
database as it was before the migration plus the index; leave-one-out: the migrated database
minus it), the planner's estimated saving is taken from plain EXPLAIN (no ANALYZE) of the
rounds' parameter sets in the same index states, with the real index built:

- **ratio**: the median over the rounds of total cost without / total cost with (round i plans
  parameter set i, as it is timed); > 1: the planner expects the index to save;
- **saved_pct**: the share of the cost it saves, 100 * (1 - 1 / ratio) (50%: ratio 2).

The measured side is the record's own: `factor`, the typical per-round ratio time without /
time with, and its share the same way.

**Dexter's rule** (its defaults: --min-cost-savings-pct 50, --min-cost 100): suggest an index
when, added alone, the estimated cost of some query falls below half of what it was
(new cost < 0.5 x initial cost) and the new plan uses the index; a query whose initial cost is
below 100 is not considered. Here the ratio above must exceed 2 on a shape whose median cost
without the index is at least 100 and whose plans with it alone use it.
"""

from __future__ import annotations

import statistics

from bench.formatting import factor
from bench.results.per_index import (
    AdvisorCall,
    AdvisorDisagreement,
    EstimatedEffect,
    IndexAttribution,
    ReadEffect,
)

MIN_COST_SAVINGS_PCT = 50.0  # dexter --min-cost-savings-pct
MIN_COST = 100.0  # dexter --min-cost: queries cheaper than this are not considered
RULE = (f"Dexter: estimated cost below {100 - MIN_COST_SAVINGS_PCT:.0f}% of the initial with "
        f"the index alone, initial cost >= {MIN_COST:.0f}")


def saved_pct(ratio: float | None) -> float | None:
    """The share of the cost (or time) saved, from a ratio without / with: 2 -> 50%."""
    if ratio is None or ratio <= 0:
        return None
    return 100.0 * (1.0 - 1.0 / ratio)


def median_ratio(without: list[float], with_: list[float]) -> float | None:
    """The median of without[i] / with[i] over the rounds both have (non-positive skipped)."""
    ratios = [w / c for w, c in zip(without, with_, strict=False) if w > 0 and c > 0]
    return statistics.median(ratios) if ratios else None


def estimated_effect(without: list[float], with_: list[float]) -> EstimatedEffect | None:
    """The planner's saving from per-round total costs without and with the index."""
    n = min(len(without), len(with_))
    if not n:
        return None
    ratio = median_ratio(without[:n], with_[:n])
    return EstimatedEffect(rounds=n, cost_without=statistics.median(without[:n]),
                           cost_with=statistics.median(with_[:n]), ratio=ratio,
                           saved_pct=saved_pct(ratio))


def add_hypothetical(effect: EstimatedEffect, without: list[float],
                     hypo_with: list[float]) -> None:
    """The same estimate with a HypoPG hypothetical index in place of the real one."""
    n = min(len(without), len(hypo_with))
    if not n:
        return
    effect.hypo_cost_with = statistics.median(hypo_with[:n])
    effect.hypo_ratio = median_ratio(without[:n], hypo_with[:n])
    effect.hypo_saved_pct = saved_pct(effect.hypo_ratio)


def measured_saved_pct(e: ReadEffect) -> float | None:
    """The measured share of the time the index saves (0 where no plan changed)."""
    if not e.plans_changed:
        return 0.0
    return saved_pct(e.factor)


def eligible(rec: IndexAttribution, e: ReadEffect) -> bool:
    """Whether Dexter would weigh this shape for the index: it has an estimate, its plans use
    the index when it is added alone, and it costs at least MIN_COST without it."""
    est = e.estimate
    return (est is not None and est.ratio is not None and rec.name in e.uses
            and est.cost_without >= MIN_COST)


def suggests(e: ReadEffect) -> bool:
    """Dexter's test on one shape: new cost < (1 - 50%) x initial cost, i.e. the (median
    per-round) ratio initial / new above 2."""
    est = e.estimate
    return est is not None and est.ratio is not None and est.ratio > 100 / (
        100 - MIN_COST_SAVINGS_PCT)


def _ratio(e: ReadEffect) -> float:
    return e.estimate.ratio if e.estimate and e.estimate.ratio else 0.0


def disagreement(decision: str, rec: IndexAttribution, shape: ReadEffect | None
                 ) -> AdvisorDisagreement:
    """How the advisor's call and the measurement part ways, if they do."""
    if decision == "add":
        if rec.verdict == "unused":
            return "adds_unused"
        slower = (shape is not None and shape.saved_ci95 is not None
                  and shape.saved_ci95[1] < 0)
        if rec.verdict == "drop" or slower:
            return "adds_harmful"
        return ""
    return "rejects_paying" if rec.verdict == "keep" else ""


def decide(rec: IndexAttribution) -> AdvisorCall:
    """Dexter's decision for one index from its add-one estimates, beside its verdict."""
    candidates = [e for e in rec.add_one if eligible(rec, e)]
    adding = [e for e in candidates if suggests(e)]
    decision = "add" if adding else "reject"
    pool = adding or candidates or [e for e in rec.add_one if e.estimate and e.estimate.ratio
                                    and e.plans_changed]
    best = max(pool, key=_ratio, default=None)
    est = best.estimate if best else None
    call = AdvisorCall(
        rule=RULE, decision=decision, shape=best.shape if best else None,
        estimated_ratio=est.ratio if est else None,
        estimated_saved_pct=est.saved_pct if est else None,
        measured_factor=best.factor if best and best.plans_changed else None,
        measured_saved_pct=measured_saved_pct(best) if best else None, verdict=rec.verdict)
    call.disagreement = disagreement(decision, rec, best)
    call.text = _text(rec, call, bool(candidates))
    return call


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}%"


def _text(rec: IndexAttribution, call: AdvisorCall, any_eligible: bool) -> str:
    if call.decision == "add":
        why = (f"adds it: the estimated cost of {call.shape} falls "
               f"{_share(call.estimated_saved_pct)} ({factor(call.estimated_ratio)}) with it alone")
    elif call.shape is None and not rec.add_one:
        why = "rejects it: no shape reads its table"
    elif call.shape is None:
        why = "rejects it: no plan of any shape changes with it alone"
    elif not any_eligible:
        why = (f"rejects it: no plan of a shape costing >= {MIN_COST:.0f} uses it alone "
               f"(best estimate: {call.shape} {_share(call.estimated_saved_pct)})")
    else:
        why = (f"rejects it: no shape's estimated cost falls by more than "
               f"{MIN_COST_SAVINGS_PCT:.0f}% with it alone (best: {call.shape} "
               f"{_share(call.estimated_saved_pct)}, {factor(call.estimated_ratio)})")
    measured = ("" if call.measured_factor is None else
                f"; measured on {call.shape}: {factor(call.measured_factor)} "
                f"({_share(call.measured_saved_pct)} of the time)")
    return f"{why}{measured}; measured verdict {rec.verdict}"


def disagreements(indexes: list[IndexAttribution]) -> dict[AdvisorDisagreement, list[str]]:
    """The indexes of each kind of disagreement, in the migration's order."""
    out: dict[AdvisorDisagreement, list[str]] = {}
    for rec in indexes:
        if rec.advisor is not None and rec.advisor.disagreement:
            out.setdefault(rec.advisor.disagreement, []).append(rec.name)
    return out
