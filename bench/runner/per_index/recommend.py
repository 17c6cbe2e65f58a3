"""The recommended set: the smallest subset of the migration's indexes that keeps at least 95%
of every shape's read benefit under the mix, written out as an Alembic revision and plain SQL.

The search is backward elimination (bench.results.attribution.smallest_set), from the indexes
the shapes' plans use with the whole migration, the least valuable first (lowest net per
second). An index goes when, without it, every shape the mix runs still keeps >= 95% of the
time the whole migration saves it (mean per call) and its removal does not cost demonstrably
more read time per second than the index adds to writes (an index that pays for itself stays,
even where the 95% rule alone would let it go). What a candidate set does to a shape comes from
its plans: a set whose plan for a parameter set equals a plan timed in the attribution block
has that plan's times; a plan never timed is timed then, next to all and none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.formatting import ms_per_s
from bench.results import attribution as attr
from bench.results.per_index import PerIndexSection, RecommendedSet
from bench.results.stats import RUN_TO_RUN_SD
from bench.runner import catalog, migrate
from bench.runner.per_index.attribute import Attribution, ShapeBlock
from bench.runner.per_index.index_reads import time_states
from bench.runner.per_index.index_states import State, explained
from bench.runner.plans import fingerprint

KEEP = 0.95  # the share of each shape's read benefit the set keeps


@dataclass
class Choice:
    indexes: list[str]  # in the migration's order
    drop_existing: list[str] = field(default_factory=list)
    kept: dict[str, float] = field(default_factory=dict)  # per shape, a share
    notes: list[str] = field(default_factory=list)


def _lookup(a: Attribution, b: ShapeBlock, states: list[State]) -> list[list[float]] | None:
    """Per-round times of `states` from one timed block of the shape in which every round
    timed a plan equal to each state's plan for that round's parameters; None if none has."""
    fp = a.planner.fingerprint
    for timed in b.timed:
        by_round: list[dict[str, list[float]]] = []
        for i in range(timed.rounds):
            p = b.params[i]
            by_round.append({fp(b.shape, p, t): times for t, times in timed.times.items()})
        out: list[list[float]] = [[] for _ in states]
        ok = True
        for i in range(timed.rounds):
            for k, s in enumerate(states):
                times = by_round[i].get(fp(b.shape, b.params[i], s))
                if times is None:
                    ok = False
                    break
                out[k].append(times[i])
            if not ok:
                break
        if ok and timed.rounds:
            return out
    return None


def times_of(a: Attribution, b: ShapeBlock, states: list[State]) -> list[list[float]]:
    """Per-round times of `states` (and, last two, of all and none), timed if need be."""
    wanted = [*states, a.all, a.none]
    found = _lookup(a, b, wanted)
    if found is None:
        b.timed.append(time_states(a.conn, a.planner, b.shape, b.params, list(dict.fromkeys(
            wanted)), rounds=a.cfg.read_rounds, warmup=a.cfg.warmup,
            max_time_s=a.cfg.max_time_s))
        found = _lookup(a, b, wanted)
    assert found is not None
    return found


def choose(a: Attribution, section: PerIndexSection) -> Choice:
    fp = a.planner.fingerprint
    blocks = list(a.blocks.values())
    used = set().union(*(b.uses.get(a.all, set()) for b in blocks)) & set(a.universe)
    start = frozenset(used)
    notes = []
    if any(fp(b.shape, p, start) != fp(b.shape, p, a.all) for b in blocks for p in b.distinct):
        notes.append("the indexes the plans use do not give the migration's plans on their "
                     "own; the search starts from all of the migration's indexes")
        start = a.all
    # Shapes the set must keep: run by the mix, and measurably faster with the migration.
    benefit = {s.shape: s for s in section.shapes if s.calls_per_s > 0 and s.saved_ci95[0] > 0}
    value = {r.name: r.net_ms_per_s for r in section.indexes}
    records = {r.name: r for r in section.indexes}

    def removable(current: frozenset[str], ix: str) -> bool:
        smaller = current - {ix}
        loss_terms = []
        for b in blocks:
            if all(fp(b.shape, p, smaller) == fp(b.shape, p, current) for p in b.distinct):
                continue
            t_small, t_cur, t_all, t_none = times_of(a, b, [smaller, current])
            name = b.shape.name
            if name in benefit:
                share = attr.kept_share(_mean(t_none), _mean(t_small), _mean(t_all))
                if share < KEEP:
                    notes.append(f"{ix} stays: without it {name} keeps "
                                 f"{100 * share:.0f}% of its benefit")
                    return False
            calls = a.mix.reads.get(name, 0.0)
            if calls:
                loss_terms.append(attr.Term(calls, *attr.mean_difference(
                    t_small, t_cur, extra_rel_sd=RUN_TO_RUN_SD["reads"])))
        loss = attr.weighted_sum(loss_terms)
        rec = records[ix]
        net = attr.difference(loss, (rec.write_added_ms_per_s, rec.write_added_ci95))
        if net[1][0] > 0:
            notes.append(f"{ix} stays: every shape would keep >= {100 * KEEP:.0f}% of its "
                         f"benefit without it, but it saves more read time than it costs "
                         f"(net {ms_per_s(net[0], signed=True)}, 95% CI "
                         f"{ms_per_s(net[1][0], signed=True)} to "
                         f"{ms_per_s(net[1][1], signed=True)})")
            return False
        notes.append(f"{ix} goes: every shape keeps >= {100 * KEEP:.0f}% of its benefit "
                     f"without it (read time lost {ms_per_s(loss[0])}, write time saved "
                     f"{ms_per_s(rec.write_added_ms_per_s)})")
        return True

    order = sorted(start, key=lambda ix: (value.get(ix, 0.0), ix))
    chosen = attr.smallest_set(start, order, removable)
    choice = Choice([ix for ix in a.universe if ix in chosen], notes=notes)
    for b in blocks:
        t_set, t_all, t_none = times_of(a, b, [chosen])
        choice.kept[b.shape.name] = attr.kept_share(_mean(t_none), _mean(t_set), _mean(t_all))
    choice.drop_existing = _redundant(a, chosen, choice.notes)
    return choice


def _redundant(a: Attribution, chosen: frozenset[str], notes: list[str]) -> list[str]:
    """Existing indexes covered by an index of the set, whose removal changes no plan."""
    shapes = catalog.index_shapes(a.conn, catalog.app_tables(a.conn))
    pairs = [(c, by) for c, by in attr.covered_pairs(shapes) if by in chosen
             and c not in a.universe]
    table = {s.name: s.table for s in shapes}
    out = []
    for covered, covering in dict(pairs).items():
        changed = []
        for b in a.blocks.values():
            if table[covered] not in b.tables:
                continue
            for p in b.distinct:
                if _plan_without(a, b, chosen, covered, p) != a.planner.fingerprint(
                        b.shape, p, chosen):
                    changed.append(b.shape.name)
                    break
        if changed:
            notes.append(f"the existing {covered} is covered by {covering} but stays: without "
                         f"it the plans of {', '.join(changed)} change")
        else:
            notes.append(f"the existing {covered} goes: {covering} covers it and no plan "
                         "changes without it")
            out.append(covered)
    return out


def _plan_without(a: Attribution, b: ShapeBlock, state: State, extra: str,
                  params: dict[str, Any]) -> str:
    drop = [*a.planner.drops(b.shape, state), extra]
    return fingerprint(explained(a.conn, drop, b.shape.driver_sql, [params])[0])


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


# --- writing it out ----------------------------------------------------------------------------

_SCHEMA = re.compile(r" ON (ONLY )?[^\s.]+\.(\S+) USING ")
_CREATE = re.compile(r"^CREATE (UNIQUE )?INDEX (?!IF NOT EXISTS)")


def portable(definition: str) -> str:
    """pg_indexes' definition without the scratch database's schema, with IF NOT EXISTS."""
    return _CREATE.sub(r"CREATE \1INDEX IF NOT EXISTS ", _SCHEMA.sub(r" ON \1\2 USING ",
                                                                     definition, count=1))


def write_files(out_dir: Path, migration: Path, rec: RecommendedSet,
                definitions: dict[str, str], universe: dict[str, str]
                ) -> tuple[Path | None, Path]:
    """The set as plain SQL and, for an Alembic migration, as an Alembic revision (replacing
    the migration: same down_revision), in `out_dir`; returns both paths (no revision for a
    .sql migration: the set is then a .sql file like it)."""
    create = [portable(definitions[ix]) for ix in rec.indexes]
    drops = [(ix, portable(definitions[ix])) for ix in rec.drop_existing]
    left_out = [ix for ix in universe if ix not in rec.indexes]
    out_dir.mkdir(parents=True, exist_ok=True)
    py = None
    if migrate.form_of(migration) != "sql":
        module = migrate.load_migration(migration)
        revision = str(getattr(module, "revision", migration.stem))
        down = getattr(module, "down_revision", None)
        kept = ", ".join(f"{s} {k:.0f}%" for s, k in rec.kept_pct.items())
        py = out_dir / f"{migration.stem}_recommended.py"
        py.write_text(_REVISION.format(
            name=migration.name, n=len(rec.indexes), total=len(universe), kept=kept,
            revision=f"{revision}_recommended", down=down, down_repr=repr(down),
            create=_py_list(create), drops=_py_list([f"({n!r}, {d!r})" for n, d in drops],
                                                    raw=True),
            left_out=", ".join(left_out) or "none"))
    sql_path = out_dir / f"{migration.stem}_recommended.sql"
    lines = [f"-- The recommended subset of {migration.name}: {len(rec.indexes)} of its "
             f"{len(universe)} indexes",
             "-- (measured by pg-index-bench: see report.md). Apply instead of the migration:",
             "BEGIN;", *(f"{c};" for c in create),
             *(f"DROP INDEX IF EXISTS {n};  -- made redundant by the set" for n, _ in drops),
             "COMMIT;", "",
             f"-- On a database that already has {migration.name}, drop what the set leaves "
             "out instead:",
             *(f"-- DROP INDEX IF EXISTS {ix};" for ix in left_out),
             *(f"-- DROP INDEX IF EXISTS {n};" for n, _ in drops), ""]
    sql_path.write_text("\n".join(lines))
    return py, sql_path


def _py_list(items: list[str], raw: bool = False) -> str:
    if not items:
        return "[]"
    return "[\n" + "".join(f"    {i if raw else repr(i)},\n" for i in items) + "]"


_REVISION = '''"""The recommended subset of {name}: {n} of its {total} indexes.

The smallest subset that keeps at least 95% of every query shape's measured read benefit under
the workload mix (kept: {kept}), measured by pg-index-bench (see report.md beside this file).
Apply it instead of {name}: it has the same down_revision. Left out: {left_out}.

Revision ID: {revision}
Revises: {down}
"""

from __future__ import annotations

from alembic import op

revision = "{revision}"
down_revision = {down_repr}
branch_labels = None
depends_on = None

CREATE = {create}
# Existing indexes the set makes redundant: (name, definition to restore it on downgrade).
DROP_EXISTING: list[tuple[str, str]] = {drops}


def upgrade() -> None:
    for statement in CREATE:
        op.execute(statement)
    for name, _definition in DROP_EXISTING:
        op.execute(f'DROP INDEX IF EXISTS "{{name}}"')


def downgrade() -> None:
    for _name, definition in reversed(DROP_EXISTING):
        op.execute(definition)
    for statement in reversed(CREATE):
        name = statement.split(" IF NOT EXISTS ", 1)[1].split()[0]
        op.execute(f'DROP INDEX IF EXISTS "{{name}}"')
'''
