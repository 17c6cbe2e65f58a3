"""The main job, top to bottom: provision -> seed -> twin -> A/A control -> migrate one twin ->
measure both side by side -> report.

Before and after are never measured minutes apart: the seeded database is copied into two
twins, and every measurement runs on both in the same time window, alternating round by round
(reads.py, writes.py). Before migrating, the twins (both unmigrated) are measured against each
other exactly the same way: the A/A control, whose ratios show this run's noise floor.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, ExitStack, nullcontext
from datetime import UTC, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa

from bench.config import RunConfig
from bench.errors import first_line
from bench.results import claims as claims_file
from bench.results.clones import differing
from bench.results.clones import measured as measured_aa
from bench.results.model import (
    CacheState,
    Claims,
    ClonePair,
    Method,
    RunResults,
    RunSettings,
    ServerInfo,
)
from bench.results.stats import AA_SD, RUN_TO_RUN_SD
from bench.runner import (
    cache,
    cache_fit,
    catalog,
    clones,
    disk,
    environment,
    migrate,
    reads,
    round_order,
    stopping,
)
from bench.runner.app_writes import load_app_writes
from bench.runner.clones import Snapshot
from bench.runner.derived_writes import derived_updates
from bench.runner.machine_load import LoadMeter
from bench.runner.params import parameter_sets
from bench.runner.per_index import job as per_index
from bench.runner.prefetch import prefetch
from bench.runner.progress import Echo, on_terminal, stderr_echo, step
from bench.runner.provision import (
    Target,
    data_directory,
    provision,
    redact,
    restart_embedded,
    settle,
    signals_deferred,
    twin_database,
    user_clones,
)
from bench.runner.reads import PairedResult, Side
from bench.runner.records import query_record
from bench.runner.seeding import generator_for, seed_database
from bench.runner.shape_fidelity import add_shapes
from bench.runner.shapes import Shape, load_shapes
from bench.runner.writes import WriteBench, table_keys

Params = dict[str, list[dict[str, Any]]]
PREFETCH = ("scipy.stats", "bench.report.output")  # the statistics, the report's charts


def run(cfg: RunConfig, echo: Echo = stderr_echo) -> RunResults:
    """The main job. results.json is saved after every phase; report.md at the end."""
    shapes = load_shapes(cfg.queries_dir, cfg.shapes)  # fail on a bad file before starting
    migrate.check(cfg.app)
    claims = claims_file.load_for(cfg.migration)
    mix = per_index.load_mix(cfg) if cfg.per_index else None
    loading = prefetch(PREFETCH)  # while the server starts
    wall = time.perf_counter()
    results = _new_results(cfg, shapes, claims)
    aa: dict[str, PairedResult] = {}  # filled round by round
    ab: dict[str, PairedResult] = {}
    params: Params = {}

    def record_queries() -> None:
        results.queries = [
            query_record(s, params[s.name], claims.reads.get(s.name) if claims else None,
                         ab.get(s.name), aa.get(s.name))
            for s in shapes if s.name in params
        ]

    try:
        with ExitStack() as stack:
            stack.callback(loading.join)  # last on the way out (prefetch says why)
            found: tuple[Snapshot, Snapshot] | None = None  # --twins: A and B as found
            if cfg.twins:
                target, other, found = _user_clones(stack, cfg, results, echo)
                # Also after a failure or Ctrl-C, wherever it comes.
                stack.callback(_leave_as_found, {"A": target, "B": other}, cfg, found, results,
                               echo)
            else:
                echo("provision ...")
                target = stack.enter_context(provision(cfg.dsn, keep=cfg.keep))
                results.server = ServerInfo(source=target.source, database=target.dbname)
                echo(f"provision: scratch database {target.dbname} on the {target.source} "
                     "server")
                with step(echo, "seed"):
                    results.seed = seed_database(target, cfg, echo)
            assert results.server is not None
            params.update(_prepare_queries(target, cfg, shapes, results.server))
            if cfg.app.stats_dsn and results.seed:
                add_shapes(results.seed, cfg.app.stats_dsn, target, cfg, shapes, params, echo)
            with target.connect() as conn:
                tables = catalog.app_tables(conn)
                sizes_before = catalog.table_sizes(conn, tables)  # as seeded
            save_results(results, cfg)
            if found is None:
                with step(echo, "twin"):
                    other = stack.enter_context(twin_database(target))
                echo(f"twin: {other.dbname} is a copy of {target.dbname}; the migration "
                     "will go to the copy")
            twins: dict[Side, Target] = {"A": target, "B": other}
            order = round_order.ALTERNATING
            if cfg.cache == "warm":  # do both twins fit in shared_buffers?
                results.cache_fit = cache_fit.size_up(_conninfo(twins))
                echo(cache_fit.summary(results.cache_fit))
                order = round_order.decide(results.cache_fit)  # blocks if they do not
                if order.blocked:
                    echo(round_order.describe(order))
            writes = _write_bench(target, cfg, echo)
            if writes and mix is not None:
                per_index.check_mix_writes(cfg, mix, writes.names())
            meter = LoadMeter(data_directory(target.conninfo)
                              if target.source == "embedded" else None)
            results.machine_load = meter.record  # filled phase by phase
            if cfg.aa_rounds:
                settle(target)
                with step(echo, "noise floor (A/A): reads"):
                    results.cache = measure_reads(twins, cfg, shapes, params,
                                                  min(cfg.aa_rounds, cfg.read_rounds), into=aa,
                                                  meter=meter.phase("A/A reads"), order=order)
                if writes:
                    with step(echo, "noise floor (A/A): writes"), meter.phase("A/A writes"):
                        writes.measure_pair(_conninfo(twins), "aa", cfg.aa_rounds,
                                            progress=on_terminal(cfg.progress))
                record_queries()
                save_results(results, cfg)

            engine = sa.create_engine(other.sqlalchemy_url(), poolclass=sa.pool.NullPool)
            try:
                with step(echo, "migrate up"):
                    up = migrate.apply(engine, other, cfg.app, "upgrade")
                results.migration = up
                echo(f"migrate up: {up.index_count} indexes created on {other.dbname} "
                     f"(revision {up.revision})")
                with other.connect() as conn:
                    results.disk = disk.index_costs(
                        sizes_before, catalog.table_sizes(conn, tables),
                        catalog.list_indexes(conn, tables), up.indexes, up.statements,
                        claims.disk_growth_pct if claims else None, up.dropped_indexes)
                save_results(results, cfg)

                settle(target)
                with step(echo, "measure before and after"):
                    results.cache = measure_reads(
                        twins, cfg, shapes, params, cfg.read_rounds,
                        crosscheck=cfg.crosscheck_rounds, into=ab, meter=meter.phase("reads"),
                        order=order, stopping=stopping.read_stopping(shapes, aa, claims),
                        fresh_buffers=not (cfg.aa_rounds and results.cache_fit
                                           and results.cache_fit.fits))
                record_queries()
                save_results(results, cfg)
                if results.cache_fit and not results.cache_fit.fits:
                    with step(echo, "cache fit: each twin alone"):
                        cache_fit.measure_cost(
                            results.cache_fit, _conninfo(twins), shapes, params, ab,
                            reads.SessionSettings(cfg.parallel_workers,
                                                  cfg.statement_timeout_s),
                            max_time_s=cfg.max_time_s, warmup=cfg.warmup)
                    echo(cache_fit.summary(results.cache_fit))
                    save_results(results, cfg)
                if writes:
                    claim_for = claims.write_claim if claims else _no_claim
                    with step(echo, "writes before and after"), meter.phase("writes"):
                        writes.measure_pair(_conninfo(twins), "ab",
                                            progress=on_terminal(cfg.progress),
                                            cuts=stopping.write_stopping(writes, claim_for))
                    results.writes = writes.section(claim_for)
                    save_results(results, cfg)
                if mix is not None:
                    with step(echo, "per index: attribution"):
                        results.per_index = per_index.attribute(
                            other, cfg, shapes, params, writes, results, mix, echo)
                    save_results(results, cfg)
                    with step(echo, "per index: the recommended set, end to end"):
                        per_index.measure_set(target, other, results, cfg, shapes, params,
                                              writes, aa, sizes_before,
                                              partial(measure_reads, order=order), echo)
                    save_results(results, cfg)

                with step(echo, "migrate down"):
                    results.migration_down = migrate.apply(engine, other, cfg.app,
                                                           "downgrade")
            finally:
                engine.dispose()
        results.complete = True
    finally:
        results.wall_seconds = time.perf_counter() - wall
        if aa or ab:  # also what an interrupted phase measured so far
            record_queries()
        if results.clones is not None and measured_aa(results):
            results.clones.differing = differing(results)
            results.clones.measured_alike = not results.clones.differing
        save_results(results, cfg)
        if results.queries:
            from bench.report.output import write_report

            write_report(results, cfg.out)
    return results


def _user_clones(stack: ExitStack, cfg: RunConfig, results: RunResults,
                 echo: Echo) -> tuple[Target, Target, tuple[Snapshot, Snapshot]]:
    """--twins: the two clones the user gave are the twins, checked alike; B as found."""
    assert cfg.twins is not None
    with step(echo, "twins: the clones given"):
        pair = stack.enter_context(user_clones(*cfg.twins))
        a, b = clones.snapshot(pair.a), clones.snapshot(pair.b)
        clones.check_alike(a, b)
    results.server = ServerInfo(source=pair.a.source, database=pair.a.dbname)
    results.clones = ClonePair(a=clones.record(pair.a, a), b=clones.record(pair.b, b),
                               same_server=pair.same_server)
    rows = sum(a.rows.values())
    echo(f"twins: {pair.a.dbname} (A) and {pair.b.dbname} (B), clones alike: {len(a.tables)} "
         f"tables, {rows:,} rows, {sum(a.bytes.values()) / 1e6:,.1f} MB each"
         f"{'' if pair.same_server else ' (on two servers)'}; nothing seeded or copied; the "
         "migration goes to B and is undone at the end")
    return pair.a, pair.b, (a, b)


def _leave_as_found(twins: dict[Side, Target], cfg: RunConfig, found: tuple[Snapshot, Snapshot],
                    results: RunResults, echo: Echo) -> None:
    """--twins: the clones are the user's. If the run stopped after migrating B, run the
    downgrade now; then make B's indexes what they were (a downgrade() may be `pass`), and
    name what could not be undone and the rows the write workloads left in either."""
    assert results.clones is not None
    other = twins["B"]
    with signals_deferred():
        if results.migration is not None and results.migration_down is None:
            echo(f"migrate down: the run stopped early; undoing the migration on {other.dbname}")
            engine = sa.create_engine(other.sqlalchemy_url(), poolclass=sa.pool.NullPool)
            try:
                results.migration_down = migrate.apply(engine, other, cfg.app, "downgrade")
            except Exception as exc:  # the index check below still undoes what it can
                echo(f"warning: migrate down failed on {other.dbname}: {first_line(exc)}")
            finally:
                engine.dispose()
        undo = clones.restore(other, found[1])
        undo.left += clones.added_rows(twins["A"], found[0])
    results.clones.undone, results.clones.left_behind = undo.done, undo.left
    results.clones.restored = not undo.left
    for line in undo.done:
        echo(f"twins: {line} on {other.dbname}, as it was before the run")
    for line in undo.left:
        echo(f"warning: twins: not as the run found it: {line}")
    save_results(results, cfg)


def save_results(results: RunResults, cfg: RunConfig) -> None:
    from bench.results.store import save_results as save

    save(results, cfg.out)


def _no_claim(_operation: str) -> None:
    return None


def _conninfo(twins: dict[Side, Target]) -> dict[Side, str]:
    return {side: t.conninfo for side, t in twins.items()}


def _write_bench(target: Target, cfg: RunConfig, echo: Echo) -> WriteBench | None:
    if not cfg.write_rounds:
        return None
    generator = generator_for(target, cfg)
    own = load_app_writes(cfg.app.writes)
    with target.connect(autocommit=True) as conn:
        keys = {t: k.column for t, k in table_keys(conn, catalog.app_tables(conn)).items()}
        derived = derived_updates(conn, cfg.app, keys, [u.table for u in own])
        bench = WriteBench(conn, cfg.seed, cfg.write_rounds, cfg.warmup, generator=generator,
                           updates=own + derived,
                           copy_tables=cfg.app.copy_tables, insert_tables=cfg.app.insert_tables,
                           checkpoint=target.source == "embedded",
                           max_rounds=max(cfg.write_rounds, cfg.aa_rounds))
    if bench.skipped:
        echo(f"writes: no INSERT or COPY workload for {', '.join(bench.skipped)}: no primary "
             "key, no rows from the generator, or a key new rows cannot take (foreign keys and "
             "CHECK-bounded columns only)")
    return bench


def measure_reads(twins: dict[Side, Target], cfg: RunConfig, shapes: list[Shape],
                  params: Params, rounds: int, *, crosscheck: int = 0,
                  into: dict[str, PairedResult],
                  meter: AbstractContextManager[None] | None = None,
                  order: round_order.RoundOrder | None = None,
                  stopping: reads.Stopping | None = None,
                  fresh_buffers: bool = True) -> CacheState:
    """Warm (or empty) the cache of both twins, run the shapes on both side by side into
    `into` (round by round, so an interrupted run keeps what it measured); return the cache
    state they ran in. `meter` wraps the measuring itself (not the restart and prewarm);
    `order` is how the rounds go over the twins (bench.runner.round_order); `stopping`,
    sequential stopping of the shapes (reads.Stopping). `fresh_buffers=False` keeps the
    buffers as they are (no restart): the twins' pages stay where an earlier prewarm of the
    same two placed them side by side, and the prewarm loads only what is new (the
    migration's indexes)."""
    settings = reads.SessionSettings(cfg.parallel_workers, cfg.statement_timeout_s)
    conninfo = _conninfo(twins)
    if cfg.cache == "cold":
        restart, note = cache.cold_restarter(conninfo["A"])
        reads.measure_pair(conninfo, shapes, params, rounds=rounds, warmup=0, settings=settings,
                           max_time_s=cfg.max_time_s, cold=restart, into=into,
                           progress=on_terminal(cfg.progress), stopping=stopping)
        return CacheState(mode="cold", note=note)
    if twins["A"].source == "embedded" and fresh_buffers:
        # Empty shared buffers, so that the prewarm places both twins' pages alike.
        restart_embedded(data_directory(conninfo["A"]))
    with twins["A"].connect() as conn:
        tables = catalog.app_tables(conn)
    states = cache.prewarm_pair([conninfo["A"], conninfo["B"]], tables)
    with meter or nullcontext():
        reads.measure_pair(conninfo, shapes, params, rounds=rounds, warmup=cfg.warmup,
                           settings=settings, max_time_s=cfg.max_time_s, crosscheck=crosscheck,
                           into=into, progress=on_terminal(cfg.progress), round_order=order,
                           stopping=stopping)
    state = states[0]
    if state.pg_prewarm and states[1].pg_prewarm:
        state.relations = (state.relations or 0) + (states[1].relations or 0)
        state.blocks = (state.blocks or 0) + (states[1].blocks or 0)
    return state


def _new_results(cfg: RunConfig, shapes: list[Shape], claims: Claims | None) -> RunResults:
    return RunResults(
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        environment=environment.collect(cfg.app.root),
        config=RunSettings(
            scale=cfg.scale, seed=cfg.seed, rounds=cfg.read_rounds, max_time_s=cfg.max_time_s,
            warmup=cfg.warmup, crosscheck_rounds=cfg.crosscheck_rounds, aa_rounds=cfg.aa_rounds,
            write_rounds=cfg.write_rounds, cache=cfg.cache,
            parallel_workers=cfg.parallel_workers, statement_timeout_s=cfg.statement_timeout_s,
            shapes=[s.name for s in shapes], migration=cfg.migration.name,
            command_line=" ".join(cfg.argv), dsn=redact(cfg.dsn) if cfg.dsn else None,
        ),
        claims=claims,
        method=Method(run_to_run_sd_reads=RUN_TO_RUN_SD["reads"], aa_sd_reads=AA_SD["reads"],
                      aa_sd_writes=AA_SD["writes"],
                      run_to_run_sd_writes=RUN_TO_RUN_SD["writes"], read_rounds=cfg.read_rounds,
                      write_rounds=cfg.write_rounds,
                      aa_read_rounds=min(cfg.aa_rounds, cfg.read_rounds),
                      aa_write_rounds=cfg.aa_rounds if cfg.write_rounds else 0),
    )


def _prepare_queries(target: Target, cfg: RunConfig, shapes: list[Shape],
                     server: ServerInfo) -> Params:
    """Record the server's settings, draw every shape's parameters, plan each shape once."""
    settings = reads.SessionSettings(cfg.parallel_workers, cfg.statement_timeout_s)
    with reads.open_session(target.conninfo, settings) as conn:
        server.settings = reads.read_settings(conn)
        row = conn.execute("SELECT version()").fetchone()
        server.version = str(row[0]) if row else None
        params = {s.name: parameter_sets(conn, s, cfg.seed, cfg.param_rounds) for s in shapes}
        reads.check_shapes(conn, shapes, params)
    return params
