"""Statistics as pure functions: summaries of timing samples and intervals for ratios."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Summary:
    """A sample of timings summarised, in the sample's own unit (ms per query, µs per row)."""

    rounds: int
    median: float
    mean: float
    min: float
    max: float
    p95: float
    q1: float
    q3: float
    iqr: float
    stdev: float
    cv: float  # stdev / mean


def summarize(samples: Sequence[float]) -> Summary:
    if len(samples) == 0:
        raise ValueError("no samples to summarize")
    x = np.asarray(samples, dtype=float)
    q1, med, q3, p95 = np.percentile(x, [25, 50, 75, 95])
    mean = float(x.mean())
    stdev = float(x.std(ddof=1)) if len(x) > 1 else 0.0
    return Summary(
        rounds=len(x), median=float(med), mean=mean, min=float(x.min()), max=float(x.max()),
        p95=float(p95), q1=float(q1), q3=float(q3), iqr=float(q3 - q1), stdev=stdev,
        cv=stdev / mean if mean else 0.0,
    )


def _median_ratio(before: FloatArray, after: FloatArray, axis: int = -1) -> FloatArray:
    ratio: FloatArray = np.median(before, axis=axis) / np.median(after, axis=axis)
    return ratio


def ratio_of_medians_ci(
    before: Sequence[float], after: Sequence[float], *, paired: bool, confidence: float = 0.95,
    n_resamples: int = 2000, seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap interval for median(before) / median(after).

    paired=True resamples rounds together: round i used the same parameters before and after,
    so parameter-to-parameter variation cancels instead of widening the interval.
    """
    b, a = np.asarray(before, float), np.asarray(after, float)
    if len(b) < 2 or len(a) < 2 or (np.all(b == b[0]) and np.all(a == a[0])):
        r = float(np.median(b) / np.median(a))
        return (r, r)
    res = sps.bootstrap(
        (b, a), _median_ratio, paired=paired, vectorized=True, confidence_level=confidence,
        n_resamples=n_resamples, method="percentile", rng=np.random.default_rng(seed),
    )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isnan(lo) or math.isnan(hi):
        r = float(np.median(b) / np.median(a))
        return (r, r)
    return (lo, hi)


def median_ci(samples: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval for the median from order statistics (binomial ranks).

    With n sorted samples the interval [x_(k), x_(n-k+1)] covers the true median with
    probability 1 - 2 P(Binom(n, 1/2) < k); k is the largest rank keeping that >= confidence.
    """
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    if n == 0:
        raise ValueError("no samples")
    k = int(sps.binom.ppf((1 - confidence) / 2, n, 0.5))  # P(B <= k) >= alpha/2
    if k < 1 or sps.binom.cdf(k - 1, n, 0.5) * 2 > 1 - confidence:
        k -= 1
    if k < 1:
        return float(x[0]), float(x[-1])
    return float(x[k - 1]), float(x[n - k])


def relative_halfwidth(samples: Sequence[float], confidence: float = 0.95) -> float:
    """Half the median interval's width, relative to the median (0.05 means +-5%)."""
    lo, hi = median_ci(samples, confidence)
    med = float(np.median(samples))
    return (hi - lo) / 2 / med if med else float("inf")
