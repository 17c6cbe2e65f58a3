"""results.json: the one record of a run. Reports, charts and comparisons read only this.

Written after every phase (atomically), so an interrupted run keeps what it measured;
`complete` says whether the run reached its end.
"""

from __future__ import annotations

import json
import os
import statistics
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import plans
from bench.errors import BenchError
from bench.measure import PhaseResult
from bench.shapes import Shape
from bench.stats import median_ci, ratio_of_medians_ci, relative_halfwidth
from bench.verdict import read_verdict

SCHEMA_VERSION = 1
NOISY_HALFWIDTH = 0.10


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "__fspath__"):
        return os.fspath(value)
    return str(value)


def save(doc: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=_json_default) + "\n")
    tmp.replace(path)
    return path


def load(path: Path) -> dict[str, Any]:
    if path.is_dir():
        path = path / "results.json"
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BenchError(f"cannot read results from {path}: {exc}") from None
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise BenchError(f"{path}: schema_version {doc.get('schema_version')} is not "
                         f"{SCHEMA_VERSION}; re-run the benchmark with this harness version")
    return doc


def phase_record(result: PhaseResult) -> dict[str, Any]:
    summary = result.summary()
    if summary is None:
        return {"median_ms": None, "p95_ms": None, "rounds": 0, "indexes_used": [],
                "plan": None, "error": result.error}
    rep = result.representative()
    halfwidth = relative_halfwidth(result.times)
    rounds = result.rounds
    return {
        **summary.to_dict(),
        "indexes_used": result.indexes_used(),
        "plan_summary": plans.summary(rep.plan["Plan"]),
        "node_types": plans.node_types(rep.plan["Plan"]),
        "plan_variants": result.plan_variants(),
        "plan": rep.plan,
        "planning_median_ms": statistics.median(r.planning_ms for r in rounds),
        "shared_hit_median": statistics.median(r.shared_hit for r in rounds),
        "shared_read_median": statistics.median(r.shared_read for r in rounds),
        "median_ci95_ms": list(median_ci(result.times)),
        "median_rel_halfwidth": halfwidth,
        # Not converged: the median's interval is wider than +-NOISY_HALFWIDTH of the median.
        "noisy": halfwidth > NOISY_HALFWIDTH,
        "crosscheck": _crosscheck(result),
        "times_ms": [round(t, 4) for t in result.times],
        "error": result.error,
    }


def _crosscheck(result: PhaseResult) -> dict[str, Any] | None:
    """The plain query timed by the client next to EXPLAIN ANALYZE on the same parameters."""
    if not result.plain:
        return None
    k = min(len(result.plain), len(result.rounds))
    explain = statistics.median(r.execution_ms for r in result.rounds[:k])
    plain = statistics.median(result.plain[:k])
    return {"rounds": k, "plain_client_median_ms": plain, "explain_execution_median_ms": explain,
            "explain_over_plain": explain / plain if plain else None}


def drift_record(first: dict[str, PhaseResult], again: dict[str, PhaseResult]) -> dict[str, Any]:
    """The before phase re-run at the end vs its first rounds (same parameters)."""
    shapes = {}
    for name, r in again.items():
        n = min(len(r.rounds), len(first[name].rounds))
        if n < 2:
            continue
        a, b = r.times[:n], first[name].times[:n]
        lo, hi = ratio_of_medians_ci(a, b, paired=True)
        shapes[name] = {"rounds": n, "ratio": statistics.median(a) / statistics.median(b),
                        "ci95": [lo, hi]}
    ratios = [s["ratio"] for s in shapes.values()]
    return {"shapes": shapes, "median_ratio": statistics.median(ratios) if ratios else None}


def by_parameter(params: list[dict[str, Any]], before: PhaseResult,
                 after: PhaseResult, max_groups: int = 12) -> list[dict[str, Any]] | None:
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
        rows.append({"params": json.loads(key), "rounds": len(idx), "before_median_ms": b,
                     "after_median_ms": a, "speedup": b / a if a else None})
    return sorted(rows, key=lambda r: -(r["speedup"] or 0))


def query_record(shape: Shape, params: list[dict[str, Any]], before: PhaseResult | None,
                 after: PhaseResult | None) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "name": shape.name,
        "report_row": shape.report_row,
        "description": shape.description,
        "file": shape.path.name,
        "sql": shape.sql,
        "expects_index": shape.expects_index,
        "claimed": None if shape.claim is None else {
            "before_ms": shape.claim.before_ms, "after_ms": shape.claim.after_ms,
            "factor": shape.claim.factor,
        },
        "params": params,
        "before": phase_record(before) if before else None,
        "after": phase_record(after) if after else None,
        "speedup": None,
        "speedup_ci95": None,
    }
    if before and after and before.rounds and after.rounds:
        # Pair round i before with round i after: both ran with parameter set i.
        n = min(len(before.rounds), len(after.rounds))
        b, a = before.times[:n], after.times[:n]
        rec["speedup"] = rec["before"]["median_ms"] / rec["after"]["median_ms"]
        rec["speedup_ci95"] = list(ratio_of_medians_ci(b, a, paired=True))
        rec["by_parameter"] = by_parameter(params, before, after)
    status, sentence = read_verdict(
        rec["speedup"], rec["speedup_ci95"], shape.claim.factor if shape.claim else None,
        shape.expects_index, rec["after"]["indexes_used"] if rec["after"] else [],
        error=(before.error if before else None) or (after.error if after else None),
    )
    rec["verdict"] = status
    rec["verdict_text"] = sentence
    return rec
