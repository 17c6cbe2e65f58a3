"""Seed: build the app's schema (bench/project/schema.py), fill it with its generator's rows
(bench/data/), and say how fast.

On the embedded server the load runs with wal_level=minimal (bulk_mode.py: two restarts,
included in the time); a --dsn server is never restarted.
"""

from __future__ import annotations

import sys
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from bench.config import RunConfig
from bench.data import generator as generators
from bench.data.generator import Generator
from bench.data.load import load, reflect
from bench.project import schema
from bench.results.model import SeedRecord
from bench.runner import catalog
from bench.runner.bulk_mode import bulk_load_mode, bulk_mode_summary
from bench.runner.progress import Echo, stderr_echo
from bench.runner.provision import Target


def seed_database(target: Target, cfg: RunConfig, echo: Echo = stderr_echo) -> SeedRecord:
    """Build the schema, generate and COPY the synthetic rows; what seeding did and how fast.

    Generation runs in the loading processes alongside COPY, so "COPY" is generate + load.
    """
    start = time.perf_counter()
    built = schema.build(target, cfg.app)
    echo(f"seed: schema from {built}")
    generator = generator_for(target, cfg)
    bulk: AbstractContextManager[dict[str, Any]] = (
        bulk_load_mode(target.conninfo) if target.source == "embedded" else nullcontext({}))
    with bulk as server_settings, target.connect(autocommit=True) as conn:
        stats = load(conn, generator, cfg.seed, cfg.scale,
                     progress=cfg.progress and sys.stderr.isatty())
    total = time.perf_counter() - start
    echo(stats.summary(total))
    if server_settings:
        echo(f"seed: {bulk_mode_summary(server_settings)}")
    return SeedRecord(scale=cfg.scale, seed=cfg.seed, **stats.record(total),
                      server_settings=server_settings)


def generator_for(target: Target, cfg: RunConfig) -> Generator:
    """The app's data generator, for the schema now in `target`."""
    with target.connect() as conn:
        tables = reflect(conn, catalog.app_tables(conn))
    return generators.for_app(cfg.app.generator, cfg.app.root, list(tables.values()),
                              cfg.app.table_rows, cfg.app.rows)
