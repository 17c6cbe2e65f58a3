"""Per-index attribution as pure functions: time saved and added, weighed with the workload mix
into a net per second with its interval, the verdict, the share of a shape's benefit a set of
indexes keeps, the search for the smallest such set, and which indexes cover others.

Why means here and trimmed ratios elsewhere: a verdict weighs server time per second, which is
a sum over calls, so its estimand is the mean time per call. A trimmed mean (or a typical ratio)
would drop exactly the rare expensive parameters (a company with thousands of contacts, a rare
priority) that dominate such a sum. The interval is Student's on the paired per-round
differences, widened like every factor of this harness by the between-run SD (RUN_TO_RUN_SD,
relative) in quadrature.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bench.formatting import ms_per_s
from bench.results.model import Interval
from bench.results.per_index import IndexAttribution, IndexVerdict

Z95 = 1.959963984540054


def mean_difference(minuend: Sequence[float], subtrahend: Sequence[float], *,
                    extra_rel_sd: float = 0.0,
                    confidence: float = 0.95) -> tuple[float, Interval]:
    """mean(minuend[i] - subtrahend[i]) over the rounds both have, with Student's interval,
    widened by `extra_rel_sd` times the mean (a relative between-run SD) in quadrature."""
    n = min(len(minuend), len(subtrahend))
    if n == 0:
        nan = float("nan")
        return nan, (nan, nan)
    d = np.asarray(minuend[:n], float) - np.asarray(subtrahend[:n], float)
    mean = float(d.mean())
    se = float(d.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    from scipy import stats as sps  # half a second to import: only where it is used

    t = float(sps.t.ppf(1 - (1 - confidence) / 2, max(n - 1, 1)))
    half = t * math.sqrt(se ** 2 + (extra_rel_sd * mean) ** 2)
    return mean, (mean - half, mean + half)


@dataclass(frozen=True)
class Term:
    """One effect weighed by a rate: rate * value, with value's 95% interval."""

    rate: float
    value: float
    ci95: Interval


def weighted_sum(terms: Iterable[Term]) -> tuple[float, Interval]:
    """sum(rate * value), its interval from the terms' standard errors (independent: each
    term was measured in its own rounds), normal approximation."""
    total, var = 0.0, 0.0
    for t in terms:
        if not t.rate:
            continue
        total += t.rate * t.value
        var += (t.rate * (t.ci95[1] - t.ci95[0]) / (2 * Z95)) ** 2
    half = Z95 * math.sqrt(var)
    return total, (total - half, total + half)


def difference(a: tuple[float, Interval], b: tuple[float, Interval]) -> tuple[float, Interval]:
    """a - b for two independent estimates with 95% intervals."""
    value = a[0] - b[0]
    se = math.hypot((a[1][1] - a[1][0]) / (2 * Z95), (b[1][1] - b[1][0]) / (2 * Z95))
    return value, (value - Z95 * se, value + Z95 * se)


def verdict(used: bool, net_ci: Interval, loo_net_ci: Interval | None = None) -> IndexVerdict:
    """unused: no plan of any shape uses the index in any state measured; keep: it pays for
    itself, alone or within the migration (either net's whole interval is above zero); drop:
    it pays in neither (both intervals below zero); inconclusive: otherwise."""
    nets = [net_ci] if loo_net_ci is None else [net_ci, loo_net_ci]
    if not used:
        return "unused"
    if any(ci[0] > 0 for ci in nets):
        return "keep"
    if all(ci[1] < 0 for ci in nets):
        return "drop"
    return "inconclusive"


def kept_share(none_ms: float, set_ms: float, all_ms: float) -> float:
    """The share of the full migration's time saving (none - all) that a set keeps
    (none - set); 1.0 when the migration saves nothing measurable on the shape."""
    benefit = none_ms - all_ms
    if benefit <= 0:
        return 1.0
    return (none_ms - set_ms) / benefit


def smallest_set(start: Iterable[str], order: Sequence[str],
                 removable: Callable[[frozenset[str], str], bool]) -> frozenset[str]:
    """Backward elimination: from `start`, try to remove each index in `order` (the least
    valuable first); keep the removal when removable(current set, index) says the set without
    it is still acceptable."""
    current = frozenset(start)
    for name in order:
        if name in current and removable(current, name):
            current = current - {name}
    return current


@dataclass(frozen=True)
class IndexShape:
    """What decides whether one index can serve another's queries."""

    name: str
    table: str
    columns: tuple[str, ...]  # key columns as pg_get_indexdef prints them, ASC/DESC removed
    predicate: str | None = None
    unique: bool = False
    method: str = "btree"


def covered_by(a: IndexShape, b: IndexShape) -> bool:
    """`a` is covered by `b`: same table and access method, a's key columns are the leading
    columns of b's, b is not partial unless a has the same predicate, and a enforces no
    uniqueness (a unique index is never redundant)."""
    if a.name == b.name or a.table != b.table or a.method != b.method or a.unique:
        return False
    if a.method != "btree" and a.columns != b.columns:
        return False
    if b.predicate is not None and b.predicate != a.predicate:
        return False
    return len(a.columns) <= len(b.columns) and b.columns[:len(a.columns)] == a.columns


def covered_pairs(indexes: Sequence[IndexShape]) -> list[tuple[str, str]]:
    """(covered, covering) for every pair; of two identical indexes, each covers the other."""
    return [(a.name, b.name) for a in indexes for b in indexes if covered_by(a, b)]


def verdict_text(rec: IndexAttribution) -> str:
    """One sentence: what the index saves and costs per second under the mix, and which net
    decided the verdict."""
    write = f"adds {ms_per_s(rec.write_added_ms_per_s)} of write time"
    if rec.verdict == "unused":
        return f"no plan of the shapes uses it in any state measured; it {write}"
    best = max(rec.add_one, key=lambda e: abs(e.saved_ms), default=None)
    where = f" on {best.shape}" if best and best.plans_changed else ""
    alone = (f"saves {ms_per_s(rec.read_saved_ms_per_s)} of read time alone{where}"
             if rec.read_saved_ms_per_s >= 0 else
             f"makes reads slower by {ms_per_s(-rec.read_saved_ms_per_s)} alone{where}")
    within = f"{ms_per_s(rec.loo_read_saved_ms_per_s)} within the migration"
    nets = (f"net {_net(rec.net_ms_per_s, rec.net_ci95)} alone, "
            f"{_net(rec.loo_net_ms_per_s, rec.loo_net_ci95)} within")
    return f"{alone}, {within}; {write}; {nets}"


def _net(value: float, ci: Interval) -> str:
    return (f"{ms_per_s(value, signed=True)} ({ms_per_s(ci[0], signed=True)} to "
            f"{ms_per_s(ci[1], signed=True)})")
