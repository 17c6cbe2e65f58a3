"""PNG charts drawn from results.json alone (matplotlib, Agg backend: no screen needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

BEFORE, AFTER, CLAIM = "#c44e52", "#4c72b0", "#555555"


def query_latency(doc: dict[str, Any], path: Path) -> bool:
    """Before vs after per shape on a log scale, every round as a dot, IQR as a bar."""
    qs = [q for q in doc["queries"] if q.get("before") and q["before"].get("median_ms")]
    if not qs:
        return False
    fig, ax = plt.subplots(figsize=(11, 5.2), dpi=120)
    x = np.arange(len(qs))
    rng = np.random.default_rng(0)
    for offset, phase, color in ((-0.18, "before", BEFORE), (0.18, "after", AFTER)):
        for i, q in enumerate(qs):
            p = q.get(phase)
            if not p or p.get("median_ms") is None:
                continue
            times = np.asarray(p["times_ms"])
            ax.scatter(x[i] + offset + rng.uniform(-0.06, 0.06, len(times)), times, s=7,
                       color=color, alpha=0.35, linewidths=0, zorder=2)
            ax.errorbar(x[i] + offset, p["median_ms"],
                        yerr=[[p["median_ms"] - p["q1_ms"]], [p["q3_ms"] - p["median_ms"]]],
                        fmt="_", markersize=22, mew=2.5, color=color, elinewidth=2, capsize=5,
                        zorder=3, label=f"measured {phase} (median, IQR)" if i == 0 else None)
        for i, q in enumerate(qs):
            c = q.get("claimed")
            if c:
                ax.scatter(x[i] + offset, c[f"{phase}_ms"], marker="D", s=30,
                           facecolors="none", edgecolors=color, zorder=4,
                           label=f"claimed {phase}" if i == 0 else None)
    for i, q in enumerate(qs):
        if q.get("speedup"):
            top = max(q["before"]["max_ms"], (q.get("claimed") or {}).get("before_ms", 0))
            ax.annotate(f"{q['speedup']:.1f}x" if q["speedup"] < 100 else f"{q['speedup']:.0f}x",
                        (x[i], top), textcoords="offset points", xytext=(0, 8), ha="center",
                        fontsize=9, fontweight="bold")
    ax.set_yscale("log")
    ax.set_xticks(x, [q["name"] for q in qs], rotation=15, ha="right")
    ax.set_ylabel("execution time (ms, log scale)")
    cfg = doc["config"]
    rows = doc.get("seed", {}).get("total_rows")
    ax.set_title(
        f"Query latency before vs after migration 007 (scale {cfg['scale']:g}"
        f"{f', {rows:,} rows' if rows else ''}; measured factor above each pair)", fontsize=11)
    ax.grid(axis="y", which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower left", ncol=2)
    ax.margins(y=0.15)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def draw_all(doc: dict[str, Any], out_dir: Path) -> list[str]:
    """Draw every chart the results support; return the file names written."""
    written = []
    for name, draw in (("query_latency.png", query_latency),):
        if draw(doc, out_dir / name):
            written.append(name)
    return written
