"""The main job, top to bottom: provision -> seed -> measure -> migrate -> measure -> report."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bench import catalog, claims, disk, environment, measure, migration, report, results
from bench.config import ROOT, RunConfig
from bench.errors import MigrationError
from bench.params import parameter_sets
from bench.server import Target, provision, redact
from bench.shapes import Shape, load_shapes
from bench.writes import WriteBench
from seed.generate import generate
from seed.load import LoadStats, load
from seed.models import TABLES

Echo = Callable[[str], None]
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
    """Generate and COPY the synthetic dataset; return what seeding did and how fast."""
    start = time.perf_counter()
    dataset = generate(cfg.seed, cfg.scale)
    generated = time.perf_counter() - start
    with target.connect(autocommit=True) as conn:
        stats: LoadStats = load(conn, dataset, progress=cfg.progress and sys.stderr.isatty())
    total = time.perf_counter() - start
    record = {
        "scale": cfg.scale, "seed": cfg.seed, "rows": stats.rows, "total_rows": stats.total_rows,
        "generate_seconds": generated, "copy_seconds": stats.copy_seconds,
        "constraints_seconds": stats.constraints_seconds,
        "vacuum_analyze_seconds": stats.vacuum_seconds, "total_seconds": total,
        "copy_rows_per_s": stats.copy_rows_per_s, "rows_per_s": stats.total_rows / total,
    }
    echo(f"seed: {stats.total_rows:,} rows in {total:.1f} s ({record['rows_per_s']:,.0f} rows/s "
         f"overall; COPY {stats.copy_rows_per_s:,.0f} rows/s; generate {generated:.1f} s, "
         f"COPY {stats.copy_seconds:.1f} s, keys+indexes {stats.constraints_seconds:.1f} s, "
         f"VACUUM ANALYZE {stats.vacuum_seconds:.1f} s)")
    return record


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


def run(cfg: RunConfig, echo: Echo = _stderr) -> dict[str, Any]:
    shapes = load_shapes(cfg.queries_dir, cfg.shapes)  # fail on a bad file before starting
    migration.load_migration(cfg.migration)
    wall = time.perf_counter()
    doc: dict[str, Any] = {
        "schema_version": results.SCHEMA_VERSION,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": False,
        "environment": environment.collect(ROOT),
        "config": {
            "scale": cfg.scale, "seed": cfg.seed, "rounds": cfg.rounds, "warmup": cfg.warmup,
            "write_rounds": cfg.write_rounds,
            "parallel_workers": cfg.parallel_workers,
            "statement_timeout_s": cfg.statement_timeout_s,
            "shapes": [s.name for s in shapes], "migration": cfg.migration.name,
            "command_line": " ".join(cfg.argv),
            "dsn": redact(cfg.dsn) if cfg.dsn else None,
        },
        "queries": [],
    }
    settings = measure.SessionSettings(cfg.parallel_workers, cfg.statement_timeout_s)
    try:
        echo("provision ...")
        with provision(cfg.dsn, keep=cfg.keep) as target:
            doc["server"] = {"source": target.source, "database": target.dbname}
            echo(f"provision: scratch database {target.dbname} on the {target.source} server")
            with step(echo, "seed"):
                doc["seed"] = seed_database(target, cfg, echo)
            results.save(doc, cfg.out)
            with measure.open_session(target.conninfo, settings) as conn:
                doc["server"]["settings"] = measure.read_settings(conn)
                doc["server"]["version"] = conn.execute("SELECT version()").fetchone()[0]
                params = {s.name: parameter_sets(conn, s, cfg.seed, cfg.rounds) for s in shapes}
                measure.check_shapes(conn, shapes, params)
            with step(echo, "measure before"):
                before = measure.measure_phase(target.conninfo, shapes, params,
                                               warmup=cfg.warmup, settings=settings)
            doc["queries"] = _queries(shapes, params, before, None)
            results.save(doc, cfg.out)
            with target.connect() as conn:
                sizes_before = catalog.table_sizes(conn, TABLES)  # as seeded, before any writes
            writes = None
            if cfg.write_rounds:
                with target.connect(autocommit=True) as conn:
                    writes = WriteBench(conn, cfg.seed, cfg.write_rounds, cfg.warmup)
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
                    after = measure.measure_phase(target.conninfo, shapes, params,
                                                  warmup=cfg.warmup, settings=settings)
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
        doc["complete"] = True
    finally:
        doc["wall_seconds"] = time.perf_counter() - wall
        results.save(doc, cfg.out)
        if doc["queries"]:
            report.write(doc, cfg.out)
    return doc
