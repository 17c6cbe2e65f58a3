"""Seed: build the app's schema (bench/project/schema.py), fill it with its generator's rows
(bench/data/), and say how fast.

On the embedded server the load runs with wal_level=minimal (bulk_mode.py: two restarts,
included in the time); a --dsn server is never restarted.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Collection
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from bench.config import RunConfig
from bench.data import generator as generators
from bench.data.generator import Generator
from bench.data.generic import GenericGenerator
from bench.data.load import load, reflect
from bench.project import schema
from bench.results.fidelity import compare, headline
from bench.results.model import DataFidelity, SeedRecord
from bench.runner import catalog
from bench.runner.bulk_mode import bulk_load_mode, bulk_mode_summary
from bench.runner.progress import Echo, stderr_echo
from bench.runner.provision import Target


def seed_database(target: Target, cfg: RunConfig, echo: Echo = stderr_echo, *,
                  bulk_mode: bool = True) -> SeedRecord:
    """Build the schema, generate and COPY the synthetic rows; what seeding did and how fast.

    Generation runs in the loading processes alongside COPY, so "COPY" is generate + load.
    With `bulk_mode=False` the server is not restarted here: a caller that seeds several
    databases holds one bulk_load_mode window around them all.
    """
    start = time.perf_counter()
    built = schema.build(target, cfg.app)
    echo(f"seed: schema from {built}")
    generator = generator_for(target, cfg)
    echo(f"seed: rows from {data_source(cfg)}")
    bulk: AbstractContextManager[dict[str, Any]] = (
        bulk_load_mode(target.conninfo) if bulk_mode and target.source == "embedded"
        else nullcontext({}))
    with bulk as server_settings, target.connect(autocommit=True) as conn:
        stats = load(conn, generator, cfg.seed, cfg.scale,
                     progress=cfg.progress and sys.stderr.isatty())
    total = time.perf_counter() - start
    echo(stats.summary(total))
    if server_settings:
        echo(f"seed: {bulk_mode_summary(server_settings)}")
    fidelity = None
    if cfg.app.from_stats is not None and isinstance(generator, GenericGenerator):
        keys = {(t, c) for t, plan in generator.plans.items() for c in plan.keyed}
        fidelity = data_fidelity(target, cfg, keys)
        echo(f"seed: {headline(fidelity)}")
    return SeedRecord(scale=cfg.scale, seed=cfg.seed, **stats.record(total),
                      server_settings=server_settings, fidelity=fidelity)


def data_source(cfg: RunConfig) -> str:
    """Which generator fills the tables, and what shapes its data."""
    app = cfg.app
    if app.generator:
        return f"the app's own generator {app.generator}"
    shaped = [f"the statistics in {app.from_stats}"] if app.from_stats else []
    if app.data_spec is not None:
        shaped.append(f"the data spec of {app.project_file}")
    return "the generic generator" + (f", shaped by {' and '.join(shaped)}" if shaped else
                                      " (the schema alone)")


def data_fidelity(target: Target, cfg: RunConfig,
                  keys: Collection[tuple[str, str]] = ()) -> DataFidelity:
    """The seeded tables' own statistics (the load ends with ANALYZE) against the stats file
    they were made from (bench/results/fidelity.py)."""
    from bench.data.generator import read_stats_file
    from bench.runner.stats_export import read_stats

    assert cfg.app.from_stats is not None
    source = read_stats_file(cfg.app.from_stats)
    with target.connect() as conn:
        present = set(catalog.app_tables(conn))
        tables = {t.name for t in source.tables} & present
        synthetic = read_stats(conn, keep_values=True, tables=tables, sample_rows=10_000)
    return compare(source, synthetic, cfg.scale, str(cfg.app.from_stats), keys)


def generator_for(target: Target, cfg: RunConfig) -> Generator:
    """The app's data generator, for the schema now in `target`."""
    with target.connect() as conn:
        tables = reflect(conn, catalog.app_tables(conn))
    return generators.for_app(cfg.app.generator, cfg.app.root, list(tables.values()),
                              cfg.app.table_rows, cfg.app.rows, cfg.app.from_stats,
                              spec=cfg.app.data_spec)
