"""Measured rounds -> the records of the result model (bench.results.model)."""

from __future__ import annotations

import json
import statistics
from typing import Any, Literal

from bench.results import estimates
from bench.results.model import (
    NOISY_HALFWIDTH,
    ClaimedRead,
    Crosscheck,
    NoiseFloor,
    ParameterGroup,
    QueryPhase,
    QueryResult,
    Rounds,
)
from bench.results.stats import (
    AA_SD,
    RUN_TO_RUN_SD,
    Stop,
    median_ci,
    paired_ratio,
    relative_halfwidth,
)
from bench.results.verdict import read_verdict
from bench.runner import plans
from bench.runner.reads import PairedResult, PhaseResult
from bench.runner.shapes import Shape


def jsonable(value: Any) -> Any:
    """A parameter value as results.json stores it (dates as ISO text, Decimal as float)."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def phase_record(result: PhaseResult) -> QueryPhase:
    summary = result.summary()
    if summary is None:
        return QueryPhase(error=result.error)
    rep = result.representative()
    halfwidth = relative_halfwidth(result.times)
    rounds = result.rounds
    return QueryPhase(
        rounds=summary.rounds, median_ms=summary.median, mean_ms=summary.mean,
        min_ms=summary.min, max_ms=summary.max, p95_ms=summary.p95, q1_ms=summary.q1,
        q3_ms=summary.q3, iqr_ms=summary.iqr, stdev_ms=summary.stdev, cv=summary.cv,
        indexes_used=result.indexes_used(),
        plan_summary=plans.summary(rep.plan["Plan"]),
        node_types=plans.node_types(rep.plan["Plan"]),
        plan_variants=result.plan_variants(),
        plan=rep.plan,
        planning_median_ms=statistics.median(r.planning_ms for r in rounds),
        shared_hit_median=statistics.median(r.shared_hit for r in rounds),
        shared_read_median=statistics.median(r.shared_read for r in rounds),
        rows_per_round=[r.rows for r in rounds],
        buffers_per_round=[r.shared_hit + r.shared_read for r in rounds],
        plan_per_round=result.plan_per_round(),
        median_ci95_ms=median_ci(result.times),
        median_rel_halfwidth=halfwidth,
        noisy=halfwidth > NOISY_HALFWIDTH,
        crosscheck=_crosscheck(result),
        times_ms=[round(t, 4) for t in result.times],
        error=result.error,
        total_cost_per_round=[float(r.plan["Plan"].get("Total Cost", 0.0)) for r in rounds],
        plan_rows_per_round=[float(r.plan["Plan"].get("Plan Rows", 0.0)) for r in rounds],
        estimate=estimates.plan_estimate(rep.plan),
    )


def _crosscheck(result: PhaseResult) -> Crosscheck | None:
    """The plain query timed by the client next to EXPLAIN ANALYZE on the same parameters."""
    if not result.plain:
        return None
    k = min(len(result.plain), len(result.rounds))
    explain = statistics.median(r.execution_ms for r in result.rounds[:k])
    plain = statistics.median(result.plain[:k])
    return Crosscheck(rounds=k, plain_client_median_ms=plain, explain_execution_median_ms=explain,
                      explain_over_plain=explain / plain if plain else None)


def rounds_record(stop: Stop | None) -> Rounds | None:
    """How a figure's rounds ended, as results.json has it."""
    if stop is None:
        return None
    return Rounds(rounds=stop.rounds, reason=stop.reason, confidence=stop.confidence,
                  text=stop.text())


def confidence_of(stop: Stop | None) -> float:
    """The level of a figure's interval: the one its stop spent (0.95 without one)."""
    return stop.confidence if stop is not None else 0.95


def noise_floor(numer: list[float], denom: list[float], a_times: list[float],
                b_times: list[float], kind: Literal["reads", "writes"],
                confidence: float = 0.95) -> NoiseFloor | None:
    """The A/A control's ratio median(numer) / median(denom), with its interval."""
    n = min(len(numer), len(denom))
    if n < 2:
        return None
    ratio, ci = paired_ratio(numer[:n], denom[:n], extra_sd=AA_SD[kind], confidence=confidence)
    return NoiseFloor(ratio=ratio, ci95=ci, rounds=n,
                      a_times=[round(t, 4) for t in a_times[:n]],
                      b_times=[round(t, 4) for t in b_times[:n]])


def by_parameter(params: list[dict[str, Any]], before: PhaseResult,
                 after: PhaseResult, max_groups: int = 12) -> list[ParameterGroup] | None:
    """Medians per distinct parameter set, when there are few (e.g. one per status value).

    A shape whose parameter values differ in selectivity can be fast for some and unchanged
    for others; one overall median hides that.
    """
    groups: dict[str, list[int]] = {}
    n = min(len(before.rounds), len(after.rounds))
    for i in range(n):
        key = json.dumps(params[i], default=_json_default, sort_keys=True)
        groups.setdefault(key, []).append(i)
    if not 1 < len(groups) <= min(max_groups, n // 2):
        return None
    rows = []
    for key, idx in groups.items():
        b = statistics.median(before.rounds[i].execution_ms for i in idx)
        a = statistics.median(after.rounds[i].execution_ms for i in idx)
        rows.append(ParameterGroup(params=json.loads(key), rounds=len(idx), before_median_ms=b,
                                   after_median_ms=a, speedup=b / a if a else None))
    return sorted(rows, key=lambda r: -(r.speedup or 0))


def _paired(pair: PairedResult) -> tuple[PhaseResult, PhaseResult]:
    """Both sides cut to the rounds they share (a timeout can leave one a round ahead)."""
    n = pair.rounds
    return (PhaseResult(pair.a.rounds[:n], pair.a.error, pair.a.plain),
            PhaseResult(pair.b.rounds[:n], pair.b.error, pair.b.plain))


def query_record(shape: Shape, params: list[dict[str, Any]], claim: ClaimedRead | None,
                 ab: PairedResult | None, aa: PairedResult | None = None) -> QueryResult:
    """Before = twin A, after = the migrated twin B, measured round by round side by side."""
    before, after = _paired(ab) if ab else (None, None)
    rec = QueryResult(
        name=shape.name, report_row=shape.report_row, description=shape.description,
        file=shape.path.name, sql=shape.sql, expects_index=shape.expects_index, claimed=claim,
        params=[jsonable(p) for p in params],
        before=phase_record(before) if before else None,
        after=phase_record(after) if after else None,
    )
    if aa is not None and not aa.error:
        a, b = _paired(aa)
        rec.aa = noise_floor(a.times, b.times, a.times, b.times, "reads",
                             confidence_of(aa.stop))
    if before and after and before.rounds and after.rounds:
        # Round i ran parameter set i on both twins, one right after the other.
        assert rec.before and rec.after
        assert rec.before.median_ms is not None and rec.after.median_ms is not None
        rec.speedup, rec.speedup_ci95 = paired_ratio(
            before.times, after.times, extra_sd=RUN_TO_RUN_SD["reads"],
            confidence=confidence_of(ab.stop if ab else None))
        rec.stopped = rounds_record(ab.stop if ab else None)
        rec.by_parameter = by_parameter(params, before, after)
        rec.estimate = estimates.shape_estimate(rec.before, rec.after, rec.speedup)
    rec.verdict, rec.verdict_text = read_verdict(
        rec.speedup, rec.speedup_ci95, claim.factor if claim else None,
        shape.expects_index, rec.after.indexes_used if rec.after else [],
        error=ab.error if ab else None, noise=rec.aa.ci95 if rec.aa else None,
    )
    return rec
