"""Scale sweep: the whole before/after run at several data sizes, one full run per scale."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bench.config import RunConfig
from bench.errors import ConfigError
from bench.report.sweep import scale_dir, write_sweep
from bench.results.model import SweepResults
from bench.runner.run import pipeline


def parse_scales(text: str) -> tuple[float, ...]:
    try:
        scales = tuple(float(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ConfigError(f"--scales must be numbers separated by commas (got {text!r})") from None
    if not scales:
        raise ConfigError("--scales needs at least one scale")
    if any(not s > 0 for s in scales):
        raise ConfigError(f"every scale in --scales must be greater than 0 (got {text})")
    return tuple(sorted(set(scales)))


def run_sweep(cfg: RunConfig, scales: tuple[float, ...],
              echo: Callable[[str], None]) -> SweepResults:
    for s in scales:
        echo(f"sweep: scale {s:g}")
        pipeline.run(replace(cfg, scale=s, out=scale_dir(cfg.out, s)), echo)
    return write_sweep(cfg.out, scales)
