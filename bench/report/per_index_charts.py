"""The per-index chart (run --per-index): read time saved against write time added, per index,
with their 95% intervals, from the result model alone (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from bench.report.charts import _save
from bench.results.model import RunResults

COLORS = {"keep": "#2ca02c", "drop": "#c44e52", "inconclusive": "#dd8452", "unused": "#8c8c8c"}
LINEAR = 0.01  # ms/s: below this the axes are linear (symlog), so 0 and negatives show


def draw(results: RunResults, path: Path) -> bool:
    """x: read time saved per second alone (filled) and within the migration (hollow);
    y: write time added per second; both under the run's workload mix."""
    section = results.per_index
    if section is None or not section.indexes:
        return False
    fig, ax = plt.subplots(figsize=(11, 7), dpi=120)
    seen: set[str] = set()
    for rec in section.indexes:
        color = COLORS[rec.verdict]
        x, y = rec.read_saved_ms_per_s, rec.write_added_ms_per_s
        (xlo, xhi), (ylo, yhi) = rec.read_saved_ci95, rec.write_added_ci95
        ax.errorbar(x, y, xerr=[[max(x - xlo, 0)], [max(xhi - x, 0)]],
                    yerr=[[max(y - ylo, 0)], [max(yhi - y, 0)]], fmt="o", color=color,
                    ecolor=color, elinewidth=1, capsize=2, markersize=6, zorder=3,
                    label=rec.verdict if rec.verdict not in seen else None)
        seen.add(rec.verdict)
        loo = rec.loo_read_saved_ms_per_s
        if abs(loo - x) > LINEAR:
            ax.plot([x, loo], [y, y], color=color, lw=0.8, ls=":", zorder=2)
            ax.scatter([loo], [y], facecolors="white", edgecolors=color, s=30, zorder=3)
        ax.annotate(rec.name.removeprefix("ix_"), (x, y), textcoords="offset points",
                    xytext=(5, 4), fontsize=7, color="#333333")
    top = max([abs(r.write_added_ci95[1]) for r in section.indexes] + [LINEAR * 10])
    line = np.logspace(np.log10(LINEAR), np.log10(top * 3), 50)
    ax.plot(line, line, color="black", lw=0.8, ls="--", zorder=1,
            label="break-even: read saved = write added")
    ax.scatter([], [], facecolors="white", edgecolors="black", s=30,
               label=f"read saved within {results.migration_name} (leave-one-out)")
    ax.set_xscale("symlog", linthresh=LINEAR)
    ax.set_yscale("symlog", linthresh=LINEAR)
    ax.set_xlabel("read time saved, ms per second of traffic (filled: the index alone; "
                  "symlog scale)")
    ax.set_ylabel("write time added, ms per second of traffic")
    ax.set_title(f"Per index of {results.migration_name}: what it saves on reads against what "
                 f"it costs on writes (workload mix {section.mix.source}; 95% CI)", fontsize=10)
    ax.grid(which="both", alpha=0.2)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)
