"""The chart of the planner's estimated speedup against the measured one (matplotlib, Agg).

Log-log, one point per shape, with the diagonal where the estimate equals the measurement and
the bands where they differ by 2x and 10x: a point above the diagonal paid more than the
planner expected. With --per-index, one point more per index (a triangle): the index added
alone, on the shape that decides Dexter's rule for it (bench.results.advisor), its estimated
cost ratio against its measured time ratio; only the indexes on which the rule and the
measurement disagree are named, so the chart stays readable with many indexes. The arithmetic
is bench.results.estimates.
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

POINT, DIAGONAL, INDEX_POINT, DISAGREES = "#4c72b0", "#555555", "#dd8452", "#c44e52"


def points(results: RunResults) -> list[tuple[str, float, float]]:
    """(shape, estimated, measured) of every shape with both speedups."""
    out = []
    for q in results.queries:
        e = estimates.for_query(q)
        if e and e.estimated_speedup and e.measured_speedup:
            out.append((q.name, e.estimated_speedup, e.measured_speedup))
    return out


def index_points(results: RunResults) -> list[tuple[str, float, float, bool]]:
    """(index, estimated, measured, the 50% rule and the measurement disagree) per index of a
    --per-index run whose deciding shape has both ratios."""
    return estimates.index_points(results.per_index)


# Where a label may go around its point (offset in points, horizontal alignment), in order of
# preference; each label takes the first place that overlaps no label or point drawn before.
PLACES = (((7, 0), "left"), ((-7, 0), "right"), ((0, 10), "center"), ((0, -10), "center"),
          ((7, 10), "left"), ((-7, -10), "right"), ((7, -10), "left"), ((-7, 10), "right"),
          ((4, 20), "left"), ((4, -20), "left"),
          # farther out, with a leader line to the point: for clusters (four shapes within a
          # factor of two of each other are common)
          ((12, -24), "left"), ((-12, 24), "right"), ((12, 24), "left"), ((-12, -24), "right"),
          ((16, -36), "left"), ((-16, 36), "right"), ((16, 36), "left"), ((-16, -36), "right"))
LEADER = 20  # points of offset from which a label gets a line to its point


def _label(fig: Figure, ax: Axes, pts: list[tuple[str, float, float]],
           others: list[tuple[float, float]] | None = None) -> None:
    """Each point's label where it overlaps no label or point drawn before (`others`: points
    drawn without a label, which labels avoid too)."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    taken: list[Bbox] = []
    frame = ax.get_window_extent(renderer)  # a label past the axes is cut off: last resort
    for est, meas in [(e, m) for _n, e, m in pts] + (others or []):
        x, y = ax.transData.transform((est, meas))
        taken.append(Bbox.from_bounds(x - 4, y - 4, 8, 8))
    legend = ax.get_legend()
    if legend is not None:  # placed before the labels: they keep out of it
        taken.append(legend.get_window_extent(renderer))
    for name, est, meas in sorted(pts, key=lambda p: (p[1], p[2])):
        best = None
        for (dx, dy), ha in PLACES:
            text = ax.annotate(name, (est, meas),
                               textcoords="offset points", xytext=(dx, dy), fontsize=7.5,
                               va="center", ha=ha)
            box = text.get_window_extent(renderer)
            inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
                      and box.y1 <= frame.y1)
            clash = sum(box.overlaps(b) for b in taken) + (0 if inside else 100)
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
        ox, oy = best[1].xyann
        if max(abs(ox), abs(oy)) > LEADER:  # measured without it: the line may cross a label
            ax.annotate("", (est, meas), textcoords="offset points", xytext=(ox, oy),
                        arrowprops={"arrowstyle": "-", "color": "#999999", "lw": 0.6,
                                    "shrinkA": 0, "shrinkB": 3})


def draw(results: RunResults, path: Path) -> bool:
    pts = points(results)
    if not pts:
        return False
    ixs = index_points(results)
    values = [v for _n, e, m in pts for v in (e, m)] + [v for _n, e, m, _d in ixs for v in (e, m)]
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
    if ixs:
        ax.axvline(2, color=DISAGREES, lw=0.8, ls="-.",
                   label="Dexter's rule: an index whose estimate is right of 2x is added")
    for disagree, color, text in ((False, INDEX_POINT, "an index alone, on its deciding shape"),
                                  (True, DISAGREES, "the same, where Dexter's rule and the "
                                                    "measurement disagree")):
        mine = [(e, m) for _n, e, m, d in ixs if d == disagree]
        if mine:
            ax.scatter([e for e, _m in mine], [m for _e, m in mine], s=30, marker="^",
                       color=color, zorder=3, label=text)
    ax.set_xlabel("planner's estimated speedup (total cost before / after)")
    ax.set_ylabel("measured speedup (execution time before / after)")
    ax.set_title(f"Estimated vs measured speedup, {results.migration_name}")
    ax.legend(loc="upper left" if not ixs else "best", fontsize=8 if not ixs else 7)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()  # before the labels are placed: their places are measured on the canvas
    _label(fig, ax, [(f"{n} ({factor(e)} → {factor(m)})", e, m) for n, e, m in pts]
           + [(n, e, m) for n, e, m, d in ixs if d], [(e, m) for _n, e, m, d in ixs if not d])
    fig.savefig(path)
    plt.close(fig)
    return True
