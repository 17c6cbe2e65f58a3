"""The main job, top to bottom: provision -> seed -> measure -> migrate -> measure -> report."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bench.config import RunConfig
from bench.paths import ROOT
from bench.report.output import write_report
from bench.results import claims as claims_file
from bench.results.model import CacheState, Claims, RunResults, RunSettings, ServerInfo
from bench.results.store import save_results
from bench.runner import cache, catalog, disk, environment, migrate, reads
from bench.runner.params import parameter_sets
from bench.runner.provision import Target, provision, redact
from bench.runner.records import drift_record, query_record
from bench.runner.seeding import seed_database
from bench.runner.shapes import Shape, load_shapes
from bench.runner.writes import WriteBench
from seed.models import TABLES

Echo = Callable[[str], None]
Params = dict[str, list[dict[str, Any]]]
COLD_ROUNDS = 5  # default rounds per shape with --cache cold: each costs a server restart


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def step(echo: Echo, label: str) -> Iterator[None]:
    start = time.perf_counter()
    echo(f"{label} ...")
    yield
    echo(f"{label}: done in {time.perf_counter() - start:.2f} s")


def run(cfg: RunConfig, echo: Echo = _stderr) -> RunResults:
    """The main job. results.json is saved after every phase; report.md at the end."""
    shapes = load_shapes(cfg.queries_dir, cfg.shapes)  # fail on a bad file before starting
    migrate.load_migration(cfg.migration)
    claims = claims_file.load_for(cfg.migration)
    wall = time.perf_counter()
    results = _new_results(cfg, shapes, claims)
    before: dict[str, reads.PhaseResult] = {}  # filled round by round
    after: dict[str, reads.PhaseResult] = {}
    params: Params = {}

    def record_queries() -> None:
        results.queries = [
            query_record(s, params[s.name], claims.reads.get(s.name) if claims else None,
                         before.get(s.name), after.get(s.name) if after else None)
            for s in shapes if s.name in params
        ]

    try:
        echo("provision ...")
        with provision(cfg.dsn, keep=cfg.keep) as target:
            results.server = ServerInfo(source=target.source, database=target.dbname)
            echo(f"provision: scratch database {target.dbname} on the {target.source} server")
            with step(echo, "seed"):
                results.seed = seed_database(target, cfg, echo)
            params.update(_prepare_queries(target, cfg, shapes, results.server))
            save_results(results, cfg.out)

            with step(echo, "measure before"):
                results.cache = measure_reads(target, cfg, shapes, params,
                                              _policies(cfg, shapes), cfg.crosscheck_rounds,
                                              into=before)
            record_queries()
            save_results(results, cfg.out)
            with target.connect() as conn:
                sizes_before = catalog.table_sizes(conn, TABLES)  # as seeded, before any writes
            writes = None
            if cfg.write_rounds:
                with target.connect(autocommit=True) as conn:
                    writes = WriteBench(conn, cfg.seed, cfg.write_rounds, cfg.warmup,
                                        checkpoint=target.source == "embedded")
                with step(echo, "writes before"):
                    writes.measure(target.conninfo, "before")
                results.writes = writes.section(_write_claim(claims))
                save_results(results, cfg.out)

            engine = sa.create_engine(target.sqlalchemy_url(), poolclass=sa.pool.NullPool)
            try:
                with step(echo, "migrate up"):
                    up = migrate.apply(engine, target, cfg.migration, "upgrade")
                results.migration = up
                echo(f"migrate up: {up.index_count} indexes created (revision {up.revision})")
                with target.connect() as conn:
                    results.disk = disk.index_costs(
                        sizes_before, catalog.table_sizes(conn, TABLES),
                        catalog.list_indexes(conn, TABLES), up.indexes, up.statements,
                        claims.disk_growth_pct if claims else None)
                save_results(results, cfg.out)

                with step(echo, "measure after"):
                    measure_reads(target, cfg, shapes, params, _policies(cfg, shapes, before),
                                  cfg.crosscheck_rounds, into=after)
                record_queries()
                save_results(results, cfg.out)
                if writes:
                    with step(echo, "writes after"):
                        writes.measure(target.conninfo, "after")
                    results.writes = writes.section(_write_claim(claims))
                    save_results(results, cfg.out)

                with step(echo, "migrate down"):
                    results.migration_down = migrate.apply(engine, target, cfg.migration,
                                                           "downgrade")
            finally:
                engine.dispose()
            if cfg.drift_rounds:
                # The before state again, at the end: if the machine drifted during the run,
                # the same rounds now take a different time, and the report says by how much.
                with step(echo, "measure before again (drift check)"):
                    again: dict[str, reads.PhaseResult] = {}
                    measure_reads(target, cfg, shapes, params,
                                  _policies(cfg, shapes, fixed=cfg.drift_rounds), into=again)
                results.drift = drift_record(before, again)
        results.complete = True
    finally:
        results.wall_seconds = time.perf_counter() - wall
        if before:  # also what an interrupted phase measured so far
            record_queries()
        save_results(results, cfg.out)
        if results.queries:
            write_report(results, cfg.out)
    return results


def _write_claim(claims: Claims | None) -> Callable[[str], tuple[float, float] | None]:
    return claims.write_claim if claims else lambda _operation: None


def _policies(cfg: RunConfig, shapes: list[Shape],
              before: dict[str, reads.PhaseResult] | None = None,
              fixed: int | None = None) -> dict[str, reads.RoundPolicy]:
    """Round policy per shape. After the migration a shape repeats the rounds it had before,
    so every measured round pairs with the round that used the same parameters."""
    policies = {}
    for s in shapes:
        n = fixed or cfg.rounds or (COLD_ROUNDS if cfg.cache == "cold" else None)
        if before is not None and before[s.name].rounds:
            n = len(before[s.name].rounds)
        policies[s.name] = reads.RoundPolicy(cfg.min_rounds, cfg.max_rounds, cfg.max_time_s,
                                             fixed=n)
    return policies


def measure_reads(target: Target, cfg: RunConfig, shapes: list[Shape], params: Params,
                  policies: dict[str, reads.RoundPolicy], crosscheck: int = 0, *,
                  into: dict[str, reads.PhaseResult]) -> CacheState:
    """Warm (or empty) the cache, run the shapes into `into` (round by round, so an
    interrupted run keeps what it measured); return the cache state they ran in."""
    settings = reads.SessionSettings(cfg.parallel_workers, cfg.statement_timeout_s)
    if cfg.cache == "cold":
        restart, note = cache.cold_restarter(target.conninfo)
        reads.measure_phase(target.conninfo, shapes, params, warmup=0, settings=settings,
                            policy=policies, cold=restart, into=into)
        return CacheState(mode="cold", note=note)
    cache_state = cache.prewarm(target.conninfo, TABLES)
    reads.measure_phase(target.conninfo, shapes, params, warmup=cfg.warmup, settings=settings,
                        policy=policies, crosscheck=crosscheck, into=into)
    return cache_state


def _new_results(cfg: RunConfig, shapes: list[Shape], claims: Claims | None) -> RunResults:
    return RunResults(
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        environment=environment.collect(ROOT),
        config=RunSettings(
            scale=cfg.scale, seed=cfg.seed, rounds=cfg.rounds or "adaptive",
            min_rounds=cfg.min_rounds, max_rounds=cfg.max_rounds, max_time_s=cfg.max_time_s,
            warmup=cfg.warmup, crosscheck_rounds=cfg.crosscheck_rounds,
            drift_rounds=cfg.drift_rounds, write_rounds=cfg.write_rounds, cache=cfg.cache,
            parallel_workers=cfg.parallel_workers, statement_timeout_s=cfg.statement_timeout_s,
            shapes=[s.name for s in shapes], migration=cfg.migration.name,
            command_line=" ".join(cfg.argv), dsn=redact(cfg.dsn) if cfg.dsn else None,
        ),
        claims=claims,
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
