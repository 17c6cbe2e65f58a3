"""Seed: create the six tables and load the synthetic dataset (seed/), and say how fast.

On the embedded server the load runs with wal_level=minimal (bulk_mode.py: two restarts,
included in the time); a --dsn server is never restarted.
"""

from __future__ import annotations

import sys
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from bench.config import RunConfig
from bench.data.load import load
from bench.results.model import SeedRecord
from bench.runner.bulk_mode import bulk_load_mode, bulk_mode_summary
from bench.runner.progress import Echo, stderr_echo
from bench.runner.provision import Target


def seed_database(target: Target, cfg: RunConfig, echo: Echo = stderr_echo) -> SeedRecord:
    """Generate and COPY the synthetic dataset; return what seeding did and how fast.

    Generation runs in the loading processes alongside COPY, so "COPY" is generate + load.
    """
    start = time.perf_counter()
    bulk: AbstractContextManager[dict[str, Any]] = (
        bulk_load_mode(target.conninfo) if target.source == "embedded" else nullcontext({}))
    with bulk as server_settings, target.connect(autocommit=True) as conn:
        stats = load(conn, cfg.seed, cfg.scale, progress=cfg.progress and sys.stderr.isatty())
    total = time.perf_counter() - start
    echo(stats.summary(total))
    if server_settings:
        echo(f"seed: {bulk_mode_summary(server_settings)}")
    return SeedRecord(scale=cfg.scale, seed=cfg.seed, **stats.record(total),
                      server_settings=server_settings)
