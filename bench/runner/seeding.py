"""Seed: create the six tables and load the synthetic dataset (seed/), and say how fast."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from bench.config import RunConfig
from bench.results.model import SeedRecord
from bench.runner.provision import Target
from seed.load import load

Echo = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def seed_database(target: Target, cfg: RunConfig, echo: Echo = _stderr) -> SeedRecord:
    """Generate and COPY the synthetic dataset; return what seeding did and how fast.

    Generation runs in a child process alongside COPY, so "COPY" below is generate + load.
    """
    start = time.perf_counter()
    with target.connect(autocommit=True) as conn:
        stats = load(conn, cfg.seed, cfg.scale, progress=cfg.progress and sys.stderr.isatty())
    total = time.perf_counter() - start
    record = SeedRecord(
        scale=cfg.scale, seed=cfg.seed, rows=stats.rows, total_rows=stats.total_rows,
        copy_seconds=stats.copy_seconds, constraints_seconds=stats.constraints_seconds,
        vacuum_analyze_seconds=stats.vacuum_seconds, total_seconds=total,
        copy_rows_per_s=stats.copy_rows_per_s, rows_per_s=stats.total_rows / total,
    )
    echo(f"seed: {stats.total_rows:,} rows in {total:.1f} s ({record.rows_per_s:,.0f} rows/s "
         f"overall): generate + COPY {stats.copy_seconds:.1f} s "
         f"({stats.copy_rows_per_s:,.0f} rows/s), keys + indexes "
         f"{stats.constraints_seconds:.1f} s, VACUUM ANALYZE {stats.vacuum_seconds:.1f} s")
    return record
