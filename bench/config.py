"""Run options, validated once into one frozen object before anything runs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = ROOT / "queries"
MIGRATION_FILE = QUERIES_DIR / "migrations" / "007_add_comprehensive_database_indexes.py"
DEFAULT_OUT = ROOT / "reports" / "latest"


@dataclass(frozen=True)
class RunConfig:
    scale: float = 1.0
    seed: int = 42
    rounds: int = 20
    warmup: int = 2
    write_rounds: int = 15  # 0 skips the write workloads
    dsn: str | None = None
    keep: bool = False
    out: Path = DEFAULT_OUT
    shapes: tuple[str, ...] = ()  # empty: every shape in queries_dir
    queries_dir: Path = QUERIES_DIR
    migration: Path = MIGRATION_FILE
    parallel_workers: int = 0
    statement_timeout_s: float = 30.0
    progress: bool = True
    argv: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ConfigError(f"--scale must be greater than 0 (got {self.scale})")
        if self.scale > 100:
            raise ConfigError(f"--scale {self.scale} is over 100 (200 million rows); use <= 100")
        if self.rounds < 1:
            raise ConfigError(f"--rounds must be at least 1 (got {self.rounds})")
        if self.write_rounds < 0:
            raise ConfigError(f"--write-rounds must be 0 or more (got {self.write_rounds})")
        if self.warmup < 0:
            raise ConfigError(f"--warmup must be 0 or more (got {self.warmup})")
        if self.parallel_workers < 0:
            raise ConfigError(f"--parallel-workers must be 0 or more (got {self.parallel_workers})")
        if not self.statement_timeout_s > 0:
            raise ConfigError(
                "--statement-timeout must be greater than 0 seconds "
                f"(got {self.statement_timeout_s})"
            )
        if not self.queries_dir.is_dir():
            raise ConfigError(f"query folder not found: {self.queries_dir}")
        if not self.migration.is_file():
            raise ConfigError(f"migration file not found: {self.migration}")


def dsn_from_env(explicit: str | None) -> str | None:
    return explicit or os.environ.get("DATABASE_URL") or None
