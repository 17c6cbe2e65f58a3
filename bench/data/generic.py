"""The generic generator: rows for any schema from its catalog alone.

Made from the reflected tables (bench/data/load.reflect), it fills every column the schema
has (but generated ones) so that the constraints hold when the load makes them again:

* keys: a single-column primary key or unique column counts up with the row number (integers
  1..n, text a prefix and the zero-padded number, uuids a hash of it); a composite key (or a
  unique key over foreign-key columns) is made from the row number too: the rows are dealt out
  to the parents of its first foreign key, skewed (bench/data/fanout.py), and numbered within
  each parent (order 7's lines 1, 2, 3...), the remaining key columns drawn from that number;
  columns that other tables reference are made the same way. So any process computes the key
  of a parent's row k without the parent's rows: a block depends on (seed, table, block) only.
* foreign keys (also composite and text ones): a parent row per child row, drawn by the
  parent's skewed weights (fanout.py), and its key; NULL in NULL_FRACTION of the rows of a
  nullable one; a self reference points at an earlier row.
* everything else by type and name (bench/data/columns.py), inside the CHECK constraints it
  understands (bench/data/checks.py) and the enum's labels, varchar(n)/char(n) lengths; nullable
  columns NULL in NULL_FRACTION of the rows.

A table it cannot fill (a type it does not know, keys it cannot keep unique) stops the run
with one line naming the table and column: the project file should then name the app's own
generator (`[data] generator = "package.module"`, see bench/data/generator.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import numpy as np
import sqlalchemy as sa

from bench.data import checks as checks_mod
from bench.data.columns import (
    INFINITE,
    NULL_FRACTION,
    Pools,
    Spec,
    Values,
    as_number,
    key_values,
    kind_of,
    spec_of,
    values,
)
from bench.data.fanout import Weighted, allocate, levels, pareto_weights, split_rows, stream
from bench.data.from_stats import (
    ColumnModel,
    LazyModels,
    Modelled,
    TextLabels,
    column_model,
    fanout_slots,
    text_labels,
)
from bench.data.generator import Block
from bench.data.spec import CompiledSpec
from bench.data.spec_check import DataSpec
from bench.data.strings import Text
from bench.errors import ConfigError
from bench.results.table_stats import ColumnStats, StatsFile

BLOCK_ROWS = 65_536  # rows per random stream: part of what a seed means, keep it fixed
_HOOK = ('name an own generator in the project file ([data] generator = "package.module"; '
         "see bench/data/generator.py)")


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    parent: str
    refs: tuple[str, ...]
    nullable: bool


@dataclass(frozen=True)
class Unit:
    """Part of a composite key: a foreign key's columns, or one plain column."""

    columns: tuple[str, ...]
    fk: ForeignKey | None = None


@dataclass
class Plan:
    name: str
    specs: dict[str, Spec]  # the columns to fill, in table order
    units: list[Unit] = field(default_factory=list)  # the composite key, grouping unit first
    injective: list[str] = field(default_factory=list)  # columns made from the row number
    drawn: list[ForeignKey] = field(default_factory=list)  # foreign keys drawn per row
    order: list[tuple[str, str]] = field(default_factory=list)  # (greater, lesser) columns
    parents: set[str] = field(default_factory=set)

    @property
    def composite(self) -> set[str]:
        return {c for u in self.units for c in u.columns}

    @property
    def keyed(self) -> set[str]:
        return self.composite | set(self.injective)


class Parents(Protocol):
    """A foreign key's parent rows per child row (from a stats file's fan-out, or a spec's)."""

    def parents(self, rng: np.random.Generator, rows: np.ndarray) -> np.ndarray: ...


# A data spec's step after a block is drawn: dependent columns, its NULLs (bench/data/spec.py).
Finish = Callable[[dict[str, Values], np.random.Generator, np.ndarray], None]


@dataclass(frozen=True)
class Context:
    seed: int
    counts: dict[str, int]
    samplers: dict[str, Weighted]  # parent table -> its rows' weights
    starts: dict[str, np.ndarray]  # table with a composite key -> first row of each group
    pools: Pools
    # From a stats file (--stats): columns' models (and text pools), foreign keys' slots.
    models: MutableMapping[tuple[str, str], Modelled] = field(default_factory=dict)
    fanouts: dict[tuple[str, tuple[str, ...]], Parents] = field(default_factory=dict)
    null_fracs: dict[tuple[str, str], float] = field(default_factory=dict)
    finish: dict[str, Finish] = field(default_factory=dict)  # per table, from a data spec


class GenericGenerator:
    def __init__(self, tables: Sequence[sa.Table], *, table_rows: Mapping[str, int],
                 total_rows: int | None, stats: StatsFile | None = None,
                 spec: DataSpec | None = None) -> None:
        names = {t.name for t in tables}
        unknown = sorted(set(table_rows) - names)
        if unknown:
            raise ConfigError(f"[data] tables names tables the schema lacks: "
                              f"{', '.join(unknown)}")
        self.stats = stats
        if stats is not None:  # rows from pg_class.reltuples; [data] tables still win
            from_file = {t.name: max(1, round(t.reltuples)) for t in stats.tables
                         if t.name in names and t.reltuples >= 0}
            table_rows = from_file | dict(table_rows)
        referenced: dict[str, set[str]] = {t.name: set() for t in tables}
        for t in tables:
            for fk in _foreign_keys(t, {}):
                if fk.parent in referenced:
                    referenced[fk.parent] |= set(fk.refs)
        self.plans = {t.name: _plan(t, referenced[t.name]) for t in tables}
        # A data spec ([data.spec]): checked against the plans; its rows over the others.
        self.spec = CompiledSpec(spec, self.plans) if spec is not None else None
        if self.spec is not None:
            table_rows = self.spec.table_rows(table_rows, total_rows)
        self.base_rows = split_rows({n: p.parents & names for n, p in self.plans.items()},
                                    table_rows, total_rows)
        if self.spec is not None:
            self.spec.check_rows(self.base_rows)
        self._check_key_cycles()

    # -- the Generator interface ------------------------------------------------------------

    def row_counts(self, scale: float) -> dict[str, int]:
        counts: dict[str, int] = {}
        depth = levels({n: p.parents for n, p in self.plans.items()})
        for name in sorted(self.plans, key=lambda t: (depth[t], t)):
            n = max(1, round(self.base_rows[name] * scale))
            cap = self._cap(self.plans[name], counts, scale)
            counts[name] = max(1, n if cap >= n else int(cap))
        return counts

    def make_context(self, seed: int, scale: float) -> Context:
        counts = self.row_counts(scale)
        parents = {fk.parent for p in self.plans.values() for fk in p.drawn} | {
            u.fk.parent for p in self.plans.values() for u in p.units[:1] if u.fk}
        samplers = {}
        for parent in sorted(parents):
            rng = np.random.default_rng([seed, 0, stream(parent)])
            samplers[parent] = Weighted(pareto_weights(rng, counts[parent]))
        starts = {}
        for name, plan in self.plans.items():
            if plan.units and plan.units[0].fk:
                parent = plan.units[0].fk.parent
                cap = self._rest_cap(plan, counts)
                per_parent = allocate(counts[name], samplers[parent].weights, cap)
                starts[name] = np.concatenate([[0], np.cumsum(per_parent)])
        models, fanouts, null_fracs = self._from_stats(seed, counts)
        pools = Pools(seed)
        finish: dict[str, Finish] = {}
        if self.spec is not None:  # the spec's columns over the stats file's
            finish = dict(self.spec.apply(seed, counts, pools, models, fanouts, null_fracs))
        return Context(seed, counts, samplers, starts, pools, models, fanouts, null_fracs,
                       finish)

    def _from_stats(self, seed: int, counts: Mapping[str, int]) -> tuple[
            MutableMapping[tuple[str, str], Modelled],
            dict[tuple[str, tuple[str, ...]], Parents], dict[tuple[str, str], float]]:
        """The columns and foreign keys the stats file describes (bench/data/from_stats.py),
        for the tables' sizes at this scale. Keys and unique columns stay the generator's own.
        A column's model is made when its table is first generated (LazyModels)."""
        recipes: dict[tuple[str, str], Callable[[], Modelled | None]] = {}
        fanouts: dict[tuple[str, tuple[str, ...]], Parents] = {}
        null_fracs: dict[tuple[str, str], float] = {}
        if self.stats is None:
            return {}, fanouts, null_fracs
        for table in self.stats.tables:
            plan = self.plans.get(table.name)
            if plan is None:
                continue
            drawn = {c for fk in plan.drawn for c in fk.columns}
            for column in table.columns:
                spec = plan.specs.get(column.name)
                if spec is None or column.name in plan.keyed:
                    continue
                if spec.nullable:
                    null_fracs[(table.name, column.name)] = column.null_frac
                if column.name in drawn:
                    continue
                recipes[(table.name, column.name)] = partial(
                    _column_model, column, counts[table.name], spec)
        for fk_stats in self.stats.foreign_keys:
            plan = self.plans.get(fk_stats.table)
            if plan is None:
                continue
            for fk in plan.drawn:
                if list(fk.columns) != fk_stats.columns or fk.parent != fk_stats.parent_table \
                        or fk.parent == plan.name:
                    continue
                child = self.stats.table(plan.name)
                fk_column = child.column(fk.columns[0]) if child else None
                fanouts[(plan.name, fk.columns)] = fanout_slots(
                    fk_stats, counts[fk.parent], counts[plan.name], seed,
                    stream(plan.name, *fk.columns), fk_column.correlation if fk_column else None)
        return LazyModels(recipes), fanouts, null_fracs

    def blocks(self, context: Any, table: str) -> Iterator[Block]:
        ctx: Context = context
        plan = self.plans[table]
        n = ctx.counts[table]
        for number, start in enumerate(range(0, n, BLOCK_ROWS)):
            rng = np.random.default_rng([ctx.seed, stream(table), number])
            rows = np.arange(start + 1, min(start + BLOCK_ROWS, n) + 1, dtype=np.int64)
            yield self._block(ctx, plan, rng, rows)

    # -- rows -------------------------------------------------------------------------------

    def _block(self, ctx: Context, plan: Plan, rng: np.random.Generator,
               rows: np.ndarray) -> Block:
        n = len(rows)
        out: dict[str, Values] = {}
        if plan.units:
            out.update(self._composite(ctx, plan, rows))
        for name in plan.injective:
            out[name] = key_values(plan.specs[name], rows - 1, ctx.counts[plan.name],
                                   ctx.pools, ctx.seed)
        for fk in plan.drawn:
            slots = ctx.fanouts.get((plan.name, fk.columns))
            if fk.parent == plan.name:  # an earlier row (the first row points at itself)
                parent_rows = 1 + np.floor((rows - 1) * rng.random(n) ** 2).astype(np.int64)
                null = (rows == 1) if fk.nullable else None
            elif slots is not None:
                parent_rows = slots.parents(rng, rows)
                null = None
            else:
                parent_rows = ctx.samplers[fk.parent].draw(rng, n) + 1
                null = None
            if fk.nullable:
                share = ctx.null_fracs.get((plan.name, fk.columns[0]), NULL_FRACTION)
                drop = rng.random(n) < share
                null = drop if null is None else null | drop
            keys = self.key_of(ctx, fk.parent, fk.refs, parent_rows)
            for local, ref in zip(fk.columns, fk.refs, strict=True):
                out[local] = with_null(keys[ref], null)
        for name, spec in plan.specs.items():
            if name in out:
                continue
            share = ctx.null_fracs.get((plan.name, name), NULL_FRACTION)
            modelled = ctx.models.get((plan.name, name))
            if modelled is not None:
                column = _modelled(spec, *modelled, rng, rows, ctx.counts[plan.name])
            else:
                column = values(spec, rng, n, ctx.pools, ctx.seed)
            out[name] = with_null(column, rng.random(n) < share) \
                if spec.nullable and share > 0 else column
        finish = ctx.finish.get(plan.name)
        if finish is not None:  # a data spec's dependent columns and NULLs
            finish(out, rng, rows)
        for greater, lesser in plan.order:
            out[greater] = _after(rng, out[greater], out[lesser])
        return {name: out[name] for name in plan.specs}

    def key_of(self, ctx: Context, table: str, columns: Sequence[str], rows: np.ndarray
               ) -> dict[str, Values]:
        """The key columns of `table`'s rows number `rows` (1-based), from the numbers alone."""
        plan = self.plans[table]
        out: dict[str, Values] = {}
        if plan.units and any(c in plan.composite for c in columns):
            out.update(self._composite(ctx, plan, rows))
        for name in columns:
            if name not in out:
                out[name] = key_values(plan.specs[name], rows - 1, ctx.counts[table],
                                       ctx.pools, ctx.seed)
        return out

    def _composite(self, ctx: Context, plan: Plan, rows: np.ndarray) -> dict[str, Values]:
        first, rest = plan.units[0], plan.units[1:]
        r0 = rows - 1
        if first.fk:
            starts = ctx.starts[plan.name]
            group = np.searchsorted(starts, r0, side="right") - 1
            ordinal = r0 - starts[group]
        else:
            size = self._group_size(plan, ctx.counts)
            group, ordinal = r0 // size, r0 % size
        out = self._unit(ctx, plan, first, group)
        finite = [u for u in rest if math.isfinite(self._domain(plan, u, ctx.counts))]
        left = ordinal
        for i, unit in enumerate(finite + [u for u in rest if u not in finite]):
            domain = self._domain(plan, unit, ctx.counts)
            if math.isfinite(domain):
                index, left = left % int(domain), left // int(domain)
            elif i == len(finite):
                index, left = left, np.zeros_like(left)
            else:
                index = np.zeros_like(left)
            if unit.fk:  # spread each group over the parent's rows from its own offset
                n_parent = ctx.counts[unit.fk.parent]
                offset = (group * 2_654_435_761 + stream(plan.name, *unit.columns)) % n_parent
                index = (index + offset) % n_parent
            out.update(self._unit(ctx, plan, unit, index))
        return out

    def _unit(self, ctx: Context, plan: Plan, unit: Unit, index: np.ndarray
              ) -> dict[str, Values]:
        if unit.fk:
            keys = self.key_of(ctx, unit.fk.parent, unit.fk.refs, index + 1)
            return {local: keys[ref] for local, ref in zip(unit.columns, unit.fk.refs,
                                                           strict=True)}
        name = unit.columns[0]
        return {name: key_values(plan.specs[name], index, ctx.counts[plan.name], ctx.pools,
                                 ctx.seed)}

    # -- how many rows a key can hold -------------------------------------------------------

    def _domain(self, plan: Plan, unit: Unit, counts: Mapping[str, int]) -> float:
        if unit.fk:
            return counts.get(unit.fk.parent, self.base_rows[unit.fk.parent])
        return plan.specs[unit.columns[0]].domain

    def _rest_cap(self, plan: Plan, counts: Mapping[str, int]) -> float:
        return math.prod(self._domain(plan, u, counts) for u in plan.units[1:])

    def _cap(self, plan: Plan, counts: Mapping[str, int], scale: float) -> float:
        scaled = {t: counts.get(t, max(1, round(n * scale))) for t, n in self.base_rows.items()}
        cap = min([plan.specs[c].domain for c in plan.injective] or [INFINITE])
        if plan.units:
            cap = min(cap, self._domain(plan, plan.units[0], scaled)
                      * self._rest_cap(plan, scaled))
        return cap

    def _group_size(self, plan: Plan, counts: Mapping[str, int]) -> int:
        n = counts[plan.name]
        if len(plan.units) == 1:
            return 1
        first = self._domain(plan, plan.units[0], counts)
        if math.isfinite(first):
            return max(1, math.ceil(n / first))
        rest = self._rest_cap(plan, counts)
        return int(rest) if math.isfinite(rest) else max(1, math.isqrt(n))

    def _check_key_cycles(self) -> None:
        """A composite key made from a parent's key, made from ... this one: no row number
        gives it."""
        def walk(table: str, seen: tuple[str, ...]) -> None:
            if table in seen:
                raise ConfigError(
                    f"{table}.{', '.join(self.plans[table].units[0].columns)}: the composite "
                    f"keys of {' -> '.join((*seen, table))} are made from each other; {_HOOK}")
            for unit in self.plans[table].units:
                if unit.fk and unit.fk.parent in self.plans:
                    walk(unit.fk.parent, (*seen, table))

        for name in sorted(self.plans):
            walk(name, ())


def _column_model(column: ColumnStats, rows: int, spec: Spec) -> Modelled | None:
    model = column_model(column, rows, spec.kind, choices=spec.choices)
    if model is None:
        return None
    return model, text_labels(model, spec.length, rows) if model.kind == "text" else None


def _modelled(spec: Spec, model: ColumnModel, labels: TextLabels | None,
              rng: np.random.Generator, rows: np.ndarray, total: int) -> Values:
    """A block of a column made from its statistics, in the representation of its kind."""
    u = model.uniforms(rng, rows, total)
    if model.kind == "text":
        assert labels is not None
        return labels.text(*model.piece_cell(u))
    x = model.numbers(u)
    if model.kind == "boolean":
        flags: np.ndarray = x > 0.5
        return flags
    if model.kind == "time":
        t = x.astype(np.int64).astype("datetime64[ms]")
        return t.astype("datetime64[D]") if spec.kind == "date" else t
    return as_number(spec, x)


def with_null(column: Values, null: np.ndarray | None) -> Values:
    """The column with NULL where `null` is True (in the representation of its kind)."""
    if null is None or not null.any():
        return column
    if isinstance(column, Text):
        both = null if column.null is None else (column.null | null)
        return Text(column.parts, both)
    if column.ndim == 2:  # uuid halves: the nil UUID stands for NULL
        out = column.copy()
        out[null] = 0
        return out
    if column.dtype.kind == "M":
        return np.where(null, np.datetime64("NaT"), column)
    return np.where(null, np.nan, column.astype(np.float64))


def _after(rng: np.random.Generator, greater: Values, lesser: Values) -> Values:
    """`greater` moved past `lesser` where it is not (CHECK (greater > lesser))."""
    if isinstance(greater, Text) or isinstance(lesser, Text) or greater.ndim != 1:
        return greater
    n = len(greater)
    if greater.dtype.kind == "M":
        step = (1000 + rng.exponential(2 * 86_400_000, n)).astype("timedelta64[ms]")
        fixed = np.where(np.isnat(lesser), greater, np.maximum(greater, lesser + step))
        return np.where(np.isnat(greater), greater, fixed)
    step = 1.0 + np.floor(rng.exponential(5.0, n))
    moved = np.where(greater > lesser, greater, lesser + step)
    return moved.astype(greater.dtype) if greater.dtype.kind in "iu" else moved


def _foreign_keys(table: sa.Table, specs: Mapping[str, Spec]) -> list[ForeignKey]:
    out = []
    for fk in sorted(table.foreign_key_constraints, key=lambda k: (k.name or "", k.column_keys)):
        columns = tuple(e.parent.name for e in fk.elements)
        refs = tuple(e.column.name for e in fk.elements)
        nullable = all(specs[c].nullable for c in columns) if specs else False
        out.append(ForeignKey(columns, fk.referred_table.name, refs, nullable))
    return out


def _unique_sets(table: sa.Table, names: set[str]) -> list[tuple[str, ...]]:
    sets = [tuple(c.name for c in table.primary_key.columns)]
    for c in table.constraints:
        if isinstance(c, sa.UniqueConstraint) and not isinstance(c, sa.PrimaryKeyConstraint):
            sets.append(tuple(col.name for col in c.columns))
    for index in sorted(table.indexes, key=lambda i: i.name or ""):
        if index.unique:  # also partial and expression ones: kept unique on their columns
            cols = [e.name for e in index.expressions if isinstance(e, sa.Column)]
            for e in index.expressions:
                if not isinstance(e, sa.Column):
                    cols += [w for w in re.findall(r"[A-Za-z_]\w*", str(e)) if w in names]
            sets.append(tuple(dict.fromkeys(cols)))
    return list(dict.fromkeys(s for s in sets if s))


def _plan(table: sa.Table, referenced: set[str]) -> Plan:
    columns = [c for c in table.columns if c.computed is None]
    names = {c.name for c in columns}
    parsed = checks_mod.parse(checks_mod.constraint_texts(table), names)
    specs: dict[str, Spec] = {}
    for c in columns:
        kind = kind_of(c)
        if kind is None:
            raise ConfigError(f"{table.name}.{c.name}: the generic generator cannot fill a "
                              f"column of type {c.type}; {_HOOK}")
        specs[c.name] = spec_of(table, c, kind, parsed.values.get(c.name),
                                parsed.bounds.get(c.name))
    fks = _foreign_keys(table, specs)
    plan = Plan(table.name, specs, parents={fk.parent for fk in fks})
    fk_columns = {c for fk in fks for c in fk.columns}

    def where(cols: Sequence[str]) -> str:
        return f"{table.name}.{', '.join(cols)}"

    for key in _unique_sets(table, names):
        keyed = plan.keyed
        if any(c in plan.injective for c in key) or (plan.units and keyed <= set(key)):
            continue
        if len(key) == 1 and key[0] not in fk_columns:
            plan.injective.append(key[0])
        elif not plan.units:
            plan.units = _units(key, fks, where)
        else:
            free = [c for c in key if c not in fk_columns and c not in keyed
                    and not math.isfinite(specs[c].domain)]
            if not free:
                raise ConfigError(f"{where(key)}: a second composite unique key the generic "
                                  f"generator cannot keep unique next to "
                                  f"({', '.join(sorted(keyed))}); {_HOOK}")
            plan.injective.append(free[0])
    for name in sorted(referenced):
        if name in plan.keyed:
            continue
        if name in fk_columns:
            raise ConfigError(f"{where([name])}: referenced by another table's foreign key, "
                              f"yet itself a foreign key outside the table's key; {_HOOK}")
        plan.injective.append(name)
    covered = set(plan.keyed)
    for fk in sorted(fks, key=lambda k: -len(k.columns)):
        if set(fk.columns) <= covered:
            continue  # its values come with a key or a wider foreign key
        if set(fk.columns) & covered:
            raise ConfigError(f"{where(fk.columns)}: a foreign key that overlaps another key "
                              f"or foreign key only in part; {_HOOK}")
        plan.drawn.append(fk)
        covered |= set(fk.columns)
    fixed = plan.keyed | fk_columns
    for left, op, right in parsed.order:
        greater, lesser = (left, right) if op in (">", ">=") else (right, left)
        if greater not in fixed:
            plan.order.append((greater, lesser))
    created = [c for c in specs if "created" in c and specs[c].kind.startswith("timestamp")]
    for name, spec in specs.items():
        if spec.hint == "updated" and spec.kind.startswith("timestamp") and created \
                and name not in fixed and (name, created[0]) not in plan.order:
            plan.order.append((name, created[0]))
    return plan


def _units(key: tuple[str, ...], fks: list[ForeignKey], where: Any) -> list[Unit]:
    """The units of a composite key: its foreign keys (the widest first, disjoint), then its
    other columns; the first foreign key (in key order) groups the rows."""
    chosen: list[ForeignKey] = []
    taken: set[str] = set()
    for fk in sorted((f for f in fks if set(f.columns) <= set(key)),
                     key=lambda f: -len(f.columns)):
        if set(fk.columns) <= taken:
            continue
        if set(fk.columns) & taken:
            raise ConfigError(f"{where(key)}: foreign keys that overlap within the key; {_HOOK}")
        chosen.append(fk)
        taken |= set(fk.columns)
    for fk in fks:
        if set(fk.columns) & set(key) and not set(fk.columns) <= taken:
            raise ConfigError(f"{where(fk.columns)}: a foreign key only partly inside the key "
                              f"({', '.join(key)}); {_HOOK}")
    position = {c: i for i, c in enumerate(key)}
    fk_units = sorted((Unit(fk.columns, fk) for fk in chosen),
                      key=lambda u: min(position[c] for c in u.columns))
    plain = [Unit((c,)) for c in key if c not in taken]
    return fk_units + plain if fk_units else plain
