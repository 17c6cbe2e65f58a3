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
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

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


# Where a label may go around its point (offset in points, horizontal alignment), in order of
# preference; each label takes the first place that overlaps no label or point drawn before.
PLACES = (((7, 0), "left"), ((-7, 0), "right"), ((0, 10), "center"), ((0, -10), "center"),
          ((7, 10), "left"), ((-7, -10), "right"))


def _label(fig: Figure, ax: Axes, pts: list[tuple[str, float, float]]) -> None:
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    taken: list[Bbox] = []
    for _name, est, meas in pts:
        x, y = ax.transData.transform((est, meas))
        taken.append(Bbox.from_bounds(x - 4, y - 4, 8, 8))
    for name, est, meas in sorted(pts, key=lambda p: (p[1], p[2])):
        best = None
        for (dx, dy), ha in PLACES:
            text = ax.annotate(f"{name} ({factor(est)} → {factor(meas)})", (est, meas),
                               textcoords="offset points", xytext=(dx, dy), fontsize=7.5,
                               va="center", ha=ha)
            box = text.get_window_extent(renderer)
            clash = sum(box.overlaps(b) for b in taken)
            if best is None or clash < best[0]:
                if best is not None:
                    best[1].remove()
                best = (clash, text, box)
            else:
                text.remove()
            if clash == 0:
                break
        assert best is not None
        taken.append(best[2])


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
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    for _name, est, meas in pts:
        ax.scatter([est], [meas], s=40, color=POINT, zorder=3)
    ax.set_xlabel("planner's estimated speedup (total cost before / after)")
    ax.set_ylabel("measured speedup (execution time before / after)")
    ax.set_title(f"Estimated vs measured speedup, {results.migration_name}")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()  # before the labels are placed: their places are measured on the canvas
    _label(fig, ax, pts)
    fig.savefig(path)
    plt.close(fig)
    return True
