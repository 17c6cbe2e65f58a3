"""The command-line options that say which app to measure, shared by run, seed and deploy.
Each overrides its key of the project file; together they work without one."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from bench.errors import ConfigError
from bench.project.app import App, resolve


def add_app_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the app (default: its project file, found from here upwards)")
    g.add_argument("--project", type=Path, default=None,
                   help="project file (pg-index-bench.toml, or a pyproject.toml with "
                        "[tool.pg-index-bench])")
    g.add_argument("--schema", default=None,
                   help="schema source: package.module:Base (SQLAlchemy), schema.sql, "
                        "alembic.ini, or a postgresql:// URL (read only)")
    g.add_argument("--migration", type=Path, default=None,
                   help="the migration to measure: an Alembic revision file, or a .sql file")
    g.add_argument("--queries", type=Path, default=None, help="folder of .sql query shapes")
    g.add_argument("--rows", type=int, default=None,
                   help="rows in all at --scale 1 for the generic generator (default about "
                        "a million)")
    g.add_argument("--stats", type=Path, default=None, metavar="STATS_JSON",
                   help="shape the generic generator's data like this stats.json (`python -m "
                        "bench stats export`): per column null fraction, most common values, "
                        "histogram, distinct count, correlation; rows per table from its "
                        "reltuples times --scale; foreign keys' fan-out")
    g.add_argument("--mix", type=Path, default=None,
                   help="workload mix (TOML): calls/s per shape, rows/s per write workload")


def add_stats_dsn_option(p: argparse.ArgumentParser) -> None:
    """run and seed: compare the query shapes' plans with the stats file's source."""
    p.add_argument("--stats-dsn", default=None, metavar="URL",
                   help="a read-only connection to the database the --stats file came from: "
                        "plain EXPLAIN of each query shape with the run's first parameters "
                        "there and on the seeded data, the estimated rows per plan node as a "
                        "q-error and whether the plan is the same (one READ ONLY transaction, "
                        "short statement_timeout; nothing is written)")


def app_from_args(args: argparse.Namespace) -> App:
    app = resolve(schema=args.schema, migration=args.migration, queries=args.queries,
                  mix=args.mix, rows=args.rows, project=args.project,
                  stats=getattr(args, "stats", None))
    stats_dsn = getattr(args, "stats_dsn", None)
    if stats_dsn is None:
        return app
    if app.from_stats is None:
        raise ConfigError("--stats-dsn compares plans on data made from a stats file: give "
                          "--stats STATS_JSON too (or [data] from_stats in the project file)")
    return dataclasses.replace(app, stats_dsn=stats_dsn)
