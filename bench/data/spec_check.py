"""A data spec against the schema: every contradiction one line (ConfigError) naming the file
and the key, before anything is drawn; and the spec's literals (times, durations, values) as
the numbers the generator draws with."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from bench.data.columns import Spec
from bench.data.distributions import Law
from bench.data.spec_model import ColumnSpec, LawSpec, Raw, TableSpec
from bench.errors import ConfigError

if TYPE_CHECKING:
    from bench.data.generic import Plan

AXES = {"int2": "number", "int4": "number", "int8": "number", "numeric": "number",
        "float": "number", "date": "time", "timestamp": "time", "timestamptz": "time",
        "text": "text", "bool": "boolean"}
TIME_LAWS = ("uniform", "beta", "normal")  # over a time column (the others as a lag)
TEXT_LAWS = ("uniform", "zipf", "pareto")  # weights of a text column's `distinct` values
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|min|h|d|w)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "sec": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000,
            "w": 7 * 86_400_000, None: 1000}
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class DataSpec:
    """`[data.spec]` as read, and the file it was read from (named in every message)."""

    tables: Mapping[str, TableSpec]
    source: str = "[data.spec]"


class Where:
    def __init__(self, spec: DataSpec, table: str, column: str | None = None) -> None:
        self.text = f"{spec.source}: data.spec.{table}" + (f".columns.{column}" if column
                                                           else "")

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.text}: {message}")


# --- values as numbers ------------------------------------------------------------------------


def time_ms(value: Raw) -> float:
    """A time (TOML datetime or date, or ISO text) as epoch milliseconds (UTC when naive)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return (value - _EPOCH) / timedelta(milliseconds=1)
    if isinstance(value, date):
        return (datetime(value.year, value.month, value.day) - _EPOCH) / timedelta(
            milliseconds=1)
    raise ValueError(f"{value!r} is not a time")


def duration_ms(value: Raw) -> float:
    """A duration ("8s", "3d", "90min", "500ms"; a bare number is seconds) in milliseconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        return float(value) * 1000
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration (such as \"8s\", \"3d\", \"90min\")")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


def number(value: Raw) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def iso(ms: float) -> str:
    return (_EPOCH + timedelta(milliseconds=float(ms))).isoformat(timespec="milliseconds")


def law_of(law: LawSpec, axis: str, *, lag: bool = False) -> Law:
    """The distribution with its parameters as numbers on the column's axis (times as epoch
    ms, durations as ms: a lag's every parameter, a time column's sd)."""
    assert law.distribution is not None
    params: dict[str, float] = {}
    for key, raw in law.params().items():
        if axis == "time" and (lag or key not in ("min", "max", "mean")):
            params[key] = duration_ms(raw) if key in ("min", "max", "mean", "sd", "median") \
                else number(raw)
        elif axis == "time":
            params[key] = time_ms(raw)
        else:
            params[key] = number(raw)
    return Law.of(law.distribution, params)


def parse_value(raw: Raw, axis: str) -> float | str:
    """A literal of the column's axis: text as it is, numbers and times as numbers."""
    if axis == "text":
        return str(raw)
    if axis == "time":
        return time_ms(raw)
    if axis == "boolean":
        if isinstance(raw, bool):
            return float(raw)
        text = str(raw).lower()
        if text not in ("true", "false", "t", "f"):
            raise ValueError(f"{raw!r} is not a boolean")
        return float(text in ("true", "t"))
    return number(raw)



def allowed_range(spec: Spec) -> tuple[float, float, bool, bool, str]:
    """The numbers a column may hold: its CHECK bounds and numeric(p, s)'s digits."""
    lo, hi, lo_strict, hi_strict = -math.inf, math.inf, False, False
    b = spec.bounds
    what = ["CHECK bounds"] if b.lo is not None or b.hi is not None else []
    if b.lo is not None:
        lo, lo_strict = b.lo, b.lo_strict
    if b.hi is not None:
        hi, hi_strict = b.hi, b.hi_strict
    if spec.kind == "numeric" and spec.precision:
        top = 10.0 ** (spec.precision - spec.scale) - 10.0 ** -spec.scale
        what.append(f"numeric({spec.precision},{spec.scale})")
        if top < hi:
            hi, hi_strict = top, False
        if -top > lo:
            lo, lo_strict = -top, False
    return lo, hi, lo_strict, hi_strict, " and ".join(what) or "type"


def _outside(spec: Spec, lo: float, hi: float) -> str | None:
    """What of [lo, hi] the column cannot hold, or None."""
    a, b, a_strict, b_strict, what = allowed_range(spec)
    if lo < a or (a_strict and lo <= a) or hi > b or (b_strict and hi >= b):
        shown = f"{'(' if a_strict else '['}{a:g}, {b:g}{')' if b_strict else ']'}"
        return f"{lo:g}..{hi:g} is outside the column's {what} {shown}"
    return None


def _value_error(where: Where, what: str, exc: ValueError) -> ConfigError:
    return where.fail(f"{what}: {exc}")


def check_table(spec: DataSpec, plan: Plan, ts: TableSpec) -> None:
    """ConfigError for the first thing in the table's spec that the schema contradicts."""
    table = plan.name
    here = Where(spec, table)
    fk_first = {fk.columns[0]: fk for fk in plan.drawn}
    fk_columns = {c for fk in plan.drawn for c in fk.columns}
    if ts.rows_per_parent is not None and ts.rows_per_parent.parent not in plan.parents:
        raise here.fail(f"rows_per_parent: {ts.rows_per_parent.parent} is not a parent of "
                        f"{table} (its foreign keys point at "
                        f"{', '.join(sorted(plan.parents)) or 'no table'})")
    for name, col in ts.columns.items():
        if name not in plan.specs:
            raise Where(spec, table, name).fail(
                f"unknown column (the table has {', '.join(plan.specs)})")
        _check_column(Where(spec, table, name), plan, ts, name, col, fk_first, fk_columns)
    if ts.order not in (None, "random"):
        order = ts.order
        if order not in plan.specs:
            raise here.fail(f"order: unknown column {order!r} (or \"random\")")
        by = ts.columns.get(order)
        if order not in plan.injective and (
                by is None or (by.values is None and by.distribution is None)):
            raise here.fail(f"order: {order} gets no values or distribution of its own in "
                            "the spec to sort the rows by")
    _check_cycles(here, ts)


def _check_column(where: Where, plan: Plan, ts: TableSpec, name: str, col: ColumnSpec,
                  fk_first: Mapping[str, object], fk_columns: set[str]) -> None:
    s = plan.specs[name]
    if name in plan.keyed:
        raise where.fail("a key or unique column (or one another table references): its "
                         "values are the generator's own, counted up")
    if name in fk_columns:
        if name not in fk_first:
            raise where.fail("part of a composite foreign key: give its first column")
        extra = [k for k in ("values", "distribution", "distinct", "after", "mapped_from",
                             "null_unless", "min", "max") if getattr(col, k) is not None]
        if extra:
            raise where.fail(f"a foreign key takes fanout and null_frac, not {extra[0]}")
        fk = fk_first[name]
        if col.fanout is not None and getattr(fk, "parent", None) == plan.name:
            raise where.fail("fanout on a self reference (it points at an earlier row)")
        if col.fanout is not None:
            _law(where, col.fanout, "number", "fanout", fanout=True)
    elif col.fanout is not None:
        raise where.fail("fanout on a column that is no foreign key")
    if ((col.null_frac or 0) > 0 or col.null_unless is not None) and not s.nullable:
        raise where.fail(f"{'null_frac > 0' if col.null_frac else 'null_unless'} on a "
                         "NOT NULL column")
    axis = AXES.get(s.kind)
    makes = [k for k in ("values", "distribution", "distinct", "after", "mapped_from")
             if getattr(col, k) is not None]
    if makes and axis is None:
        raise where.fail(f"a {s.kind} column takes no {makes[0]} here (null_frac and "
                         "null_unless only)")
    if col.values is not None:
        assert axis is not None
        for key in col.values:
            _check_literal(where, s, axis, key, f"value {key!r}")
    if col.distribution is not None:
        assert axis is not None
        _check_distribution(where, s, axis, col)
    elif col.distinct is not None and axis != "text":
        raise where.fail("distinct needs a distribution to spread the values over")
    if col.distinct is not None and col.distinct > 0 and math.isfinite(s.domain) \
            and col.distinct > s.domain:
        raise where.fail(f"distinct {col.distinct:g} is above the {s.domain:g} values the "
                         "column can hold")
    if (col.min is not None or col.max is not None) and col.distribution is None \
            and col.after is None:
        raise where.fail("min/max without a distribution")
    if col.after is not None:
        _check_after(where, plan, name, col, axis)
    if col.mapped_from is not None:
        _check_mapped(where, plan, ts, name, col, axis)
    if col.null_unless is not None:
        source = _source(where, plan, name, col.null_unless.column, "null_unless")
        source_axis = AXES.get(source.kind, "text")
        for v in col.null_unless.values:
            _check_literal(where, source, source_axis, v, f"null_unless: value {v!r}")


def _law(where: Where, law: LawSpec, axis: str, what: str, *, lag: bool = False,
         fanout: bool = False) -> Law:
    if fanout and law.distribution == "uniform" and not law.params():
        return Law.of("uniform", {"min": 0.0, "max": 1.0})
    try:
        return law_of(law, axis, lag=lag)
    except ValueError as exc:
        raise _value_error(where, what, exc) from None


def _check_distribution(where: Where, s: Spec, axis: str, col: ColumnSpec) -> None:
    dist = col.distribution
    if axis == "boolean":
        raise where.fail("a boolean column takes values = {true = ..., false = ...}")
    if axis == "text":
        if s.choices is not None:
            raise where.fail(f"the schema fixes its values ({', '.join(s.choices)}): give "
                             "values = {...} with their weights")
        if dist not in TEXT_LAWS or set(col.params()) - {"s", "alpha"}:
            raise where.fail(f"a text column's distribution is over its `distinct` values: "
                             f"{', '.join(TEXT_LAWS)} (zipf with s, pareto with alpha), not "
                             f"{dist}"
                             f"{' with ' + ', '.join(col.params()) if col.params() else ''}")
        if col.distinct is None:
            raise where.fail(f"{dist} over a text column needs distinct = N (how many values)")
        return
    if axis == "time" and dist not in TIME_LAWS:
        raise where.fail(f"{dist} over a time column: it takes {', '.join(TIME_LAWS)} (as a "
                         "lag after another column, any: after = {column, lag})")
    law = _law(where, col, axis, dist or "")
    lo, hi = law.support
    if law.discrete and not math.isfinite(hi) and float(law.get("s") or 0) <= 1:
        raise where.fail("zipf with s <= 1 needs max (its sum diverges)")
    if axis == "number":
        problem = _outside(s, lo, hi)
        if problem:
            raise where.fail(f"{dist}: {problem}: give min/max inside")


def _check_literal(where: Where, s: Spec, axis: str, raw: Raw, what: str) -> None:
    try:
        value = parse_value(raw, axis)
    except ValueError as exc:
        raise _value_error(where, what, exc) from None
    if s.choices is not None and str(raw) not in s.choices:
        raise where.fail(f"{what} is not one the schema allows ({', '.join(s.choices)})")
    if axis == "number":
        assert isinstance(value, float)
        if s.kind in ("int2", "int4", "int8") and value != int(value):
            raise where.fail(f"{what} is no integer")
        problem = _outside(s, value, value)
        if problem:
            raise where.fail(f"{what}: {problem}")


def _source(where: Where, plan: Plan, name: str, source: str, what: str) -> Spec:
    if source == name:
        raise where.fail(f"{what}: the column names itself")
    if source not in plan.specs:
        raise where.fail(f"{what}: unknown column {source!r}")
    return plan.specs[source]


def _check_after(where: Where, plan: Plan, name: str, col: ColumnSpec, axis: str | None
                 ) -> None:
    assert col.after is not None
    source = _source(where, plan, name, col.after.column, "after")
    source_axis = AXES.get(source.kind)
    if axis not in ("number", "time") or source_axis != axis:
        raise where.fail(f"after: {col.after.column} is {source.kind}, {name} is "
                         f"{plan.specs[name].kind}: both numbers or both times")
    lag = _law(where, col.after.lag, axis, "after: lag", lag=True)
    if lag.support[0] < 0:
        raise where.fail("after: the lag can be below 0 (give the lag min >= 0)")
    for bound in (col.min, col.max):
        if bound is not None:
            _check_literal(where, plan.specs[name], axis, bound, f"bound {bound!r}")


def _check_mapped(where: Where, plan: Plan, ts: TableSpec, name: str, col: ColumnSpec,
                  axis: str | None) -> None:
    m = col.mapped_from
    assert m is not None and axis is not None
    source = _source(where, plan, name, m.column, "mapped_from")
    source_axis = AXES.get(source.kind, "text")
    target = plan.specs[name]
    outputs = list(m.map.values()) if isinstance(m.map, dict) else [e[2] for e in m.map]
    for v in [*outputs, *([m.otherwise] if m.otherwise is not None else [])]:
        _check_literal(where, target, axis, v, f"mapped_from: value {v!r}")
    covered = m.otherwise is not None or target.nullable
    if isinstance(m.map, list):
        if source_axis not in ("number", "time"):
            raise where.fail(f"mapped_from: ranges over {m.column}, a {source.kind} column "
                             "(map it value by value: map = {source = value})")
        spans = []
        for lo, hi, _ in m.map:
            try:
                spans.append((float(parse_value(lo, source_axis)),
                              float(parse_value(hi, source_axis))))
            except ValueError as exc:
                raise _value_error(where, "mapped_from", exc) from None
        if not covered:
            law = _source_law(ts, m.column, source_axis)
            if law is None or not _covers(spans, *law.support):
                raise where.fail(f"mapped_from: a NOT NULL column, and the ranges may not "
                                 f"cover every value of {m.column}: give else = ...")
    else:
        keys = set()
        for key in m.map:
            _check_literal(where, source, source_axis, key, f"mapped_from: key {key!r}")
            keys.add(str(key))
        if not covered:
            known = ts.columns.get(m.column)
            values = set(known.values) if known and known.values else (
                set(source.choices) if source.choices else None)
            if values is None or not values <= keys:
                raise where.fail(f"mapped_from: a NOT NULL column, and the map may not name "
                                 f"every value of {m.column}: give else = ...")


def _source_law(ts: TableSpec, column: str, axis: str) -> Law | None:
    col = ts.columns.get(column)
    if col is None or col.distribution is None:
        return None
    try:
        return law_of(col, axis)
    except ValueError:
        return None


def _covers(spans: list[tuple[float, float]], lo: float, hi: float) -> bool:
    """[lo, hi] inside the union of [a, b) spans (hi itself in one)."""
    at = lo
    for a, b in sorted(spans):
        if a > at:
            break
        if b > at:
            at = b
        if at > hi:
            return True
    return at > hi


def _check_cycles(where: Where, ts: TableSpec) -> None:
    sources = {name: col.sources for name, col in ts.columns.items()}

    def walk(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            cycle = (*path[path.index(name):], name)
            raise where.fail(f"columns made from each other: {' -> '.join(cycle)}")
        for s in sources.get(name, []):
            walk(s, (*path, name))

    for name in sorted(sources):
        walk(name, ())
