"""A data spec (`[data.spec]`, README.md "Data spec") checked against the schema and compiled
into what the generic generator already draws from.

No engine of its own: a value set becomes most common values with their frequencies, a
continuous distribution within its bounds a histogram of 1,000 equal-share buckets (its
quantile function at evenly spaced probabilities), Zipf its most common values (and a
histogram of its tail), `distinct` the statistics' distinct count: a `ColumnStats`, made a
`ColumnModel` by bench/data/from_stats.py as a stats file's column is. Physical order is the
model's sorted share (1: sorted by that column, 0: random). A foreign key's fan-out is a weight
per parent row drawn from its distribution. Dependent columns (after another with a lag, NULL
unless another has given values, mapped from another) are a step after the block is drawn
(`TableFinish`): they read the values of their sources before those get their own NULLs.

Rows per table: `rows` (at scale 1) or `rows_per_parent` times the parent's rows, over
`[data] tables` and the stats file's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.data.columns import NULL_FRACTION, Pools, Spec, Values, as_number
from bench.data.distributions import Law
from bench.data.fanout import Weighted, split_rows, stream
from bench.data.from_stats import Modelled, column_model, text_labels
from bench.data.spec_check import AXES as _AXES
from bench.data.spec_check import DataSpec, Where, check_table, iso, law_of, parse_value
from bench.data.spec_model import ColumnSpec, TableSpec
from bench.data.strings import Pick, Pool, Text, materialize
from bench.results.table_stats import ColumnStats

if TYPE_CHECKING:
    from bench.data.generic import Plan

BUCKETS = 1000  # histogram buckets of a continuous distribution
MAX_ATOMS = 10_000  # most common values of a discrete one (Zipf), the rest a histogram
DISCRETE_SPAN = 2000  # an integer column spanning at most this many values: each its own


# --- compiled ---------------------------------------------------------------------------------


class SpecFanout:
    """A foreign key's parents: a weight per parent row, fixed once (the same in every
    process); each child row picks its parent in proportion."""

    def __init__(self, weights: np.ndarray) -> None:
        self.sampler = Weighted(weights)

    def parents(self, rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
        drawn: np.ndarray = self.sampler.draw(rng, len(rows)) + 1
        return drawn


@dataclass(frozen=True)
class Step:
    """One dependent column of a table, made from `source` after the block is drawn."""

    column: str
    kind: str  # after, mapped_from
    source: str
    lag: Law | None = None
    clip: tuple[float, float] = (-math.inf, math.inf)
    ranges: tuple[tuple[float, float, int], ...] = ()  # (lo, hi, target code)
    exact: tuple[tuple[float | str, int], ...] = ()  # (source value, target code)
    otherwise: int | None = None  # target code where nothing matches (None: NULL)
    targets: tuple[float | str, ...] = ()


@dataclass
class TableFinish:
    """The block's dependent columns and the NULLs of the columns the spec takes over."""

    table: str
    specs: Mapping[str, Spec]
    steps: list[Step] = field(default_factory=list)
    nulls: dict[str, float] = field(default_factory=dict)  # column -> null fraction
    unless: dict[str, tuple[str, tuple[float | str, ...]]] = field(default_factory=dict)

    def __call__(self, out: dict[str, Values], rng: np.random.Generator,
                 rows: np.ndarray) -> None:
        n = len(rows)
        for step in self.steps:
            out[step.column] = self._step(step, out[step.source], rng, n)
        masks: dict[str, np.ndarray] = {}
        for name, (source, allowed) in self.unless.items():
            masks[name] = ~_isin(out[source], allowed)
        for name, share in self.nulls.items():
            if share > 0:
                drop = rng.random(n) < share
                masks[name] = masks[name] | drop if name in masks else drop
        from bench.data.generic import with_null

        for name, mask in masks.items():
            out[name] = with_null(out[name], mask)

    def _step(self, step: Step, source: Values, rng: np.random.Generator, n: int) -> Values:
        target = self.specs[step.column]
        if step.kind == "after":
            assert step.lag is not None and isinstance(source, np.ndarray)
            lag = step.lag.sample(rng, n)
            if source.dtype.kind == "M":
                ms = source.astype("datetime64[ms]").astype(np.int64).astype(np.float64)
                t = np.clip(ms + lag, *step.clip)
                times = np.where(np.isnat(source), np.datetime64("NaT"),
                                 t.astype(np.int64).astype("datetime64[ms]"))
                return times.astype("datetime64[D]") if target.kind == "date" else times
            return as_number(target, np.clip(source.astype(np.float64) + lag, *step.clip))
        codes = np.full(n, -1 if step.otherwise is None else step.otherwise, dtype=np.int64)
        if step.ranges:
            x = np.asarray(source, dtype=np.float64) if not isinstance(source, Text) else None
            if x is None:
                raise AssertionError("ranges on a text source")  # checked when loaded
            if x.dtype.kind == "M":
                x = x.astype("datetime64[ms]").astype(np.int64).astype(np.float64)
            for lo, hi, code in reversed(step.ranges):  # the first that holds wins
                codes[(x >= lo) & (x < hi)] = code
        else:
            labels = materialize(source) if isinstance(source, Text) else np.asarray(source)
            for value, code in reversed(step.exact):
                codes[labels == value] = code
        null = codes < 0
        if target.kind == "text":
            pool = Pool([str(t) for t in step.targets])
            text = Text((Pick(pool, np.maximum(codes, 0)),))
            return Text(text.parts, null) if null.any() else text
        values = np.array([float(t) for t in step.targets])[np.maximum(codes, 0)]
        if target.kind == "bool":
            flags: np.ndarray = values > 0.5
            return flags if not null.any() else np.where(null, np.nan, values)
        if _AXES[target.kind] == "time":
            times = values.astype(np.int64).astype("datetime64[ms]")
            return np.where(null, np.datetime64("NaT"), times)
        shaped = as_number(target, values)
        return np.where(null, np.nan, shaped) if null.any() else shaped


def _isin(column: Values, allowed: tuple[float | str, ...]) -> np.ndarray:
    if isinstance(column, Text):
        labels = materialize(column)
        return np.isin(labels.astype(object), np.array(allowed, dtype=object))
    x = column
    if x.dtype.kind == "M":
        x = x.astype("datetime64[ms]").astype(np.int64)
    out: np.ndarray = np.isin(x.astype(np.float64), np.array(allowed, dtype=np.float64))
    return out


# --- checked against the schema ---------------------------------------------------------------


class CompiledSpec:
    """A data spec checked against the generator's plans (ConfigError, one line, for anything
    the schema contradicts); applied to the rows per table and to each context."""

    def __init__(self, spec: DataSpec, plans: Mapping[str, Plan]) -> None:
        self.spec = spec
        self.plans = plans
        for table, ts in spec.tables.items():
            where = Where(spec, table)
            if table not in plans:
                raise where.fail(f"unknown table (the schema has {', '.join(sorted(plans))})")
            check_table(spec, plans[table], ts)

    # -- rows ----------------------------------------------------------------------------------

    def table_rows(self, given: Mapping[str, int], total_rows: int | None) -> dict[str, int]:
        """Rows per table at scale 1: the spec's over `given`."""
        out = dict(given)
        for table, ts in self.spec.tables.items():
            if ts.rows is not None:
                out[table] = ts.rows
        pending = {t: ts.rows_per_parent for t, ts in self.spec.tables.items()
                   if ts.rows_per_parent is not None}
        parents = {n: p.parents & set(self.plans) for n, p in self.plans.items()}
        while pending:
            ready = [t for t, r in pending.items() if r.parent not in pending]
            if not ready:
                raise Where(self.spec, sorted(pending)[0]).fail(
                    "rows_per_parent: the parents' rows are given by each other")
            for t in sorted(ready):
                r = pending.pop(t)
                base = split_rows(parents, out, total_rows)
                out[t] = max(1, round(base[r.parent] * r.mean))
        return out

    def check_rows(self, base_rows: Mapping[str, int]) -> None:
        """`distinct` within the rows (at scale 1)."""
        for table, ts in self.spec.tables.items():
            for name, col in ts.columns.items():
                if col.distinct is not None and col.distinct > base_rows[table]:
                    raise Where(self.spec, table, name).fail(
                        f"distinct {col.distinct:g} is above the table's "
                        f"{base_rows[table]:,} rows")

    # -- the context ---------------------------------------------------------------------------

    def apply(self, seed: int, counts: Mapping[str, int], pools: Pools,
              models: MutableMapping[tuple[str, str], Modelled],
              fanouts: dict[tuple[str, tuple[str, ...]], Any],
              null_fracs: dict[tuple[str, str], float]) -> dict[str, TableFinish]:
        """The spec's columns over the stats file's (models, fan-outs, null fractions, for the
        tables' sizes at this scale); the finishing step per table."""
        finish: dict[str, TableFinish] = {}
        for table, ts in self.spec.tables.items():
            plan = self.plans[table]
            rows = counts[table]
            fk_of = {fk.columns[0]: fk for fk in plan.drawn}
            done = TableFinish(table, plan.specs)
            deps = {name: col for name, col in ts.columns.items() if col.sources}
            involved = set(deps) | {s for col in deps.values() for s in col.sources}
            for name, col in ts.columns.items():
                key = (table, name)
                spec = plan.specs[name]
                if name in fk_of:
                    fk = fk_of[name]
                    if col.fanout is not None:
                        fanouts[(table, fk.columns)] = self._fanout(
                            col, seed, table, fk.columns, counts[fk.parent])
                    if col.null_frac is not None:
                        null_fracs[key] = col.null_frac
                    continue
                if col.values is not None or col.distribution is not None or (
                        col.distinct is not None and spec.kind == "text"):
                    models[key] = self._model(col, spec, rows, pools)
                if col.null_frac is not None or name in involved or _makes(col):
                    # A column the spec makes has the NULLs it says (none unless it says).
                    own = col.null_frac if col.null_frac is not None else 0.0 if _makes(col) \
                        else null_fracs.get(key, NULL_FRACTION)
                    done.nulls[name] = own if spec.nullable else 0.0
                if col.null_unless is not None:
                    axis = _AXES.get(plan.specs[col.null_unless.column].kind, "text")
                    done.unless[name] = (col.null_unless.column, tuple(
                        parse_value(v, axis) for v in col.null_unless.values))
            for name in involved:
                source = plan.specs.get(name)
                if source is None or name in plan.keyed or name in fk_of:
                    continue
                if name not in done.nulls:
                    done.nulls[name] = null_fracs.get((table, name), NULL_FRACTION) \
                        if source.nullable else 0.0
            for name in list(done.nulls) + list(done.unless):
                null_fracs[(table, name)] = 0.0  # the finishing step makes them
            done.steps = [self._step(ts, plan, name) for name in _order(deps)]
            if ts.order is not None:
                for (t, name), (model, pool) in list(models.items()):
                    if t == table:
                        share = 1.0 if name == ts.order else 0.0
                        models[(t, name)] = (replace(model, sorted_share=share,
                                                     descending=False), pool)
                for (t, cols), slots in list(fanouts.items()):
                    if t == table and ts.order == "random" and hasattr(slots, "sorted_share"):
                        fanouts[(t, cols)] = replace(slots, sorted_share=0.0)
            if done.steps or done.nulls or done.unless:
                finish[table] = done
        return finish

    def _step(self, ts: TableSpec, plan: Plan, name: str) -> Step:
        col = ts.columns[name]
        target = plan.specs[name]
        axis = _AXES[target.kind]
        if col.after is not None:
            lag = law_of(col.after.lag, axis, lag=True)
            lo = parse_value(col.min, axis) if col.min is not None else -math.inf
            hi = parse_value(col.max, axis) if col.max is not None else math.inf
            return Step(name, "after", col.after.column, lag=lag,
                        clip=(float(lo), float(hi)))
        m = col.mapped_from
        assert m is not None
        source_axis = _AXES.get(plan.specs[m.column].kind, "text")
        outputs = list(m.map.values()) if isinstance(m.map, dict) else [e[2] for e in m.map]
        targets = list(dict.fromkeys(parse_value(v, axis) for v in
                                     [*outputs, *([m.otherwise] if m.otherwise is not None
                                                  else [])]))
        code = {t: i for i, t in enumerate(targets)}
        otherwise = code[parse_value(m.otherwise, axis)] if m.otherwise is not None else None
        if isinstance(m.map, dict):
            exact = tuple((parse_value(k, source_axis), code[parse_value(v, axis)])
                          for k, v in m.map.items())
            return Step(name, "mapped_from", m.column, exact=exact, otherwise=otherwise,
                        targets=tuple(targets))
        ranges = tuple((float(parse_value(lo, source_axis)), float(parse_value(hi, source_axis)),
                        code[parse_value(v, axis)]) for lo, hi, v in m.map)
        return Step(name, "mapped_from", m.column, ranges=ranges, otherwise=otherwise,
                    targets=tuple(targets))

    def _fanout(self, col: ColumnSpec, seed: int, table: str, columns: tuple[str, ...],
                parents: int) -> SpecFanout:
        assert col.fanout is not None
        rng = np.random.default_rng([seed, 3, stream(table, *columns)])
        f = col.fanout
        if f.distribution == "uniform" and not f.params():
            return SpecFanout(np.ones(parents))
        law = law_of(f, "number")
        if law.discrete:  # Zipf: by rank, the ranks dealt to the parent rows at random
            weights = np.arange(1, parents + 1, dtype=float) ** -float(law.get("s") or 1)
            return SpecFanout(weights[rng.permutation(parents)])
        # The law's quantiles at evenly spaced probabilities, dealt to the parent rows at
        # random: its shape without the luck of a few draws from a heavy tail.
        weights = law.ppf((np.arange(parents) + 0.5) / parents)
        return SpecFanout(np.maximum(weights[rng.permutation(parents)], 0.0) + 1e-12)

    def _model(self, col: ColumnSpec, spec: Spec, rows: int, pools: Pools
               ) -> Modelled:
        stats = self.column_stats(col, spec, rows, pools)
        model = column_model(stats, rows, spec.kind, choices=spec.choices)
        assert model is not None  # the spec was checked to describe it
        return model, text_labels(model, spec.length, rows) if model.kind == "text" \
            else None

    def column_stats(self, col: ColumnSpec, spec: Spec, rows: int, pools: Pools
                     ) -> ColumnStats:
        """The column as pg_stats would describe it (frequencies of all rows: no NULLs here,
        the finishing step makes them)."""
        axis = _AXES[spec.kind]
        kind = {"number": "number", "time": "time", "text": "text", "boolean": "boolean"}[axis]

        def stats(mcv: list[str], freqs: list[float], bounds: list[str] | None = None,
                  distinct: float = -1.0) -> ColumnStats:
            return ColumnStats(name=spec.name, kind=kind, values="kept",
                               null_frac=0.0, avg_width=8, n_distinct=distinct,
                               most_common_vals=mcv or None, most_common_freqs=freqs or None,
                               histogram_bounds=bounds)

        def text_of(x: float) -> str:
            return iso(x) if axis == "time" else repr(float(x))

        if col.values is not None:
            items = [(k, float(w)) for k, w in col.values.items() if float(w) > 0]
            if axis == "boolean":
                mcv = ["t" if parse_value(k, axis) else "f" for k, _ in items]
            elif axis == "text":
                mcv = [k for k, _ in items]
            else:
                mcv = [text_of(float(parse_value(k, axis))) for k, _ in items]
            return stats(mcv, [w for _, w in items], distinct=float(len(items)))
        distinct = _distinct(col.distinct, rows)
        if axis == "text":
            n = max(1, round(distinct)) if distinct > 0 else 1
            labels = _labels(pools, spec, n)
            if col.distribution == "zipf":
                w = np.arange(1, n + 1, dtype=float) ** -float(col.s or 1)
            elif col.distribution == "pareto":  # weights at the law's quantiles, largest first
                w = law_of(col, "number").ppf(1.0 - (np.arange(n) + 0.5) / n)
            else:
                w = np.ones(n)
            w = w / w.sum()
            return stats(labels, [float(x) for x in w], distinct=float(n))
        law = law_of(col, axis)
        lo, hi = law.support
        integer = spec.kind in ("int2", "int4", "int8")
        if law.discrete or (integer and hi - lo <= DISCRETE_SPAN):
            values, probs = _discrete(law, integer)
            head = probs[:MAX_ATOMS]
            mcv = [text_of(v) for v in values[:MAX_ATOMS]]
            tail = 1.0 - float(head.sum())
            bounds = None
            if len(values) > MAX_ATOMS and tail > 1e-9:
                bounds = [text_of(v) for v in _zipf_tail(law, float(values[MAX_ATOMS]), hi)]
            return stats(mcv, [float(p) for p in head], bounds,
                         distinct if col.distinct is not None else -1.0)
        if 0 < distinct <= DISCRETE_SPAN:  # few values: each at its quantile, equal shares
            atoms = law.ppf((np.arange(round(distinct)) + 0.5) / round(distinct))
            if integer:
                atoms = np.round(atoms)
            elif spec.kind == "numeric":
                atoms = np.round(atoms, spec.scale)
            unique = np.unique(atoms)
            return stats([text_of(v) for v in unique], [1.0 / len(unique)] * len(unique),
                         distinct=float(len(unique)))
        edges = law.ppf(np.linspace(0.0, 1.0, BUCKETS + 1))
        return stats([], [], [text_of(x) for x in edges], distinct)


def _makes(col: ColumnSpec) -> bool:
    """The spec says how the column's values (or NULLs) are made."""
    return any(getattr(col, k) is not None for k in ("values", "distribution", "distinct",
                                                     "after", "mapped_from", "null_unless"))


def _distinct(given: float | None, rows: int) -> float:
    if given is None:
        return -1.0
    return float(min(given, rows)) if given > 0 else float(given)


def _labels(pools: Pools, spec: Spec, n: int) -> list[str]:
    """n distinct text values in the style the column's name suggests (Faker pools), numbered
    past the pool's size."""
    hint = spec.hint if spec.hint in ("company", "person", "city", "country", "title", "name",
                                      "first_name", "last_name", "username", "url") else "word"
    base = [v for v in pools.get(hint).values.tolist() if v] or ["value"]
    out = [base[i % len(base)] if i < len(base) else f"{base[i % len(base)]} {i // len(base)}"
           for i in range(n)]
    if spec.length:
        out = [v[: spec.length] for v in out]
    return list(dict.fromkeys(out)) if len(set(out)) == len(out) else _numbered(n)


def _numbered(n: int) -> list[str]:
    width = len(str(n))
    return [f"v{i:0{width}d}" for i in range(n)]


def _discrete(law: Law, integer: bool) -> tuple[np.ndarray, np.ndarray]:
    """Values and probabilities of a discrete law (Zipf), or of a continuous one on the
    integers (each k the mass of [k - 0.5, k + 0.5) within the bounds), most likely first."""
    if law.discrete:
        values, probs = law.pmf(MAX_ATOMS + 1)
        return values, probs
    lo, hi = law.support
    ks = np.arange(math.ceil(lo), math.floor(hi) + 1, dtype=float)
    a, b = law._mass
    base = law._base
    cdf = (np.clip(base.cdf(np.minimum(ks + 0.5, hi)), a, b)
           - np.clip(base.cdf(np.maximum(ks - 0.5, lo)), a, b))
    probs = cdf / max(1e-300, cdf.sum())
    order = np.argsort(-probs, kind="stable")
    return ks[order], probs[order]


def _zipf_tail(law: Law, start: float, end: float) -> list[float]:
    """Bounds of equal-share buckets over the Zipf tail [start, end] (its density x^-s)."""
    s = float(law.get("s") or 1)
    lo, _ = law.support
    a, b = start - lo + 1, end - lo + 1
    q = np.linspace(0, 1, 101)
    if abs(s - 1) < 1e-9:
        x = a * (b / a) ** q
    else:
        x = (a ** (1 - s) + q * (b ** (1 - s) - a ** (1 - s))) ** (1 / (1 - s))
    return [float(v) + lo - 1 for v in x]


def _order(deps: Mapping[str, ColumnSpec]) -> list[str]:
    """The dependent columns, each after the ones it reads (cycles were refused)."""
    out: list[str] = []

    def visit(name: str) -> None:
        if name in out or name not in deps:
            return
        for s in deps[name].sources:
            visit(s)
        out.append(name)

    for name in sorted(deps):
        visit(name)
    return [n for n in out if deps[n].dependency is not None]
