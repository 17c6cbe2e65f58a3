"""Relations between indexes, each with what was measured about it (run --per-index).

* covered / drop candidate: an index whose key columns lead another's (bench.results.attribution
  .covered_by). Measured: a lookup on the covered index's columns, planned and timed with both
  indexes and with the covered one dropped (in a rolled-back transaction).
* low cardinality: a single-column index on a column with few distinct values (pg_stats).
  Measured: for each common value, whether the planner uses the index alone for it.
* substitute: an index that serves a shape alone (add-one saves time) but whose removal from
  the migration changes no plan, because another index serves the shape as well.
* slower alone: an index the planner picks for a shape when it is the only new one, which makes
  the shape slower.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

from bench.formatting import factor, mb, ms
from bench.results.attribution import IndexShape, covered_pairs
from bench.results.per_index import PerIndexSection, Relation
from bench.runner import catalog, plans
from bench.runner.per_index.attribute import Attribution
from bench.runner.per_index.index_reads import WARM_BELOW_MS
from bench.runner.per_index.index_states import enter, missing, rolled_back

LOW_DISTINCT = 10  # a column with at most this many distinct values (pg_stats n_distinct)
PROBE_ROUNDS = 10  # timed rounds of a probe lookup per state
LOW_CARD_ROUNDS = 3  # timed rounds per value and state (a lookup of a common value is slow)
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
Connection = psycopg.Connection[Any]


def find(conn: Connection, a: Attribution, section: PerIndexSection) -> list[Relation]:
    tables = catalog.app_tables(conn)
    shapes = catalog.index_shapes(conn, tables)
    by_name = {s.name: s for s in shapes}
    sizes = {i.name: i.size_bytes for i in catalog.list_indexes(conn, tables)}
    out: list[Relation] = []
    for covered, covering in covered_pairs(shapes):
        if covered not in a.universe and covering not in a.universe:
            continue  # between indexes that were there before the migration: not its business
        evidence = _probe_covered(conn, by_name[covered], by_name[covering], a.universe)
        cols = _cols(by_name[covered])
        size = f"; {covered} takes {mb(sizes.get(covered))}" if covered in sizes else ""
        if covered in a.universe:
            out.append(Relation(kind="covered", index=covered, other=covering, text=(
                f"{covered} ({cols}) is covered by {covering} ({_cols(by_name[covering])}): "
                f"same leading column(s). {evidence}{size}.")))
        else:
            out.append(Relation(kind="drop_candidate", index=covered, other=covering, text=(
                f"the existing {covered} ({cols}) is covered by the new {covering} "
                f"({_cols(by_name[covering])}): with {covering} in place it is a drop "
                f"candidate. {evidence}{size}.")))
    out += _low_cardinality(conn, a, by_name)
    out += _substitutes(a, section)
    out += _slower_alone(section)
    return out


def _cols(s: IndexShape) -> str:
    where = f" WHERE {s.predicate}" if s.predicate else ""
    return ", ".join(s.columns) + where


def _column_type(conn: Connection, table: str, column: str) -> str:
    row = conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                       "WHERE attrelid = %s::regclass AND attname = %s", (table, column)).fetchone()
    assert row is not None
    return str(row[0])


def _lookup(conn: Connection, table: str, column: str) -> sql.Composed:
    return sql.SQL("SELECT * FROM {} WHERE {} = CAST(%(v)s AS {})").format(
        sql.Identifier(table), sql.Identifier(column),
        sql.SQL(_column_type(conn, table, column)))


def _explain(conn: Connection, query: sql.Composed, params: dict[str, Any], drop: list[str],
             analyze: bool = False, warm: bool = True) -> dict[str, Any]:
    """The lookup's plan with the indexes in `drop` gone (in a rolled-back transaction); with
    `analyze`, timed, after one untimed execution when `warm` (the first execution after a
    state switch rebuilds cached catalog entries: tens of microseconds, which matter to a fast
    lookup only). What comes before the timed statement goes in one round trip."""
    head = "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " if analyze else "EXPLAIN (FORMAT JSON) "
    stmt = sql.SQL(head) + query
    with rolled_back(conn):
        with conn.pipeline():
            enter(conn, drop)
            if analyze and warm:
                conn.execute(stmt, params)
            plan_only = None if analyze else conn.execute(stmt, params)
        row = (conn.execute(stmt, params) if plan_only is None else plan_only).fetchone()
    return plans.explain_document(row)


def _timed(conn: Connection, query: sql.Composed, params: dict[str, Any], drop: list[str],
           last: dict[str, float], key: str) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the lookup, warmed when its last time (under `key`) was fast."""
    doc = _explain(conn, query, params, drop, analyze=True,
                   warm=last.get(key, 0.0) < WARM_BELOW_MS)
    last[key] = float(doc["Execution Time"])
    return doc


def _probe_covered(conn: Connection, covered: IndexShape, covering: IndexShape,
                   universe: dict[str, str]) -> str:
    """A lookup on the covered index's first column, with both indexes and without the
    covered one: which index each plan uses, and the mean time of PROBE_ROUNDS rounds."""
    column = covered.columns[0]
    if not _IDENTIFIER.match(column):
        return "(an expression index: no lookup measured)"
    row = conn.execute(sql.SQL("SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY {c})::text "
                               "FROM {t} WHERE {c} IS NOT NULL").format(
        c=sql.Identifier(column), t=sql.Identifier(covered.table))).fetchone()
    if row is None or row[0] is None:
        return "(the column is empty: no lookup measured)"
    params = {"v": row[0]}
    query = _lookup(conn, covered.table, column)
    states = {"with": [], "without": [covered.name]}
    used: dict[str, str] = {}
    times: dict[str, list[float]] = {k: [] for k in states}
    last: dict[str, float] = {}
    for i in range(PROBE_ROUNDS):
        for key in (list(states) if i % 2 == 0 else list(states)[::-1]):
            doc = _timed(conn, query, params, states[key], last, key)
            times[key].append(float(doc["Execution Time"]))
            used[key] = plans.summary(doc["Plan"])
    mean = {k: sum(v) / len(v) for k, v in times.items()}
    return (f"`WHERE {column} = {params['v']}` ({PROBE_ROUNDS} rounds each): with both, "
            f"{used['with']} ({ms(mean['with'])}); without {covered.name}, {used['without']} "
            f"({ms(mean['without'])})")


def _low_cardinality(conn: Connection, a: Attribution,
                     by_name: dict[str, IndexShape]) -> list[Relation]:
    out = []
    for ix, table in a.universe.items():
        shape = by_name.get(ix)
        if shape is None or len(shape.columns) != 1 or not _IDENTIFIER.match(shape.columns[0]):
            continue
        column = shape.columns[0]
        stats = catalog.column_stats(conn, table, column)
        if stats is None or not 0 < stats.n_distinct <= LOW_DISTINCT:
            continue
        query = _lookup(conn, table, column)
        alone = missing(frozenset({ix}), a.universe, {table})
        none = missing(frozenset(), a.universe, {table})
        values = []
        for value, share in stats.common:
            params = {"v": value}
            uses = ix in plans.indexes_used(_explain(conn, query, params, alone)["Plan"])
            if not uses:
                values.append(f"'{value}' {100 * share:.1f}%: not used")
                continue
            times: dict[bool, list[float]] = {True: [], False: []}
            last: dict[str, float] = {}
            for i in range(LOW_CARD_ROUNDS):
                for with_ in ((True, False) if i % 2 == 0 else (False, True)):
                    doc = _timed(conn, query, params, alone if with_ else none, last,
                                 str(with_))
                    times[with_].append(float(doc["Execution Time"]))
            t_with, t_without = (sum(times[k]) / len(times[k]) for k in (True, False))
            values.append(f"'{value}' {100 * share:.1f}%: {ms(t_with)} with it, "
                          f"{ms(t_without)} without ({factor(t_without / t_with)})")
        nulls = f"; NULL {100 * stats.null_frac:.1f}%" if stats.null_frac else ""
        shapes = [f"{b.shape.name} ({b.ao[ix]} of {len(b.distinct)} parameter sets)"
                  for b in a.blocks.values() if b.ao.get(ix)]
        used_by = (f" Of the shapes, alone it changes the plan of {', '.join(shapes)}."
                   if shapes else " No shape's plan changes when it is added alone.")
        out.append(Relation(kind="low_cardinality", index=ix, text=(
            f"{table}.{column} has {stats.n_distinct:.0f} distinct values; `{column} = value` "
            f"with only this index of the migration ({LOW_CARD_ROUNDS} rounds each): "
            f"{'; '.join(values)}{nulls}.{used_by}")))
    return out


def _substitutes(a: Attribution, section: PerIndexSection) -> list[Relation]:
    out = []
    for rec in section.indexes:
        for ao, loo in zip(rec.add_one, rec.leave_one_out, strict=True):
            if not ao.plans_changed or loo.plans_changed or not ao.saved_ci95:
                continue
            if ao.saved_ci95[0] <= 0:
                continue
            b = a.blocks[ao.shape]
            others = sorted(b.uses.get(a.all, set()) & set(a.universe) - {rec.name})
            if not others:
                continue
            out.append(Relation(kind="substitute", index=rec.name, other=others[0], text=(
                f"alone, {rec.name} serves {ao.shape} (saves {ms(ao.saved_ms)} per call, "
                f"{factor(ao.factor)}), but with the whole migration the planner uses "
                f"{', '.join(others)} instead, so removing {rec.name} changes no plan: they "
                "substitute for each other and one of them is enough.")))
    return out


def _slower_alone(section: PerIndexSection) -> list[Relation]:
    out = []
    for rec in section.indexes:
        for ao in rec.add_one:
            if ao.plans_changed and ao.saved_ci95 and ao.saved_ci95[1] < 0 and ao.factor:
                out.append(Relation(kind="slower_alone", index=rec.name, text=(
                    f"added alone, {rec.name} is what the planner picks for {ao.shape} "
                    f"({ao.plans_changed} of {ao.param_sets} parameter sets), and the shape "
                    f"gets slower: {ms(-ao.saved_ms)} more per call ({factor(1 / ao.factor)} "
                    "slower). The planner's estimate favours a plan that is worse.")))
    return out
