"""Options of `python -m bench deploy`, validated once into one frozen object."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import check_inputs
from bench.errors import ConfigError
from bench.paths import DEFAULT_DEPLOY_OUT
from bench.project.app import App, default_app
from bench.project.options import add_app_options, app_from_args

MAX_CLIENTS = 64


@dataclass(frozen=True)
class DeployConfig:
    scale: float = 1.0
    seed: int = 42
    clients: tuple[int, ...] = (1, 2, 4, 8)  # throughput at each
    load_clients: int | None = None  # connections of the load during a migration (max clients)
    out: Path = DEFAULT_DEPLOY_OUT
    dsn: str | None = None
    keep: bool = False
    app: App = field(default_factory=default_app)
    lead_s: float = 3.0  # load before and after each migration (the sweep's: a sixth)
    throughput_seconds: int = 1  # per pgbench run; runs_per_side runs per side and setting
    runs_per_side: int = 2
    sweep_scales: tuple[float, ...] = (0.1, 0.3)  # as written, at these smaller sizes too
    at_scale: float = 10.0  # extrapolate the stall to this size
    lock_timeout_ms: float = 1000.0  # the failing concurrent build's lock_timeout
    read_budget: float = 0.5  # cores the load's reads may take on the unmigrated database
    progress: bool = True
    argv: tuple[str, ...] = field(default_factory=tuple)

    @property
    def migration(self) -> Path:
        return self.app.migration

    @property
    def queries_dir(self) -> Path:
        return self.app.queries

    @property
    def mix(self) -> Path:
        assert self.app.mix is not None  # checked in __post_init__
        return self.app.mix

    @property
    def load_connections(self) -> int:
        return self.load_clients or max(self.clients)

    def __post_init__(self) -> None:
        if not 0 < self.scale <= 100:
            raise ConfigError(f"--scale must be above 0 and at most 100 (got {self.scale})")
        if self.seed < 0:
            raise ConfigError(f"--seed must be 0 or more (got {self.seed})")
        if not self.clients or any(not 1 <= c <= MAX_CLIENTS for c in self.clients):
            raise ConfigError(f"--clients must be whole numbers from 1 to {MAX_CLIENTS} "
                              f"(got {','.join(map(str, self.clients)) or 'none'})")
        if self.load_clients is not None and not 1 <= self.load_clients <= MAX_CLIENTS:
            raise ConfigError(f"--load-clients must be from 1 to {MAX_CLIENTS} "
                              f"(got {self.load_clients})")
        if not 0.5 <= self.lead_s <= 600:
            raise ConfigError(f"--lead must be from 0.5 to 600 seconds (got {self.lead_s})")
        if not 1 <= self.throughput_seconds <= 600:
            raise ConfigError("--throughput-seconds must be a whole number from 1 to 600 "
                              f"(got {self.throughput_seconds})")
        if not 1 <= self.runs_per_side <= 100:
            raise ConfigError(f"--runs must be from 1 to 100 (got {self.runs_per_side})")
        if any(not 0 < s <= 100 for s in self.sweep_scales):
            raise ConfigError("every scale in --sweep must be above 0 and at most 100 (got "
                              f"{','.join(f'{s:g}' for s in self.sweep_scales)})")
        if not self.at_scale > 0:
            raise ConfigError(f"--at-scale must be above 0 (got {self.at_scale})")
        if not 1 <= self.lock_timeout_ms <= 600_000:
            raise ConfigError("--lock-timeout must be from 1 to 600000 ms "
                              f"(got {self.lock_timeout_ms:g})")
        if not 0 < self.read_budget <= 64:
            raise ConfigError(f"--read-budget must be above 0 (got {self.read_budget})")
        check_inputs(self.dsn)
        if self.app.mix is None:
            raise ConfigError("deploy plays the app's traffic from its workload mix: pass --mix "
                              "FILE or set mix = ... in the project file")
        if not self.app.mix.is_file():
            raise ConfigError(f"workload mix not found: {self.app.mix}")


def parse_numbers(text: str, option: str, kind: type[int] | type[float]) -> tuple[float, ...]:
    """"1,2,4" -> (1, 2, 4), sorted, without repeats; one clear error otherwise."""
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        noun = "whole numbers" if kind is int else "numbers"
        raise ConfigError(f"{option} must be {noun} separated by commas (got {text!r})") from None
    return tuple(sorted(set(values)))


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "deploy", help="the migration under live traffic (pgbench): lock stalls as written vs "
                       "CONCURRENTLY, and throughput at N clients without/with the indexes")
    p.add_argument("--scale", type=float, default=1.0,
                   help="data size: the app's rows at scale 1 times this (default 1.0)")
    p.add_argument("--seed", type=int, default=42, help="random seed for data and parameters")
    p.add_argument("--clients", default="1,2,4,8",
                   help="client counts for the throughput table (default 1,2,4,8)")
    p.add_argument("--load-clients", type=int, default=None,
                   help="connections of the load during the migrations (default: the most "
                        "of --clients)")
    p.add_argument("--out", type=Path, default=DEFAULT_DEPLOY_OUT,
                   help="output folder (default reports/deploy)")
    p.add_argument("--dsn", default=None,
                   help="use this existing server (default: $DATABASE_URL, else an embedded "
                        "PostgreSQL); the harness works only in scratch databases it creates")
    p.add_argument("--keep", action="store_true", help="keep the scratch database")
    p.add_argument("--lead", type=float, default=3.0,
                   help="seconds of load before and after each migration, after it at least "
                        "a quarter of its length (default 3; the sweep's scales a sixth, at "
                        "least 0.5)")
    p.add_argument("--throughput-seconds", type=int, default=1,
                   help="seconds per pgbench run in the throughput table (default 1)")
    p.add_argument("--runs", type=int, default=2,
                   help="pgbench runs per twin and setting, in ABBA order (default 2)")
    p.add_argument("--sweep", default="0.1,0.3",
                   help="smaller scales at which the migration also runs as written under "
                        "load, for the stall's growth with size (default 0.1,0.3; '' skips)")
    p.add_argument("--at-scale", type=float, default=10.0,
                   help="the size to extrapolate the stall to (default 10: 20 million rows)")
    p.add_argument("--lock-timeout", type=float, default=1000.0,
                   help="lock_timeout in ms of the concurrent build that is made to fail "
                        "(default 1000)")
    p.add_argument("--read-budget", type=float, default=0.5,
                   help="cores the load's reads may use on the unmigrated database; the mix's "
                        "read rates are scaled down to fit (default 0.5)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    add_app_options(p)


def from_args(args: argparse.Namespace, argv: list[str], dsn: str | None) -> DeployConfig:
    """The options as one validated DeployConfig; argv is recorded (password masked)."""
    clients = tuple(int(c) for c in parse_numbers(args.clients, "--clients", int))
    return DeployConfig(
        scale=args.scale, seed=args.seed, clients=clients, load_clients=args.load_clients,
        out=args.out, dsn=dsn, keep=args.keep, app=app_from_args(args), lead_s=args.lead,
        throughput_seconds=args.throughput_seconds,
        runs_per_side=args.runs,
        sweep_scales=tuple(s for s in parse_numbers(args.sweep, "--sweep", float)
                           if s != args.scale),
        at_scale=args.at_scale, lock_timeout_ms=args.lock_timeout, read_budget=args.read_budget,
        progress=not args.no_progress, argv=tuple(["python -m bench", *argv]),
    )


def is_deploy_folder(path: Path) -> bool:
    """A deploy run's output: a deploy.json (its "kind" says so), or a folder with one and no
    results.json."""
    if path.is_dir():
        return (path / "deploy.json").is_file() and not (path / "results.json").is_file()
    try:
        with path.open(encoding="utf-8") as f:
            head = f.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r'"kind"\s*:\s*"deploy"', head) is not None
