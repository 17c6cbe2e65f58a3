"""The workload mix: how often the app runs each query shape and how many rows each write
workload touches, per second. A small TOML file the user edits (queries/workload_mix.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import Field, ValidationError

from bench.errors import ConfigError
from bench.results.record import Record


class WorkloadMix(Record):
    source: str = ""  # the file it came from
    reads: dict[str, float] = Field(default_factory=dict)  # calls per second, by shape
    writes: dict[str, float] = Field(default_factory=dict)  # rows per second, by workload


def load_mix(path: Path) -> WorkloadMix:
    """The mix in `path`; one clear error for a missing or malformed file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"workload mix not found: {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as TOML ({exc})") from None
    unknown = sorted(set(raw) - {"reads", "writes"})
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(unknown)}; "
                          "expected [reads] and [writes]")
    try:
        mix = WorkloadMix(source=path.name, **raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise ConfigError(f"{path}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}") from None
    negative = [k for k, v in {**mix.reads, **mix.writes}.items() if v < 0]
    if negative:
        raise ConfigError(f"{path}: rates must be 0 or more (negative: {', '.join(negative)})")
    return mix
