"""How far data generated from a stats file is from it: pure arithmetic on two stats.json
models (bench/results/table_stats.py), the source's and the synthetic database's own after its
ANALYZE, and on two plans' EXPLAIN (FORMAT JSON) output.

Per column (each a share, 0 when identical):

* null fraction: synthetic minus source;
* distinct count: the synthetic count over the source's, scaled as PostgreSQL sees it (a
  negative n_distinct is a fraction of the rows, so it grows with the table; a positive one is
  a count, capped by the rows); as a distance, 1 - 1/q with q = max(ratio, 1/ratio);
* most common values: total variation distance over the union of the two lists
  (1/2 sum |p - q|, a value missing from one list counting as 0 there);
* histogram: at each of the source's bounds (its quantile i/(k-1) of the values outside the
  MCV list), the synthetic histogram's cumulative share there (linear inside a bucket for
  numbers and times, by rank for text); the error is the largest difference;
* correlation: synthetic minus source; as a distance, half its size (it spans -1..1).

A column's distance is the largest of these; the data's is the furthest column's. Per query
shape, each plan node's estimated rows as a q-error, max(a/b, b/a) with both at least 1 (the
base-table scans' make the shape's and the data's figure), and whether the plan (node types,
relations, indexes, nested) is the same.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from bench.results.estimates import node_label
from bench.results.model import ColumnFidelity, DataFidelity, NodeFidelity, ShapeFidelity
from bench.results.table_stats import ColumnStats, StatsFile


def q_error(a: float, b: float) -> float:
    a, b = max(1.0, a), max(1.0, b)
    return max(a / b, b / a)


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def distinct_ratio(source: ColumnStats, synthetic: ColumnStats, source_rows: float,
                   synthetic_rows: float) -> float | None:
    """The synthetic column's distinct count over the source's as it would be at the
    synthetic table's size."""
    want = min(source.distinct_count(synthetic_rows),
               synthetic_rows * max(0.0, 1.0 - source.null_frac))
    got = synthetic.distinct_count(synthetic_rows)
    if want <= 0 or got <= 0:
        return None if want <= 0 and got <= 0 else (math.inf if want <= 0 else 0.0)
    return got / want


def mcv_distance(source_values: Sequence[str], source_freqs: Sequence[float],
                 synthetic_values: Sequence[str], synthetic_freqs: Sequence[float]) -> float:
    """Total variation distance between the two lists' frequencies, over their union."""
    p = dict(zip(source_values, source_freqs, strict=False))
    q = dict(zip(synthetic_values, synthetic_freqs, strict=False))
    return 0.5 * sum(abs(p.get(v, 0.0) - q.get(v, 0.0)) for v in set(p) | set(q))


def _number(kind: str, text: str) -> float | None:
    try:
        if kind == "number":
            return float(text)
        if kind == "time":
            t = datetime.fromisoformat(text.strip())
            if t.tzinfo is None:
                t = t.replace(tzinfo=UTC)
            return t.timestamp()
    except (ValueError, OverflowError):
        return None
    return None


def cumulative_share(bounds: Sequence[Any], value: Any, linear: bool) -> float:
    """The share of a histogram's values below `value`: bounds at 0, 1/(k-1), ..., 1, linear in
    between for numbers and times, half a bucket for a text value between two bounds."""
    k = len(bounds)
    if k < 2:
        return 0.0
    if value <= bounds[0]:
        return 0.0
    if value >= bounds[-1]:
        return 1.0
    i = bisect.bisect_right(bounds, value) - 1
    lo, hi = bounds[i], bounds[i + 1]
    step = 0.0 if value == lo else 0.5
    frac = ((value - lo) / (hi - lo) if hi > lo else 0.0) if linear else step
    return (i + frac) / (k - 1)


def histogram_error(source: Sequence[str], synthetic: Sequence[str], kind: str) -> float | None:
    """The largest |F_synthetic(b_i) - i/(k-1)| over the source's bounds b_i."""
    if len(source) < 2 or len(synthetic) < 2:
        return None
    linear = kind in ("number", "time")
    if linear:
        src = [_number(kind, v) for v in source]
        syn = [_number(kind, v) for v in synthetic]
        if any(v is None for v in src + syn):
            return None
        a: list[Any] = src
        b: list[Any] = syn
    else:
        a, b = list(source), list(synthetic)
    k = len(a)
    return max(abs(cumulative_share(b, v, linear) - i / (k - 1)) for i, v in enumerate(a))


def rank_distance(source_freqs: Sequence[float], synthetic_freqs: Sequence[float]) -> float:
    """Total variation between two MCV lists' frequencies paired by rank (the heaviest with
    the heaviest): for values whose identity is arbitrary, such as a foreign key's parents."""
    a, b = sorted(source_freqs, reverse=True), sorted(synthetic_freqs, reverse=True)
    n = max(len(a), len(b))
    a, b = a + [0.0] * (n - len(a)), b + [0.0] * (n - len(b))
    return 0.5 * sum(abs(x - y) for x, y in zip(a, b, strict=True))


def column_fidelity(table: str, source: ColumnStats, synthetic: ColumnStats,
                    source_rows: float, synthetic_rows: float,
                    made_as: str = "") -> ColumnFidelity:
    ratio = distinct_ratio(source, synthetic, source_rows, synthetic_rows)
    mcv = None
    if made_as == "foreign key":
        mcv = rank_distance(source.most_common_freqs or [], synthetic.most_common_freqs or [])
    elif (source.most_common_freqs or synthetic.most_common_freqs) and (
            source.most_common_vals is not None or synthetic.most_common_vals is not None):
        mcv = mcv_distance(source.most_common_vals or [], source.most_common_freqs or [],
                           synthetic.most_common_vals or [], synthetic.most_common_freqs or [])
    hist = None if made_as else histogram_error(
        source.histogram_bounds or [], synthetic.histogram_bounds or [], source.kind)
    corr = None
    if source.correlation is not None and synthetic.correlation is not None:
        corr = synthetic.correlation - source.correlation
    null = synthetic.null_frac - source.null_frac
    measures: dict[str, float] = {"null fraction": abs(null)}
    if ratio is not None:
        q = math.inf if ratio in (0.0, math.inf) else max(ratio, 1 / ratio)
        measures["distinct count"] = 1.0 - 1.0 / q
    if mcv is not None:
        measures["most common values"] = mcv
    if hist is not None:
        measures["histogram"] = hist
    if corr is not None:
        measures["correlation"] = abs(corr) / 2
    worst = max(measures, key=lambda m: measures[m])
    return ColumnFidelity(
        table=table, column=source.name, null_frac_diff=null,
        distinct_ratio=None if ratio is None or not math.isfinite(ratio) else ratio,
        mcv_distance=mcv, histogram_error=hist, correlation_error=corr,
        distance=measures[worst], furthest=worst,
        made_as="key" if made_as == "key" else "foreign key" if made_as else "")


def compare(source: StatsFile, synthetic: StatsFile, scale: float = 1.0,
            stats_file: str | None = None,
            keys: Collection[tuple[str, str]] = ()) -> DataFidelity:
    """Every column present in both, the source's tables scaled by `scale`; `keys` the
    (table, column)s the generator makes as keys (left out of the distance)."""
    fk_columns = {(fk.table, fk.columns[0]) for fk in source.foreign_keys
                  if len(fk.columns) == 1}
    columns: list[ColumnFidelity] = []
    for table in source.tables:
        other = synthetic.table(table.name)
        if other is None:
            continue
        rows = max(other.reltuples, 0.0) or max(1.0, table.reltuples * scale)
        for column in table.columns:
            mine = other.column(column.name)
            if mine is not None:
                where = (table.name, column.name)
                made_as = "key" if where in keys else "foreign key" if where in fk_columns \
                    else ""
                columns.append(column_fidelity(table.name, column, mine, table.reltuples, rows,
                                               made_as))
    counted = [c for c in columns if c.made_as != "key"]
    if not counted:
        return DataFidelity(stats_file=stats_file, distance=0.0, columns=columns)
    far = max(counted, key=lambda c: c.distance)
    return DataFidelity(stats_file=stats_file, distance=far.distance,
                        furthest=f"{far.table}.{far.column}", furthest_what=far.furthest,
                        columns=columns)


# --- plans -----------------------------------------------------------------------------------


def plan_signature(plan: dict[str, Any]) -> str:
    """The plan's shape: node types, indexes and relations, nested (no costs, no rows)."""
    children = plan.get("Plans") or []
    inner = ", ".join(plan_signature(c) for c in children)
    return node_label(plan) + (f"({inner})" if inner else "")


def base_scans(plan: dict[str, Any]) -> list[tuple[str, float]]:
    """(label, estimated rows) of each node that reads a table, in plan order."""
    out = [(node_label(plan), float(plan.get("Plan Rows", 0)))] if "Relation Name" in plan else []
    for child in plan.get("Plans") or []:
        out += base_scans(child)
    return out


def plan_nodes(plan: dict[str, Any]) -> list[tuple[str, float]]:
    """(label, estimated rows) of every node, in plan order (depth first)."""
    out = [(node_label(plan), float(plan.get("Plan Rows", 0)))]
    for child in plan.get("Plans") or []:
        out += plan_nodes(child)
    return out


def is_base_scan(label: str) -> bool:
    return " on " in label


def _root(explain: Any) -> dict[str, Any]:
    """The root plan of EXPLAIN (FORMAT JSON) output (the list, its first entry, or a plan)."""
    if isinstance(explain, list):
        explain = explain[0]
    plan: dict[str, Any] = explain.get("Plan", explain)
    return plan


def shape_fidelity(shape: str, source: Any, synthetic: Any) -> ShapeFidelity:
    """One query shape's plan on the source against the plan on the synthetic data. Where the
    plans are the same, every node paired with its twin; where they differ, the base-table
    scans paired in plan order (by relation where the scan differs). The largest q-error is
    the base-table scans'."""
    a, b = _root(source), _root(synthetic)
    sig_a, sig_b = plan_signature(a), plan_signature(b)
    pairs: list[tuple[str, float, float]] = []
    if sig_a == sig_b:
        pairs = [(label, rows, other[1])
                 for (label, rows), other in zip(plan_nodes(a), plan_nodes(b), strict=True)]
    else:
        left = list(base_scans(b))
        for label, rows in base_scans(a):
            relation = label.rsplit(" on ", 1)[-1]
            match = next((x for x in left if x[0] == label), None) or \
                next((x for x in left if x[0].rsplit(" on ", 1)[-1] == relation), None)
            if match is None:
                continue
            left.remove(match)
            pairs.append((label, rows, match[1]))
    nodes = [NodeFidelity(node=label, source_rows=rows, synthetic_rows=mine,
                          q_error=q_error(rows, mine)) for label, rows, mine in pairs]
    return ShapeFidelity(shape=shape, same_plan=sig_a == sig_b, source_plan=sig_a,
                         synthetic_plan=sig_b, nodes=nodes,
                         max_q_error=max((n.q_error for n in nodes if is_base_scan(n.node)),
                                         default=None))


def with_shapes(data: DataFidelity, shapes: list[ShapeFidelity]) -> DataFidelity:
    errors = [n.q_error for s in shapes for n in s.nodes if is_base_scan(n.node)]
    return data.model_copy(update={"shapes": shapes, "median_q_error": median(errors)})


def headline(data: DataFidelity) -> str:
    """The one line at the top of the report."""
    where = f"; furthest: {data.furthest} ({data.furthest_what})" if data.furthest else ""
    line = f"data: within {data.distance:.1%} of production's statistics{where}"
    if data.shapes:
        same = sum(s.same_plan for s in data.shapes)
        worst = max((s.max_q_error or 1.0 for s in data.shapes), default=1.0)
        line += (f"; query shapes: {same} of {len(data.shapes)} plans the same, base-table "
                 f"estimates' q-error median {data.median_q_error or 1.0:.2f}, worst "
                 f"{worst:.2f}")
    return line
