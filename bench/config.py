"""Run options, validated once into one frozen object before anything runs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bench.errors import ConfigError
from bench.paths import DEFAULT_OUT
from bench.project.app import App, default_app

DEFAULT_ROUNDS = 24
COLD_ROUNDS = 4
# PostgreSQL's own limits: max_parallel_workers_per_gather, statement_timeout (int ms).
MAX_PARALLEL_WORKERS = 1024
MIN_TIMEOUT_S = 0.001
MAX_TIMEOUT_S = 2_147_483.0


@dataclass(frozen=True)
class RunConfig:
    scale: float = 1.0
    seed: int = 42
    # Paired rounds per shape (each runs the query on both twins), before vs after; None:
    # DEFAULT_ROUNDS, or COLD_ROUNDS with --cache cold (each cold query costs a restart).
    rounds: int | None = None
    aa_rounds: int = 8  # paired rounds of the A/A control, reads and writes; 0 skips it
    max_time_s: float = 10.0  # per shape and phase: then stop at the end of an ABBA cycle
    warmup: int = 1
    crosscheck_rounds: int = 2  # plain-query rounds timed by the client, per side
    # warm: pg_prewarm + warm-up rounds; cold: restart before every round
    cache: Literal["warm", "cold"] = "warm"
    write_rounds: int = 14  # paired rounds per write workload; 0 skips the write workloads
    dsn: str | None = None
    keep: bool = False
    out: Path = DEFAULT_OUT
    shapes: tuple[str, ...] = ()  # empty: every shape in queries_dir
    # The app under test: its project file and the flags over it (bench/project/app.py).
    app: App = field(default_factory=default_app)
    parallel_workers: int = 0
    statement_timeout_s: float = 30.0
    progress: bool = True
    argv: tuple[str, ...] = field(default_factory=tuple)
    # Per-index attribution and the recommended set (minutes at scale 1, so not by default).
    per_index: bool = False
    # --twins DSN_A DSN_B: two clones the user gives are the twins (nothing seeded or copied).
    twins: tuple[str, str] | None = None

    @property
    def queries_dir(self) -> Path:
        return self.app.queries

    @property
    def migration(self) -> Path:
        return self.app.migration

    @property
    def mix(self) -> Path | None:
        return self.app.mix

    @property
    def read_rounds(self) -> int:
        if self.rounds is not None:
            return self.rounds
        return COLD_ROUNDS if self.cache == "cold" else DEFAULT_ROUNDS

    @property
    def param_rounds(self) -> int:
        """How many parameter sets to draw: enough for the most rounds any phase may run."""
        return max(self.read_rounds, self.aa_rounds, self.crosscheck_rounds, self.warmup, 1)

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ConfigError(f"--scale must be greater than 0 (got {self.scale})")
        if self.scale > 100:
            raise ConfigError(f"--scale {self.scale} is over 100 (200 million rows); use <= 100")
        if self.rounds is not None and self.rounds < 1:
            raise ConfigError(f"--rounds must be at least 1 (got {self.rounds})")
        if self.aa_rounds < 0:
            raise ConfigError(f"--aa-rounds must be 0 or more (got {self.aa_rounds})")
        if not self.max_time_s > 0:
            raise ConfigError(f"--max-time must be greater than 0 seconds (got {self.max_time_s})")
        if self.crosscheck_rounds < 0:
            raise ConfigError("--crosscheck-rounds must be 0 or more")
        if self.cache not in ("warm", "cold"):
            raise ConfigError(f"--cache must be warm or cold (got {self.cache!r})")
        if self.cache == "cold" and self.dsn:
            raise ConfigError(
                "--cache cold needs the embedded server: it restarts PostgreSQL and drops the OS "
                "page cache, which the harness never does to a server it does not own")
        if self.write_rounds < 0:
            raise ConfigError(f"--write-rounds must be 0 or more (got {self.write_rounds})")
        if self.warmup < 0:
            raise ConfigError(f"--warmup must be 0 or more (got {self.warmup})")
        if self.seed < 0:
            raise ConfigError(f"--seed must be 0 or more (got {self.seed})")
        if not 0 <= self.parallel_workers <= MAX_PARALLEL_WORKERS:
            raise ConfigError(f"--parallel-workers must be between 0 and {MAX_PARALLEL_WORKERS} "
                              f"(got {self.parallel_workers})")
        if not MIN_TIMEOUT_S <= self.statement_timeout_s <= MAX_TIMEOUT_S:
            raise ConfigError(
                f"--statement-timeout must be between {MIN_TIMEOUT_S} and {MAX_TIMEOUT_S:,.0f} "
                f"seconds (got {self.statement_timeout_s})"
            )
        check_inputs(self.dsn)
        if self.twins:
            self._check_twins(self.twins)
        if self.per_index and self.cache == "cold":
            raise ConfigError("--per-index measures in a warm cache (it times plans in index "
                              "states inside transactions); leave out --cache cold")

    def _check_twins(self, twins: tuple[str, str]) -> None:
        """What --twins cannot go with: anything that makes or restarts a database."""
        for dsn in twins:
            check_inputs(dsn)
        clash = [flag for flag, on in (
            ("--dsn", bool(self.dsn)), ("--keep", self.keep),
            ("--cache cold", self.cache == "cold"), ("--per-index", self.per_index),
            ("--stats-dsn", bool(self.app.stats_dsn))) if on]
        if clash:
            raise ConfigError(
                f"--twins measures two clones as they are; it cannot go with {clash[0]} (that "
                "needs a scratch database or a server restart, and with --twins there is none)")


def dsn_from_env(explicit: str | None) -> str | None:
    return explicit or os.environ.get("DATABASE_URL") or None


def check_out_dir(out: Path) -> None:
    """Make the output folder now and prove it writable, so a bad --out fails before seeding."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".pgindexbench-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"--out {out}: cannot write there ({reason})") from None


def check_inputs(dsn: str | None) -> None:
    """What every job checks before it starts: the server URL (the app's files are checked
    when its project is resolved, bench/project/app.py)."""
    if dsn:
        from bench.runner.provision import check_dsn

        check_dsn(dsn)
