"""The chart of the planner's estimated speedup against the measured one (matplotlib, Agg).

Log-log, one point per shape, with the diagonal where the estimate equals the measurement and
the bands where they differ by 2x and 10x: a point above the diagonal paid more than the
planner expected. The arithmetic is bench.results.estimates.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.formatting import factor
from bench.results import estimates
from bench.results.model import RunResults

POINT, DIAGONAL = "#4c72b0", "#555555"


def points(results: RunResults) -> list[tuple[str, float, float]]:
    """(shape, estimated, measured) of every shape with both speedups."""
    out = []
    for q in results.queries:
        e = estimates.for_query(q)
        if e and e.estimated_speedup and e.measured_speedup:
            out.append((q.name, e.estimated_speedup, e.measured_speedup))
    return out


def draw(results: RunResults, path: Path) -> bool:
    pts = points(results)
    if not pts:
        return False
    values = [v for _n, e, m in pts for v in (e, m)]
    lo = 10 ** math.floor(math.log10(min(min(values), 1.0) / 1.5))
    hi = 10 ** math.ceil(math.log10(max(values) * 1.5))
    fig, ax = plt.subplots(figsize=(7, 6.2), dpi=120)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.plot([lo, hi], [lo, hi], color=DIAGONAL, lw=1.2, label="measured = estimated")
    for k, style in ((2, "--"), (10, ":")):
        ax.plot([lo, hi], [lo * k, hi * k], color=DIAGONAL, lw=0.8, ls=style,
                label=f"measured {k}x the estimate, or 1/{k}")
        ax.plot([lo, hi], [lo / k, hi / k], color=DIAGONAL, lw=0.8, ls=style)
    ax.axhline(1, color="#bbbbbb", lw=0.8)
    ax.axvline(1, color="#bbbbbb", lw=0.8)
    # Labels alternate right and left of their points, in the order of the measured speedup,
    # so a cluster of shapes stays readable; the figures are in the report's table.
    for k, (name, est, meas) in enumerate(sorted(pts, key=lambda p: p[2])):
        ax.scatter([est], [meas], s=40, color=POINT, zorder=3)
        right = k % 2 == 0
        ax.annotate(f"{name} ({factor(est)} → {factor(meas)})", (est, meas),
                    textcoords="offset points", xytext=(7 if right else -7, 0), fontsize=7.5,
                    va="center", ha="left" if right else "right")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("planner's estimated speedup (total cost before / after)")
    ax.set_ylabel("measured speedup (execution time before / after)")
    ax.set_title(f"Estimated vs measured speedup, {results.migration_name}")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
