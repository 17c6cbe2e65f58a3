"""The benchmark suite's database: seeded once, its parameter sets, its side of migration 007."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import psycopg
import sqlalchemy as sa

from bench.config import RunConfig
from bench.runner.migrate import run_migration
from bench.runner.provision import Target
from bench.runner.shapes import Shape
from seed.models import TABLES
from tests.sales_agent import MIGRATION_FILE

PHASES = ("before", "after")


@dataclass
class BenchDatabase:
    """The seeded scratch database, its parameter sets, and which side of 007 it is on."""

    target: Target
    conn: psycopg.Connection
    shapes: dict[str, Shape]
    params: dict[str, list[dict[str, Any]]]
    config: RunConfig
    phase: str = "before"
    migration: dict[str, Any] = field(default_factory=dict)

    def ensure(self, phase: str) -> None:
        if phase == self.phase:
            return
        engine = sa.create_engine(self.target.sqlalchemy_url(), poolclass=sa.pool.NullPool)
        try:
            run = run_migration(engine, MIGRATION_FILE,
                                "upgrade" if phase == "after" else "downgrade")
        finally:
            engine.dispose()
        for table in TABLES:
            self.conn.execute(f'VACUUM (ANALYZE) "{table}"')
        self.migration = {"revision": run.revision, "seconds": run.seconds,
                          "statements": len(run.statements)}
        self.phase = phase

    def plan(self, shape: Shape, params: dict[str, Any]) -> dict[str, Any]:
        """EXPLAIN (no ANALYZE) of one parameter set: the plan the benchmark runs."""
        row = self.conn.execute("EXPLAIN (FORMAT JSON) " + shape.driver_sql, params,
                                prepare=False).fetchone()
        doc = row[0] if row else None
        return (json.loads(doc) if isinstance(doc, str) else doc)[0]["Plan"]  # type: ignore[index]
