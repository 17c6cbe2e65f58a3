"""Statistics as pure functions: summaries of timing samples and intervals for ratios."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

# scipy.stats takes about half a second to import: each function imports it where a figure
# needs it, so a job pays it while its server starts (pipeline.prefetch), not before.

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
    from scipy import stats as sps
    res = sps.bootstrap(
        (b, a), _median_ratio, paired=paired, vectorized=True, confidence_level=confidence,
        n_resamples=n_resamples, method="percentile", rng=np.random.default_rng(seed),
    )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isnan(lo) or math.isnan(hi):
        r = float(np.median(b) / np.median(a))
        return (r, r)
    return (lo, hi)


def median_ci(samples: Sequence[float] | FloatArray,
              confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval for the median from order statistics (binomial ranks).

    With n sorted samples the interval [x_(k), x_(n-k+1)] covers the true median with
    probability 1 - 2 P(Binom(n, 1/2) < k); k is the largest rank keeping that >= confidence.
    """
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    if n == 0:
        raise ValueError("no samples")
    from scipy import stats as sps
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


TRIM = 0.2  # share of rounds dropped at each end before averaging

# Between-run variation that no interval computed inside one run can see: the machine's speed
# regime. On the reference 2-core VM the CPU-heavy work slows by up to 2x for minutes at a time
# while memory-latency-bound work slows less, so a seq scan's speedup from an index moves with
# the regime (fk_join 559x in a fast run, 640-660x in two slow ones). Measured on six default
# runs of one commit: the spread of log speedups between runs exceeded what their within-run
# intervals explain by a standard deviation of 0.03-0.06; of log write cost ratios by 0.02.
# Added in quadrature to every factor's and overhead's standard error (the A/A control, twins
# in the same regime, gets only AA_SD below).
RUN_TO_RUN_SD = {"reads": 0.06, "writes": 0.03}
# The A/A control compares the same work on both twins, so the machine's regime cancels; what
# one run's rounds still cannot show is a small bias from where each twin's pages sit in memory
# (up to 3.5% for a seq scan, holding for a whole run, with the twins prewarmed in turns).
# Calibrated here: on 12 A/A trials at scale 0.05 on three servers, Yuen's interval alone held
# 1 in 66 of 72 read cases, the misses 1-3.5% off; on 18 test runs, in 198 of 216 write cases.
AA_SD = {"reads": 0.02, "writes": 0.01}


@dataclass(frozen=True)
class TrimmedMean:
    """A trimmed mean with its standard error (Yuen's) and degrees of freedom."""

    mean: float
    se: float
    df: int

    def interval(self, confidence: float = 0.95, extra_sd: float = 0.0) -> tuple[float, float]:
        from scipy import stats as sps
        t = float(sps.t.ppf(1 - (1 - confidence) / 2, max(self.df, 1)))
        half = t * math.sqrt(self.se ** 2 + extra_sd ** 2)
        return self.mean - half, self.mean + half


def trimmed_mean(samples: Sequence[float] | FloatArray, trim: float = TRIM) -> TrimmedMean:
    """The `trim`-trimmed mean: the mean of what is left after dropping the lowest and highest
    g = floor(trim * n) values; its standard error is Yuen's, from the winsorized variance
    (values outside the kept range pulled to its ends). Robust to a few wild values like a
    median, but a smooth function of all the others, so it does not jump when noise reorders
    them."""
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    if n == 0:
        raise ValueError("no samples")
    g = int(np.floor(trim * n))
    kept = x[g:n - g]
    mean = float(kept.mean())
    if len(kept) < 2:
        return TrimmedMean(mean, 0.0, 0)
    h = len(kept)
    winsorized = np.clip(x, kept[0], kept[-1])
    # Yuen's squared standard error: (n - 1) s_w^2 / (h (h - 1)), h values kept.
    se = math.sqrt((n - 1) * float(np.var(winsorized, ddof=1)) / (h * (h - 1)))
    return TrimmedMean(mean, se, h - 1)


def trimmed_mean_ci(samples: Sequence[float] | FloatArray, trim: float = TRIM,
                    confidence: float = 0.95) -> tuple[float, tuple[float, float]]:
    """The trimmed mean with its Yuen (Tukey-McLaughlin) interval."""
    tm = trimmed_mean(samples, trim)
    return tm.mean, tm.interval(confidence)


def paired_ratio(numer: Sequence[float], denom: Sequence[float], *, confidence: float = 0.95,
                 extra_sd: float = 0.0) -> tuple[float, tuple[float, float]]:
    """The typical per-round ratio numer[i] / denom[i], with its interval.

    Round i of both samples was measured in the same time window and with the same inputs, so
    each ratio is free of what the machine was doing then. The estimate is the geometric mean
    of the per-round ratios without the 20% most extreme at each end (a trimmed mean of their
    logarithms): the rounds a hiccup hit on one side do not count, and, unlike a median, it
    does not jump between clusters of ratios when inputs of different cost give different
    ratios. The interval is the trimmed mean's Yuen interval, widened by `extra_sd` (a
    between-run standard deviation of the log ratio, RUN_TO_RUN_SD) in quadrature. (Chosen on
    repeated default runs here: the ratio of the two medians moved up to 1.8x between runs,
    the median of the ratios 1.8x, this estimate at most 1.3x.)
    """
    logs = paired_log_ratios(numer, denom)
    if len(logs) == 0:
        nan = float("nan")
        return nan, (nan, nan)
    tm = trimmed_mean(logs)
    lo, hi = tm.interval(confidence, extra_sd)
    return math.exp(tm.mean), (math.exp(lo), math.exp(hi))


def paired_log_ratios(numer: Sequence[float], denom: Sequence[float]) -> FloatArray:
    """log(numer[i] / denom[i]) for the rounds both samples have (and both timed above 0)."""
    n = min(len(numer), len(denom))
    x, y = np.asarray(numer[:n], float), np.asarray(denom[:n], float)
    ok = (x > 0) & (y > 0)
    logs: FloatArray = np.log(x[ok] / y[ok])
    return logs


def yuen_difference(base: Sequence[float] | FloatArray, new: Sequence[float] | FloatArray, *,
                    extra_var: float = 0.0, confidence: float = 0.95,
                    ) -> tuple[float, tuple[float, float], float]:
    """Yuen's two-sample comparison of trimmed means: new - base, its interval and p-value.

    The squared standard errors of both trimmed means add up, with `extra_var` (between-run
    variance the samples cannot show) on top; degrees of freedom by Welch-Satterthwaite.
    Without `extra_var` this is scipy.stats.ttest_ind(new, base, trim=0.2, equal_var=False).
    """
    b, n = trimmed_mean(base), trimmed_mean(new)
    var = b.se ** 2 + n.se ** 2 + extra_var
    diff = n.mean - b.mean
    if var <= 0:
        return diff, (diff, diff), 1.0 if diff == 0 else 0.0
    parts = [(b.se ** 2, b.df), (n.se ** 2, n.df)]
    df = (b.se ** 2 + n.se ** 2) ** 2 / sum(v ** 2 / max(d, 1) for v, d in parts) \
        if b.se or n.se else 1.0
    t = diff / math.sqrt(var)
    from scipy import stats as sps
    p = float(2 * sps.t.sf(abs(t), df))
    q = float(sps.t.ppf(1 - (1 - confidence) / 2, df))
    half = q * math.sqrt(var)
    return diff, (diff - half, diff + half), p


# --- sequential stopping ------------------------------------------------------------------------
#
# A figure (a shape's speedup, a write workload's cost ratio, a per-index effect) may stop before
# its round cap once its interval is decisive for its verdict. Looking at an interval again and
# again and stopping when it looks good inflates the error rate, so the looks are set in advance
# (Looks.at) and the error rate is split between them (Bonferroni over looks, an alpha-spending
# scheme): each early look spends EARLY_ALPHA, and whatever stop comes last (the round cap, a
# time cap in between) gets what is left. By the union bound the reported interval misses the
# truth with probability at most ALPHA whatever the data do, at the price of a wider interval
# at an early look (it only stops there when even the wider one is decisive) and a slightly
# wider one at the cap (96% instead of 95% with two early looks).

ALPHA = 0.05
EARLY_ALPHA = 0.005  # spent at each early look
# An early stop also needs the interval to be narrow enough: at most this factor either side
# of the estimate. Reads: a shape's per-round ratios differ with its parameters (a log SD of
# 0.5-1.4 for the 007 shapes), and two runs that stop at different looks average different
# parameter sets; with 3x the estimates of a run stopped at round 8 and one at round 24 differ
# by about 1.15x (5x let them differ by 1.75x in two runs here). Writes: the run-to-run
# figures must agree within 1.10x.
MAX_EARLY_FACTOR = {"reads": 3.0, "writes": 1.25}


@dataclass(frozen=True)
class Looks:
    """The rounds at which a figure's interval is looked at; the last is its round cap."""

    at: tuple[int, ...]

    @staticmethod
    def up_to(cap: int, every: int = 8, first: int = 8) -> Looks:
        """Early looks at first, first + every, ... (below the cap), then the cap."""
        early = tuple(range(first, cap, every)) if cap > first else ()
        return Looks((*early, cap))

    @property
    def cap(self) -> int:
        return self.at[-1]

    @property
    def early(self) -> tuple[int, ...]:
        return self.at[:-1]

    def is_early_look(self, rounds: int) -> bool:
        return rounds in self.early

    @property
    def early_confidence(self) -> float:
        return 1 - EARLY_ALPHA

    def final_confidence(self) -> float:
        """The level of an interval reported at the cap or at a time cap: what the early looks
        left of ALPHA."""
        return 1 - (ALPHA - EARLY_ALPHA * len(self.early))


def decisive(interval: tuple[float, float], cuts: Sequence[float]) -> bool:
    """The verdict cannot change with more rounds: no cut point (a threshold of the verdict:
    the edges of the noise band, a claimed factor) lies inside the interval."""
    lo, hi = interval
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return False
    return not any(lo <= c <= hi for c in cuts)


def narrow_enough(estimate: float, interval: tuple[float, float], factor: float) -> bool:
    """The interval of a ratio lies within `factor` either side of its estimate."""
    lo, hi = interval
    return estimate > 0 and lo > 0 and hi / estimate <= factor and estimate / lo <= factor


def early_stop(numer: Sequence[float], denom: Sequence[float], cuts: Sequence[float], *,
               extra_sd: float, factor: float) -> bool:
    """At an early look: the ratio's interval at the early looks' level is decisive for the
    verdict (no cut inside) and narrow enough."""
    estimate, interval = paired_ratio(numer, denom, confidence=1 - EARLY_ALPHA,
                                      extra_sd=extra_sd)
    return decisive(interval, cuts) and narrow_enough(estimate, interval, factor)


def stop_now(numer: Sequence[float], denom: Sequence[float], looks: Looks,
             cuts: Sequence[float], *, extra_sd: float, factor: float) -> bool:
    """At a round boundary, after len(numer) paired rounds: is this an early look, and is the
    figure decided there (early_stop)? The one stopping rule every phase uses."""
    n = min(len(numer), len(denom))
    return looks.is_early_look(n) and early_stop(numer[:n], denom[:n], cuts,
                                                 extra_sd=extra_sd, factor=factor)


@dataclass(frozen=True)
class Stop:
    """How a figure's rounds ended: how many, why, and the level its interval is given at."""

    rounds: int
    reason: Literal["decisive", "round cap", "time cap", "error"]
    confidence: float

    def text(self) -> str:
        if self.reason == "decisive":
            return f"interval decisive after {self.rounds} rounds"
        return f"{self.reason} after {self.rounds} rounds"


def stop_record(looks: Looks, rounds: int, reason: str) -> Stop:
    """The Stop of a figure that ended after `rounds` rounds for `reason`."""
    if reason == "decisive":
        return Stop(rounds, "decisive", looks.early_confidence)
    kind: Literal["round cap", "time cap", "error"] = (
        "time cap" if reason == "time cap" else "error" if reason == "error" else "round cap")
    return Stop(rounds, kind, looks.final_confidence())
