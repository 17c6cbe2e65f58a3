"""The distributions a data spec names (README.md, "Data spec"), with their parameters checked.

A `Law` is one of them with its parameters, truncated to [min, max] where given: its quantile
function (to compile a column into a histogram, bench/data/spec.py), its draws (for lags and
fan-out weights), and its support (to check it against the schema's bounds). Numbers only:
times and durations are milliseconds by then (bench/data/spec_model.py parses them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

# distribution -> (required parameters, optional parameters); min/max truncate (beta and
# uniform: the interval itself).
PARAMETERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "uniform": (("min", "max"), ()),
    "normal": (("mean", "sd"), ("min", "max")),
    "lognormal": (("median", "sigma"), ("min", "max")),
    "exponential": (("mean",), ("min", "max")),
    "beta": (("a", "b"), ("min", "max")),
    "pareto": (("alpha",), ("min", "max")),
    "zipf": (("s",), ("min", "max")),
}
# Parameters that are a place on the column's axis (a time on a time column); the others of
# normal/lognormal/exponential are lengths (a duration on a time column).
PLACES = {"min", "max", "mean"}
NAMES = tuple(PARAMETERS)


def check(name: str, given: dict[str, Any]) -> None:
    """ValueError for an unknown distribution, a missing or unknown parameter, or parameters
    no distribution has (sd <= 0, min > max, negative log-normal bounds...)."""
    if name not in PARAMETERS:
        raise ValueError(f"unknown distribution {name!r} (one of {', '.join(NAMES)})")
    required, optional = PARAMETERS[name]
    unknown = sorted(set(given) - set(required) - set(optional))
    if unknown:
        raise ValueError(f"{name} has no parameter {unknown[0]!r} (it takes "
                         f"{', '.join(required + optional)})")
    missing = [p for p in required if given.get(p) is None]
    if missing:
        raise ValueError(f"{name} needs {', '.join(missing)}")
    lo, hi = given.get("min"), given.get("max")
    if lo is not None and hi is not None and lo >= hi:
        raise ValueError(f"min ({lo}) is not below max ({hi})")
    for p in ("sd", "sigma", "alpha", "a", "b", "mean" if name == "exponential" else "",
              "median"):
        if p and given.get(p) is not None and given[p] <= 0:
            raise ValueError(f"{name}: {p} must be > 0, not {given[p]}")
    if name == "zipf" and given["s"] <= 0:
        raise ValueError(f"zipf: s must be > 0, not {given['s']}")
    if name in ("lognormal", "exponential", "pareto") and lo is not None and lo < 0:
        raise ValueError(f"{name} takes no negative values: min {lo} < 0")
    if name == "zipf" and lo is not None and lo != int(lo):
        raise ValueError(f"zipf is over integers: min {lo} is not one")


@dataclass(frozen=True)
class Law:
    name: str
    params: tuple[tuple[str, float], ...]  # sorted (name, value), numbers only

    @staticmethod
    def of(name: str, params: dict[str, float]) -> Law:
        check(name, params)
        return Law(name, tuple(sorted((k, float(v)) for k, v in params.items()
                                      if v is not None)))

    def get(self, key: str, default: float | None = None) -> float | None:
        return dict(self.params).get(key, default)

    @property
    def discrete(self) -> bool:
        return self.name == "zipf"

    @cached_property
    def _base(self) -> Any:
        """The untruncated scipy distribution (zipf: by rank, from `min`)."""
        from scipy import stats  # a second to import: only where a spec draws

        p = dict(self.params)
        if self.name == "uniform":
            return stats.uniform(p["min"], p["max"] - p["min"])
        if self.name == "normal":
            return stats.norm(p["mean"], p["sd"])
        if self.name == "lognormal":
            return stats.lognorm(p["sigma"], scale=p["median"])
        if self.name == "exponential":
            return stats.expon(scale=p["mean"])
        if self.name == "beta":
            lo, hi = p.get("min", 0.0), p.get("max", 1.0)
            return stats.beta(p["a"], p["b"], loc=lo, scale=hi - lo)
        if self.name == "pareto":
            return stats.pareto(p["alpha"], scale=p.get("min", 1.0) or 1.0)
        return None  # zipf: its pmf below

    @property
    def support(self) -> tuple[float, float]:
        """The smallest and largest value it can take (inf where unbounded)."""
        p = dict(self.params)
        if self.name == "zipf":
            return p.get("min", 1.0), p.get("max", math.inf)
        lo, hi = (float(x) for x in self._base.support())
        return max(lo, p.get("min", -math.inf)), min(hi, p.get("max", math.inf))

    @cached_property
    def _mass(self) -> tuple[float, float]:
        lo, hi = self.support
        return float(self._base.cdf(lo)), float(self._base.cdf(hi))

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """The truncated distribution's quantile function (a continuous one)."""
        a, b = self._mass
        out: np.ndarray = self._base.ppf(a + np.asarray(q) * (b - a))
        lo, hi = self.support
        clipped: np.ndarray = np.clip(out, lo, hi)
        return clipped

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.discrete:
            values, probs = self.pmf(1 << 20)
            cdf = np.cumsum(probs)
            idx = np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"),
                             len(values) - 1)
            drawn: np.ndarray = values[idx]
            return drawn
        return self.ppf(rng.random(n))

    def pmf(self, limit: int) -> tuple[np.ndarray, np.ndarray]:
        """Zipf: the first `limit` values (min, min+1, ...) and their probabilities (of the
        whole law, so a tail beyond `limit` leaves them short of 1)."""
        lo, hi = self.support
        s = dict(self.params)["s"]
        count = int(min(limit, hi - lo + 1)) if math.isfinite(hi) else limit
        ranks = np.arange(1, count + 1, dtype=float)
        weights = ranks ** -s
        total = _zeta_sum(s, (hi - lo + 1) if math.isfinite(hi) else math.inf)
        return lo + ranks - 1, weights / total


def _zeta_sum(s: float, n: float) -> float:
    """sum_{k=1..n} k^-s (n may be inf if s > 1)."""
    head = min(n, 1 << 20)
    total = float(np.sum(np.arange(1, int(head) + 1, dtype=float) ** -s))
    if n > head:  # the tail by its integral (Euler-Maclaurin's first term)
        if math.isinf(n):
            total += head ** (1 - s) / (s - 1) if s > 1 else math.inf
        else:
            total += (n ** (1 - s) - head ** (1 - s)) / (1 - s) if s != 1 \
                else math.log(n / head)
    return total
