"""The main job, top to bottom: provision -> seed -> measure -> migrate -> measure -> report."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bench import (
    cache,
    catalog,
    claims,
    disk,
    environment,
    measure,
    migration,
    report,
    results,
)
from bench.config import ROOT, RunConfig
from bench.errors import MigrationError
from bench.params import parameter_sets
from bench.server import Target, provision, redact
from bench.shapes import Shape, load_shapes
from bench.writes import WriteBench
from seed.bulk_mode import bulk_load_mode, bulk_mode_summary
from seed.load import LoadStats, load
from seed.models import TABLES

Echo = Callable[[str], None]
COLD_ROUNDS = 5  # default rounds per shape with --cache cold: each costs a server restart
# The report claims "INSERT +3-5%": bulk COPY is held to the same claim as single-row INSERTs.
WRITE_CLAIMS = {"insert": claims.INSERT_OVERHEAD_PCT, "copy": claims.INSERT_OVERHEAD_PCT,
                "update": claims.UPDATE_OVERHEAD_PCT}


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def step(echo: Echo, label: str):
    start = time.perf_counter()
    echo(f"{label} ...")
    yield
    echo(f"{label}: done in {time.perf_counter() - start:.2f} s")


def seed_database(target: Target, cfg: RunConfig, echo: Echo = _stderr) -> dict[str, Any]:
    """Generate and COPY the synthetic dataset; return what seeding did and how fast.

    Generation runs in the loading processes alongside COPY, so "COPY" is generate + load. The
    embedded server loads with wal_level=minimal (seed/bulk_mode.py: two restarts, included in
    the time); a --dsn server is never restarted.
    """
    start = time.perf_counter()
    owned = target.source == "embedded"
    with bulk_load_mode(target.conninfo) if owned else nullcontext({}) as server_settings, \
            target.connect(autocommit=True) as conn:
        stats: LoadStats = load(conn, cfg.seed, cfg.scale,
                                progress=cfg.progress and sys.stderr.isatty())
    total = time.perf_counter() - start
    echo(stats.summary(total))
    if server_settings:
        echo(f"seed: {bulk_mode_summary(server_settings)}")
    return {"scale": cfg.scale, "seed": cfg.seed, **stats.record(total),
            "server_settings": server_settings}


def apply_migration(engine: sa.Engine, target: Target, cfg: RunConfig,
                    direction: str) -> dict[str, Any]:
    """Run the migration one way and check the catalog agrees with what it did."""
    with target.connect() as conn:
        before = catalog.list_indexes(conn, TABLES)
    run = migration.run_migration(engine, cfg.migration, direction)
    with target.connect(autocommit=True) as conn:
        after = catalog.list_indexes(conn, TABLES)
        if direction == "upgrade":
            for table in TABLES:
                conn.execute(f'VACUUM (ANALYZE) "{table}"')
    names_before = {i.name for i in before}
    names_after = {i.name for i in after}
    touched = [t.index for t in run.statements]
    if direction == "upgrade":
        missing = [n for n in touched if n not in names_after]
        if missing:
            raise MigrationError(f"after upgrade, pg_indexes lacks: {', '.join(missing)}")
        changed = sorted(names_after - names_before)
    else:
        left = [n for n in touched if n in names_after]
        if left:
            raise MigrationError(f"after downgrade, pg_indexes still has: {', '.join(left)}")
        changed = sorted(names_before - names_after)
    return {
        "revision": run.revision,
        "direction": direction,
        "seconds": run.seconds,
        "indexes": changed,
        "index_count": len(changed),
        "statements": [vars(t) for t in run.statements],
        "index_counts_before": catalog.index_counts(before, TABLES),
        "index_counts_after": catalog.index_counts(after, TABLES),
    }


def _queries(shapes: list[Shape], params: dict[str, list[dict[str, Any]]],
             before: dict[str, measure.PhaseResult] | None,
             after: dict[str, measure.PhaseResult] | None) -> list[dict[str, Any]]:
    return [
        results.query_record(s, params[s.name], before and before.get(s.name),
                             after and after.get(s.name))
        for s in shapes
    ]


def _policies(cfg: RunConfig, shapes: list[Shape],
              before: dict[str, measure.PhaseResult] | None = None,
              fixed: int | None = None) -> dict[str, measure.RoundPolicy]:
    """Round policy per shape. After the migration a shape repeats the rounds it had before,
    so every measured round pairs with the round that used the same parameters."""
    policies = {}
    for s in shapes:
        n = fixed or cfg.rounds or (COLD_ROUNDS if cfg.cache == "cold" else None)
        if before is not None and before[s.name].rounds:
            n = len(before[s.name].rounds)
        policies[s.name] = measure.RoundPolicy(cfg.min_rounds, cfg.max_rounds, cfg.max_time_s,
                                               fixed=n)
    return policies


def measure_reads(target: Target, cfg: RunConfig, shapes: list[Shape],
                  params: dict[str, list[dict[str, Any]]],
                  policies: dict[str, measure.RoundPolicy], crosscheck: int = 0,
                  into: dict[str, measure.PhaseResult] | None = None,
                  ) -> tuple[dict[str, measure.PhaseResult], dict[str, Any]]:
    """Warm (or empty) the cache, run the shapes; returns the results and the cache record.

    The results also fill `into` round by round (kept if the run is interrupted)."""
    settings = measure.SessionSettings(cfg.parallel_workers, cfg.statement_timeout_s)
    if cfg.cache == "cold":
        restart, note = cache.cold_restarter(target.conninfo)
        phase = measure.measure_phase(target.conninfo, shapes, params, warmup=0,
                                      settings=settings, policy=policies, cold=restart,
                                      into=into)
        return phase, {"mode": "cold", "note": note}
    cache_state = cache.prewarm(target.conninfo, TABLES)
    phase = measure.measure_phase(target.conninfo, shapes, params, warmup=cfg.warmup,
                                  settings=settings, policy=policies, crosscheck=crosscheck,
                                  into=into)
    return phase, cache_state


def run(cfg: RunConfig, echo: Echo = _stderr) -> dict[str, Any]:
    """The main job. results.json is saved after every phase; report.md at the end."""
    shapes = load_shapes(cfg.queries_dir, cfg.shapes)  # fail on a bad file before starting
    migration.load_migration(cfg.migration)
    wall = time.perf_counter()
    doc = _new_results(cfg, shapes)
    before: dict[str, measure.PhaseResult] = {}  # filled round by round
    after: dict[str, measure.PhaseResult] = {}
    try:
        echo("provision ...")
        with provision(cfg.dsn, keep=cfg.keep) as target:
            doc["server"] = {"source": target.source, "database": target.dbname}
            echo(f"provision: scratch database {target.dbname} on the {target.source} server")
            with step(echo, "seed"):
                doc["seed"] = seed_database(target, cfg, echo)
            params = _prepare_queries(target, cfg, shapes, doc)
            results.save(doc, cfg.out)

            with step(echo, "measure before"):
                _, doc["cache"] = measure_reads(target, cfg, shapes, params,
                                                _policies(cfg, shapes), cfg.crosscheck_rounds,
                                                into=before)
            doc["queries"] = _queries(shapes, params, before, None)
            results.save(doc, cfg.out)
            with target.connect() as conn:
                sizes_before = catalog.table_sizes(conn, TABLES)  # as seeded, before any writes
            writes = None
            if cfg.write_rounds:
                with target.connect(autocommit=True) as conn:
                    writes = WriteBench(conn, cfg.seed, cfg.write_rounds, cfg.warmup,
                                        checkpoint=target.source == "embedded")
                with step(echo, "writes before"):
                    writes.measure(target.conninfo, "before")
                doc["writes"] = writes.section(WRITE_CLAIMS)
                results.save(doc, cfg.out)

            engine = sa.create_engine(target.sqlalchemy_url(), poolclass=sa.pool.NullPool)
            try:
                with step(echo, "migrate up"):
                    doc["migration"] = apply_migration(engine, target, cfg, "upgrade")
                echo(f"migrate up: {doc['migration']['index_count']} indexes created "
                     f"(revision {doc['migration']['revision']})")
                with target.connect() as conn:
                    doc["indexes"] = disk.index_costs(
                        sizes_before, catalog.table_sizes(conn, TABLES),
                        catalog.list_indexes(conn, TABLES), doc["migration"]["indexes"],
                        doc["migration"]["statements"], claims.DISK_GROWTH_PCT)
                results.save(doc, cfg.out)

                with step(echo, "measure after"):
                    measure_reads(target, cfg, shapes, params, _policies(cfg, shapes, before),
                                  cfg.crosscheck_rounds, into=after)
                doc["queries"] = _queries(shapes, params, before, after)
                results.save(doc, cfg.out)
                if writes:
                    with step(echo, "writes after"):
                        writes.measure(target.conninfo, "after")
                    doc["writes"] = writes.section(WRITE_CLAIMS)
                    results.save(doc, cfg.out)

                with step(echo, "migrate down"):
                    doc["migration_down"] = apply_migration(engine, target, cfg, "downgrade")
            finally:
                engine.dispose()
            if cfg.drift_rounds:
                # The before state again, at the end: if the machine drifted during the run,
                # the same rounds now take a different time, and the report says by how much.
                with step(echo, "measure before again (drift check)"):
                    again, _ = measure_reads(target, cfg, shapes, params,
                                             _policies(cfg, shapes, fixed=cfg.drift_rounds))
                doc["drift"] = results.drift_record(before, again)
        doc["complete"] = True
    finally:
        doc["wall_seconds"] = time.perf_counter() - wall
        if before:  # also what an interrupted phase measured so far
            doc["queries"] = _queries(shapes, params, before, after or None)
        results.save(doc, cfg.out)
        if doc["queries"]:
            report.write(doc, cfg.out)
    return doc


def _new_results(cfg: RunConfig, shapes: list[Shape]) -> dict[str, Any]:
    return {
        "schema_version": results.SCHEMA_VERSION,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": False,
        "environment": environment.collect(ROOT),
        "config": {
            "scale": cfg.scale, "seed": cfg.seed, "rounds": cfg.rounds or "adaptive",
            "min_rounds": cfg.min_rounds, "max_rounds": cfg.max_rounds,
            "max_time_s": cfg.max_time_s, "warmup": cfg.warmup,
            "crosscheck_rounds": cfg.crosscheck_rounds, "drift_rounds": cfg.drift_rounds,
            "write_rounds": cfg.write_rounds, "cache": cfg.cache,
            "parallel_workers": cfg.parallel_workers,
            "statement_timeout_s": cfg.statement_timeout_s,
            "shapes": [s.name for s in shapes], "migration": cfg.migration.name,
            "command_line": " ".join(cfg.argv),
            "dsn": redact(cfg.dsn) if cfg.dsn else None,
        },
        "queries": [],
    }


def _prepare_queries(target: Target, cfg: RunConfig, shapes: list[Shape],
                     doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Record the server's settings, draw every shape's parameters, plan each shape once."""
    settings = measure.SessionSettings(cfg.parallel_workers, cfg.statement_timeout_s)
    with measure.open_session(target.conninfo, settings) as conn:
        doc["server"]["settings"] = measure.read_settings(conn)
        doc["server"]["version"] = conn.execute("SELECT version()").fetchone()[0]
        params = {s.name: parameter_sets(conn, s, cfg.seed, cfg.param_rounds) for s in shapes}
        measure.check_shapes(conn, shapes, params)
    return params
