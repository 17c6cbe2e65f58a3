"""Column values drawn to match one column of stats.json (bench/results/table_stats.py).

The start of data generated from production's statistics: per column, the null fraction, the
most common values with their frequencies and the histogram's quantiles are reproduced (what
PostgreSQL's ANALYZE would see again, up to sampling). Not yet plugged into the generic
generator (bench/data/generic.py) as a per-column override, and the distinct count, the
correlation with physical order and foreign-key fan-out are not reproduced yet.

How: of n rows, round(n * null_frac) are NULL; the rest are shared out to the most common
values by their frequencies (largest remainder, so the shares are exact to a row) and the
remaining rows fall into the histogram's buckets, each bucket holding the same share (that is
what a PostgreSQL histogram is): numbers and times uniformly inside their bucket, text as the
bucket's lower bound. Rows come out shuffled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from bench.results.table_stats import ColumnStats


@dataclass(frozen=True)
class Drawn:
    """n values (object array: float, datetime or str) and where they are NULL."""

    values: np.ndarray
    nulls: np.ndarray  # bool


def _shares(weights: list[float], total: int) -> np.ndarray:
    """`total` rows shared out by `weights`, exact to a row (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=int)
    raw = w / w.sum() * total
    out: np.ndarray = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out), kind="stable")[: total - out.sum()]:
        out[i] += 1
    return out


def _parse(kind: str, values: list[str]) -> list[object]:
    if kind == "number":
        return [float(v) for v in values]
    if kind == "time":
        return [datetime.fromisoformat(v) for v in values]
    return list(values)


def draw(column: ColumnStats, rng: np.random.Generator, n: int) -> Drawn:
    nulls_n = round(n * column.null_frac)
    mcv = _parse(column.kind, column.most_common_vals or [])
    freqs = list(column.most_common_freqs or [])[: len(mcv)]
    bounds = _parse(column.kind, column.histogram_bounds or [])
    rest = max(0.0, 1.0 - column.null_frac - sum(freqs))
    weights = [*freqs, rest] if len(bounds) >= 2 else freqs
    counts = _shares(weights, n - nulls_n)
    parts: list[np.ndarray] = []
    for value, count in zip(mcv, counts, strict=False):
        part = np.empty(count, dtype=object)
        part[:] = [value] * count
        parts.append(part)
    if len(bounds) >= 2:
        parts.append(_from_histogram(column.kind, bounds, int(counts[-1]), rng))
    values = np.empty(n, dtype=object)
    filled = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    values[: filled.size] = filled
    nulls = np.zeros(n, dtype=bool)
    nulls[filled.size:] = True  # the null rows (and any rounding short of n)
    order = rng.permutation(n)
    return Drawn(values[order], nulls[order])


def _from_histogram(kind: str, bounds: list[object], count: int,
                    rng: np.random.Generator) -> np.ndarray:
    buckets = len(bounds) - 1
    which = np.repeat(np.arange(buckets), _shares([1.0] * buckets, count))
    out = np.empty(count, dtype=object)
    if kind == "number":
        lo = np.array(bounds[:-1], dtype=float)[which]
        hi = np.array(bounds[1:], dtype=float)[which]
        out[:] = list(lo + rng.random(count) * (hi - lo))
    elif kind == "time":
        starts = [b.timestamp() for b in bounds]  # type: ignore[attr-defined]
        lo = np.array(starts[:-1])[which]
        hi = np.array(starts[1:])[which]
        tz = bounds[0].tzinfo  # type: ignore[attr-defined]
        out[:] = [datetime.fromtimestamp(t, tz) for t in lo + rng.random(count) * (hi - lo)]
    else:
        out[:] = [bounds[i] for i in which]
    return out
