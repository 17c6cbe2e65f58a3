"""PNG charts drawn from results.json alone (matplotlib, Agg backend: no screen needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

BEFORE, AFTER, CLAIM = "#c44e52", "#4c72b0", "#555555"


def _save(fig: plt.Figure, path: Path) -> bool:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


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
    return _save(fig, path)


def write_overhead(doc: dict[str, Any], path: Path) -> bool:
    """Server-side overhead per write workload with its 95% interval, against the claim."""
    ws = [w for w in (doc.get("writes") or {}).get("workloads", [])
          if w.get("overhead_pct") is not None]
    if not ws:
        return False
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(ws) + 1.8), dpi=120)
    y = np.arange(len(ws))[::-1]
    for yi, w in zip(y, ws, strict=True):
        claim = w.get("claimed_pct")
        if claim:
            ax.fill_betweenx([yi - 0.4, yi + 0.4], claim[0], claim[1], color="#2ca02c",
                             alpha=0.5, lw=0, zorder=4,
                             label="claimed range" if yi == y[0] else None)
        lo, hi = w["overhead_ci95"]
        color = BEFORE if claim and lo > claim[1] else AFTER
        ax.barh(yi, w["overhead_pct"], height=0.55, color=color, alpha=0.85)
        err = [[w["overhead_pct"] - lo], [hi - w["overhead_pct"]]]
        ax.errorbar(w["overhead_pct"], yi, xerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
        b, a = w["before"], w["after"]
        wall = 100 * (a["wall_us_per_row"] / b["wall_us_per_row"] - 1)
        ax.scatter(wall, yi, marker="o", facecolors="white", edgecolors="black", s=28, zorder=3,
                   label="wall-clock overhead (client view)" if yi == y[0] else None)
        ax.annotate(f"{w['overhead_pct']:+.0f}%", (max(hi, w["overhead_pct"], 0), yi),
                    textcoords="offset points", xytext=(6, -3), fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [w["name"] for w in ws], fontsize=9)
    ax.set_xlabel("overhead after migration 007 (%, server-side time per row; bar = median, "
                  "line = 95% CI)")
    ax.set_title("Write cost of the 19 indexes (red: beyond the report's claim)", fontsize=11)
    ax.grid(axis="x", alpha=0.25)
    ax.legend(fontsize=8, loc="upper right")
    ax.margins(x=0.12)
    return _save(fig, path)


def disk(doc: dict[str, Any], path: Path) -> bool:
    """Per table: heap, pre-existing indexes and the new indexes, in MB."""
    ix = doc.get("indexes")
    if not ix:
        return False
    tables = list(ix["tables"])
    heap = np.array([ix["tables"][t]["before"]["table_bytes"] for t in tables]) / 1e6
    old = np.array([ix["tables"][t]["before"]["index_bytes"] for t in tables]) / 1e6
    new = np.array([ix["tables"][t]["new_index_bytes"] for t in tables]) / 1e6
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=120)
    y = np.arange(len(tables))[::-1]
    ax.barh(y, heap, color="#bbbbbb", label="table (heap + TOAST)")
    ax.barh(y, old, left=heap, color=AFTER, label="indexes before 007")
    ax.barh(y, new, left=heap + old, color=BEFORE, label="indexes added by 007")
    for yi, h, o, n in zip(y, heap, old, new, strict=True):
        ax.annotate(f"+{100 * n / (h + o):.0f}%", (h + o + n, yi), textcoords="offset points",
                    xytext=(5, -3), fontsize=8)
    ax.set_yticks(y, tables, fontsize=9)
    ax.set_xlabel("MB")
    claim = ix["claimed_growth_pct"]
    ax.set_title(f"Disk: {ix['growth_pct']:+.0f}% in total after migration 007 "
                 f"(claimed +{claim[0]:g}-{claim[1]:g}%)", fontsize=11)
    ax.legend(fontsize=8, loc="upper right")
    ax.margins(x=0.1)
    ax.grid(axis="x", alpha=0.25)
    return _save(fig, path)


def draw_all(doc: dict[str, Any], out_dir: Path) -> list[str]:
    """Draw every chart the results support; return the file names written."""
    written = []
    for name, draw in (("query_latency.png", query_latency),
                       ("write_overhead.png", write_overhead), ("disk.png", disk)):
        if draw(doc, out_dir / name):
            written.append(name)
    return written


def growth(sweep: dict[str, Any], path: Path) -> bool:
    """Latency against rows (log-log) per shape, before and after, from a scale sweep."""
    runs = [r for r in sweep["runs"] if r.get("total_rows")]
    if not runs:
        return False
    names = [q["name"] for q in runs[0]["queries"]]
    cols = 3
    rows_n = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(12, 3.6 * rows_n), dpi=110, squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for phase, color in (("before", BEFORE), ("after", AFTER)):
            xs, ys, lo, hi = [], [], [], []
            for r in runs:
                q = next((q for q in r["queries"] if q["name"] == name), None)
                if not q or q.get(f"{phase}_median_ms") is None:
                    continue
                med = q[f"{phase}_median_ms"]
                ci = q.get(f"{phase}_ci95_ms") or [med, med]
                xs.append(r["total_rows"])
                ys.append(med)
                lo.append(med - ci[0])
                hi.append(ci[1] - med)
            if xs:
                ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", color=color, capsize=3,
                            label=phase)
        for r in runs:
            q = next((q for q in r["queries"] if q["name"] == name), None)
            if q and q.get("speedup") and q.get("before_median_ms"):
                ax.annotate(f"{q['speedup']:.0f}x" if q["speedup"] >= 10 else
                            f"{q['speedup']:.1f}x", (r["total_rows"], q["before_median_ms"]),
                            textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name, fontsize=10)
        ax.grid(which="both", alpha=0.2)
        ax.set_xlabel("rows in the six tables", fontsize=8)
        ax.set_ylabel("execution time (ms)", fontsize=8)
        ax.margins(y=0.25)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("How latency grows with data size, before and after migration 007 "
                 "(median, 95% CI; speedup labelled)", fontsize=11)
    return _save(fig, path)
