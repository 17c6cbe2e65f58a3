"""Per-index attribution, the job (run --per-index): which of the migration's indexes pay for
themselves, and a smaller set, measured.

After the before/after phases, on the migrated twin (per_index.attribute): plans, reads and
writes in index states, the records and verdicts, the relations (per_index.relations) and
the recommended set (per_index.recommend), written out as an Alembic revision and SQL. Then
the set is applied to a third twin, a copy of the unmigrated one, and measured against it like
the migration (reads, writes, disk, build time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from bench.config import RunConfig
from bench.errors import ConfigError
from bench.results.mix import WorkloadMix
from bench.results.model import CacheState, QueryResult, RunResults, TableBytes
from bench.results.per_index import PerIndexSection, RecommendedSet
from bench.runner import cache, catalog, disk, migrate, plans, stopping
from bench.runner.per_index import hypothetical, recommend, relations
from bench.runner.per_index.attribute import Attribution, open_session, universe_of
from bench.runner.progress import Echo, on_terminal
from bench.runner.provision import (
    Target,
    data_directory,
    restart_embedded,
    settle,
    twin_database,
)
from bench.runner.reads import PairedResult, Side
from bench.runner.records import query_record
from bench.runner.shapes import Shape
from bench.runner.writes import WriteBench

Params = dict[str, list[dict[str, Any]]]
MeasureReads = Callable[..., CacheState]


def load_mix(cfg: RunConfig) -> WorkloadMix:
    """The workload mix, checked against the shapes it names (one clear error for a name that
    is none), before anything runs; its write workloads are checked once the schema is built
    (check_mix_writes)."""
    from bench.results.mix import load_mix as load
    from bench.runner.shapes import load_shapes

    if cfg.mix is None:
        raise ConfigError("--per-index weighs reads and writes by the app's workload mix: pass "
                          "--mix FILE or set mix = ... in the project file")
    mix = load(cfg.mix)
    shapes = {s.name for s in load_shapes(cfg.queries_dir)}
    unknown = [f"[reads] {n}" for n in mix.reads if n not in shapes]
    if unknown:
        raise ConfigError(f"{cfg.mix}: unknown name(s) {', '.join(unknown)}; shapes are "
                          f"{', '.join(sorted(shapes))}")
    return mix


def check_mix_writes(cfg: RunConfig, mix: WorkloadMix, names: list[str]) -> None:
    """One clear error for a write workload of the mix that the app does not have."""
    unknown = [f"[writes] {n}" for n in mix.writes if n not in names]
    if unknown:
        raise ConfigError(f"{cfg.mix}: unknown name(s) {', '.join(unknown)}; write workloads "
                          f"are {', '.join(names)}")


def attribute(migrated: Target, cfg: RunConfig, shapes: list[Shape], params: Params,
              writes: WriteBench | None, results: RunResults, mix: WorkloadMix,
              echo: Echo) -> PerIndexSection:
    """Everything measured on the migrated twin: the section, with the recommended set
    chosen and written out (not yet measured)."""
    assert results.migration is not None
    start = time.perf_counter()
    with open_session(migrated.conninfo, cfg) as conn:
        new = set(results.migration.indexes)  # what the upgrade added, in statement order
        created = [t.index for t in results.migration.statements
                   if t.action == "create" and t.index in new]
        universe = universe_of(conn, [*created, *sorted(new)])
        tables = catalog.app_tables(conn)
        definitions = {i.name: i.definition for i in catalog.list_indexes(conn, tables)}
        a = Attribution(conn, universe, shapes, params, cfg, mix)
        a.explore()
        echo(f"per index: {a.planner.explained} plans (EXPLAIN) of {len(universe)} indexes "
             f"in {time.perf_counter() - start:.1f} s")
        before_reads = 0.0
        if writes is not None:  # first, up to the first look: the reads' stopping weighs them
            t0 = time.perf_counter()
            a.time_writes(conn, writes)
            before_reads = time.perf_counter() - t0
        a.time_reads(echo)
        if writes is not None:
            t1 = time.perf_counter()
            a.finish_writes(conn)
            went_on = [w for w, s in a.write_stops.items() if s.reason != "decisive"]
            echo(f"per index: writes of {len(a.workloads)} workloads in {before_reads:.1f} s "
                 f"before the reads and {time.perf_counter() - t1:.1f} s after them "
                 f"({len(went_on)} went on to the round cap)")
        disk_info = {c.name: (c.size_bytes, c.build_seconds, c.definition)
                     for c in (results.disk.created if results.disk else [])}
        section = a.section(disk_info)
        hypothetical.attach(conn, a, section, definitions)  # after every timing
        if section.hypopg_version:
            echo(f"per index: HypoPG {section.hypopg_version} estimates beside the real "
                 "indexes'" + (f" ({section.hypopg_note})" if section.hypopg_note else ""))
        section.relations = relations.find(conn, a, section)
        choice = recommend.choose(a, section)
    members = set(choice.indexes)
    for rec in section.indexes:
        rec.in_recommended_set = rec.name in members
    section.recommended = RecommendedSet(
        keep_pct=100 * recommend.KEEP, indexes=choice.indexes,
        drop_existing=choice.drop_existing,
        kept_pct={s: 100 * k for s, k in choice.kept.items()}, notes=choice.notes)
    py, sql_file = recommend.write_files(cfg.out, cfg.migration, section.recommended,
                                         definitions, universe)
    section.recommended.revision_file = py.name if py else ""
    section.recommended.sql_file = sql_file.name
    section.seconds = time.perf_counter() - start
    return section


def measure_set(unmigrated: Target, migrated: Target, results: RunResults, cfg: RunConfig,
                shapes: list[Shape], params: Params, writes: WriteBench | None,
                aa: dict[str, PairedResult], sizes_before: dict[str, TableBytes],
                measure_reads: MeasureReads, echo: Echo) -> None:
    """Apply the recommended set to a copy of the unmigrated twin and measure the two side by
    side, exactly as the migration was measured: the writes, and the reads of every shape whose
    plans there differ from the migrated twin's (a shape with the same plans keeps the
    figures the migration measured)."""
    section = results.per_index
    assert section is not None
    rec = section.recommended
    assert rec is not None
    start = time.perf_counter()
    with unmigrated.connect() as conn:
        tables = catalog.app_tables(conn)
        sizes = {i.name: i.size_bytes for i in catalog.list_indexes(conn, tables)}
    rec.dropped_bytes = sum(sizes.get(n, 0) for n in rec.drop_existing)
    with twin_database(unmigrated, suffix="c") as third:
        engine = sa.create_engine(third.sqlalchemy_url(), poolclass=sa.pool.NullPool)
        try:
            up = migrate.apply(engine, third, cfg.out / (rec.revision_file or rec.sql_file),
                               "upgrade")
        finally:
            engine.dispose()
        rec.migration = up
        with third.connect() as conn:
            rec.disk = disk.index_costs(sizes_before, catalog.table_sizes(conn, tables),
                                        catalog.list_indexes(conn, tables), up.indexes,
                                        up.statements, None)
        rec.shapes_as_migration = same_plans(migrated, third, cfg, shapes, params,
                                             results.queries)
        timed = [s for s in shapes if s.name not in rec.shapes_as_migration]
        echo(f"per index: the set's plans are the migration's for "
             f"{len(rec.shapes_as_migration)} of {len(shapes)} shapes (their figures stand); "
             f"{len(timed)} to measure")
        twins: dict[Side, Target] = {"A": unmigrated, "B": third}
        if timed:
            settle(unmigrated)
            ab: dict[str, PairedResult] = {}
            measure_reads(twins, cfg, timed, params, cfg.read_rounds, into=ab,
                          stopping=stopping.read_stopping(timed, aa, None))
            rec.queries = [query_record(s, params[s.name], None, ab.get(s.name),
                                        aa.get(s.name)) for s in timed if s.name in ab]
            echo(f"per index: the set's reads in {time.perf_counter() - start:.1f} s")
        if writes is not None:
            if not timed and cfg.cache == "warm":
                # The buffers as the reads leave them (measure_reads): emptied by a restart,
                # then both twins' tables and indexes loaded in turns, so the third twin (a
                # fresh copy, not in shared buffers yet) and the unmigrated twin sit alike.
                # The write block checkpoints and syncs itself before its first round.
                if unmigrated.source == "embedded":
                    restart_embedded(data_directory(unmigrated.conninfo))
                cache.prewarm_pair([unmigrated.conninfo, third.conninfo], tables)
            # Every write workload, also of the tables whose indexes are the migrated twin's or
            # the unmigrated one's: with only the others, in runs after the per-index phase,
            # the unmigrated side of the block ran about 30% slower in about a third of the
            # runs (a HOT update workload at -15% to -25%, interval below zero, where all of
            # them gave -1% to +13%), for reasons not found; with all of them, as in the write
            # phase, not once in 9 runs.
            writes.measure_pair({side: t.conninfo for side, t in twins.items()}, "set",
                                progress=on_terminal(cfg.progress),
                                cuts=stopping.write_stopping(writes, lambda _op: None))
            rec.writes = writes.section(lambda _op: None, block="set").workloads
    rec.seconds = time.perf_counter() - start
    section.seconds += rec.seconds


def same_plans(migrated: Target, third: Target, cfg: RunConfig, shapes: list[Shape],
               params: Params, measured: list[QueryResult]) -> list[str]:
    """The shapes whose plan on the third twin equals the migrated twin's (bench.runner.plans
    .fingerprint: nodes, relations, indexes, conditions) for every parameter set of the
    rounds, and has the structure (nodes and what they read) of the plan each of those rounds
    ran with in the before/after phase (`measured`): each runs there as it ran on the migrated
    twin when its figures were measured."""
    def explained(target: Target) -> dict[str, list[plans.Plan]]:
        with open_session(target.conninfo, cfg) as conn, conn.pipeline():
            cursors = {s.name: [conn.execute("EXPLAIN (FORMAT JSON) " + s.driver_sql, p,
                                             prepare=False)
                                for p in params[s.name][:max(cfg.read_rounds, 1)]]
                       for s in shapes}
        return {name: [plans.explain_document(c.fetchone())["Plan"] for c in cs]
                for name, cs in cursors.items()}

    mine, theirs = explained(third), explained(migrated)
    ran = {q.name: _structures(q) for q in measured}
    out = []
    for s in shapes:
        structures = ran.get(s.name)
        if structures is None or len(structures) > len(mine[s.name]):
            continue
        if all(plans.fingerprint(a) == plans.fingerprint(b)
               for a, b in zip(mine[s.name], theirs[s.name], strict=True)) and all(
                plans.shape_key(a) == k for a, k in zip(mine[s.name], structures,
                                                        strict=False)):
            out.append(s.name)
    return out


def _structures(q: QueryResult) -> list[str] | None:
    """The plan structure of each round of the shape's after phase; None if unknown."""
    after = q.after
    if after is None or not after.rounds or len(after.plan_per_round) != after.rounds:
        return None
    return [after.plan_variants[i].structure for i in after.plan_per_round]
