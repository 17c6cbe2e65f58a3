"""The app this repository measures (migration 007), as the tests see it: resolved from the
repository's own project file, pg-index-bench.toml, exactly as `make bench` resolves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg import Connection

from bench.config import RunConfig
from bench.project.app import resolve
from bench.runner.app_writes import load_app_writes
from bench.runner.provision import Target
from bench.runner.seeding import generator_for
from bench.runner.writes import WriteBench

ROOT = Path(__file__).resolve().parents[1]
APP = resolve(ROOT)
MIGRATION_FILE = APP.migration
QUERIES_DIR = APP.queries
MIX_FILE = APP.mix


def write_bench(target: Target, conn: Connection[Any], *, seed: int, rounds: int,
                warmup: int, **kwargs: Any) -> WriteBench:
    """The 007 app's write workloads, built as the pipeline builds them."""
    cfg = RunConfig(seed=seed, progress=False, app=APP)
    return WriteBench(conn, seed, rounds, warmup, generator=generator_for(target, cfg),
                      updates=load_app_writes(APP.writes), copy_tables=APP.copy_tables,
                      insert_tables=APP.insert_tables, **kwargs)
