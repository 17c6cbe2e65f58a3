"""PNG charts drawn from the result model alone (matplotlib, Agg backend: no screen needed).

matplotlib is imported here and in bench.ci.trend_charts only; Markdown never needs it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from bench.results.model import RunResults, SweepResults

BEFORE, AFTER, CLAIM = "#c44e52", "#4c72b0", "#555555"


def _save(fig: Figure, path: Path) -> bool:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def query_latency(results: RunResults, path: Path) -> bool:
    """Before vs after per shape on a log scale, every round as a dot, IQR as a bar."""
    qs = [q for q in results.queries if q.before and q.before.median_ms]
    if not qs:
        return False
    fig, ax = plt.subplots(figsize=(11, 5.2), dpi=120)
    x = np.arange(len(qs))
    rng = np.random.default_rng(0)
    for offset, phase, color in ((-0.18, "before", BEFORE), (0.18, "after", AFTER)):
        for i, q in enumerate(qs):
            p = q.phase(phase)
            if not p or p.median_ms is None or p.q1_ms is None or p.q3_ms is None:
                continue
            times = np.asarray(p.times_ms)
            ax.scatter(x[i] + offset + rng.uniform(-0.06, 0.06, len(times)), times, s=7,
                       color=color, alpha=0.35, linewidths=0, zorder=2)
            ax.errorbar(x[i] + offset, p.median_ms,
                        yerr=[[p.median_ms - p.q1_ms], [p.q3_ms - p.median_ms]],
                        fmt="_", markersize=22, mew=2.5, color=color, elinewidth=2, capsize=5,
                        zorder=3, label=f"measured {phase} (median, IQR)" if i == 0 else None)
        for i, q in enumerate(qs):
            c = q.claimed
            if c:
                ax.scatter(x[i] + offset, c.before_ms if phase == "before" else c.after_ms,
                           marker="D", s=30, facecolors="none", edgecolors=color, zorder=4,
                           label=f"claimed {phase}" if i == 0 else None)
    for i, q in enumerate(qs):
        if q.speedup and q.before:
            top = max(q.before.max_ms or 0, q.claimed.before_ms if q.claimed else 0)
            ax.annotate(f"{q.speedup:.1f}x" if q.speedup < 100 else f"{q.speedup:.0f}x",
                        (x[i], top), textcoords="offset points", xytext=(0, 8), ha="center",
                        fontsize=9, fontweight="bold")
    ax.set_yscale("log")
    ax.set_xticks(x, [q.name for q in qs], rotation=15, ha="right")
    ax.set_ylabel("execution time (ms, log scale)")
    rows = results.seed.total_rows if results.seed else None
    ax.set_title(
        f"Query latency before vs after {results.migration_name} (scale "
        f"{results.config.scale:g}{f', {rows:,} rows' if rows else ''}; measured factor above "
        "each pair)", fontsize=11)
    ax.grid(axis="y", which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower left", ncol=2)
    ax.margins(y=0.15)
    return _save(fig, path)


def write_overhead(results: RunResults, path: Path) -> bool:
    """Server-side overhead per write workload with its 95% interval, against the claim."""
    ws = [w for w in results.measured_workloads if w.overhead_ci95 and w.before and w.after]
    if not ws:
        return False
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(ws) + 1.8), dpi=120)
    y = np.arange(len(ws))[::-1]
    for yi, w in zip(y, ws, strict=True):
        claim, overhead = w.claimed_pct, w.overhead_pct or 0.0
        if claim:
            ax.fill_betweenx([yi - 0.4, yi + 0.4], claim[0], claim[1], color="#2ca02c",
                             alpha=0.5, lw=0, zorder=4,
                             label="claimed range" if yi == y[0] else None)
        noise = w.noise_pct
        if noise:
            ax.fill_betweenx([yi - 0.32, yi + 0.32], noise[0], noise[1], color="#999999",
                             alpha=0.45, lw=0, zorder=5,
                             label="A/A noise floor (95% CI)" if yi == y[0] else None)
        assert w.overhead_ci95 is not None
        lo, hi = w.overhead_ci95
        color = BEFORE if w.verdict == "exceeds" else AFTER
        ax.barh(yi, overhead, height=0.55, color=color, alpha=0.85)
        err = [[overhead - lo], [hi - overhead]]
        ax.errorbar(overhead, yi, xerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
        ax.scatter(w.wall_overhead_pct or 0.0, yi, marker="o", facecolors="white",
                   edgecolors="black", s=28, zorder=3,
                   label="wall-clock overhead (client view)" if yi == y[0] else None)
        ax.annotate(f"{overhead:+.0f}%", (max(hi, overhead, 0), yi),
                    textcoords="offset points", xytext=(6, -3), fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [w.name for w in ws], fontsize=9)
    ax.set_xlabel(f"overhead after {results.migration_name} (%, server-side time per row; "
                  "bar = median, line = 95% CI)")
    count = results.migration.index_count if results.migration else None
    what = f"the {count} indexes" if count is not None else "the new indexes"
    beyond = " (red: beyond the report's claim)" if results.claims else ""
    ax.set_title(f"Write cost of {what}{beyond}", fontsize=11)
    ax.grid(axis="x", alpha=0.25)
    ax.legend(fontsize=8, loc="upper right")
    ax.margins(x=0.12)
    return _save(fig, path)


def disk(results: RunResults, path: Path) -> bool:
    """Per table: heap, pre-existing indexes and the new indexes, in MB."""
    ix = results.disk
    if not ix or ix.growth_pct is None:
        return False
    tables = list(ix.tables)
    heap = np.array([ix.tables[t].before.table_bytes for t in tables]) / 1e6
    old = np.array([ix.tables[t].before.index_bytes for t in tables]) / 1e6
    new = np.array([ix.tables[t].new_index_bytes for t in tables]) / 1e6
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=120)
    y = np.arange(len(tables))[::-1]
    ax.barh(y, heap, color="#bbbbbb", label="table (heap + TOAST)")
    name = results.migration_name
    ax.barh(y, old, left=heap, color=AFTER, label=f"indexes before {name}")
    ax.barh(y, new, left=heap + old, color=BEFORE, label=f"indexes added by {name}")
    for yi, h, o, n in zip(y, heap, old, new, strict=True):
        ax.annotate(f"+{100 * n / (h + o):.0f}%", (h + o + n, yi), textcoords="offset points",
                    xytext=(5, -3), fontsize=8)
    ax.set_yticks(y, tables, fontsize=9)
    ax.set_xlabel("MB")
    claim = ix.claimed_growth_pct
    claimed = f" (claimed +{claim[0]:g}-{claim[1]:g}%)" if claim else ""
    ax.set_title(f"Disk: {ix.growth_pct:+.0f}% in total after {name}{claimed}", fontsize=11)
    ax.legend(fontsize=8, loc="upper right")
    ax.margins(x=0.1)
    ax.grid(axis="x", alpha=0.25)
    return _save(fig, path)


def draw_all(results: RunResults, out_dir: Path) -> list[str]:
    """Draw every chart the results support; return the file names written."""
    written = []
    for name, draw in (("query_latency.png", query_latency),
                       ("write_overhead.png", write_overhead), ("disk.png", disk)):
        if draw(results, out_dir / name):
            written.append(name)
    return written


def growth(sweep: SweepResults, path: Path) -> bool:
    """Latency against rows (log-log) per shape, before and after, from a scale sweep."""
    runs = [r for r in sweep.runs if r.total_rows]
    if not runs:
        return False
    names = [q.name for q in runs[0].queries]
    cols = 3
    rows_n = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(12, 3.6 * rows_n), dpi=110, squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for phase, color in (("before", BEFORE), ("after", AFTER)):
            xs: list[float] = []
            ys: list[float] = []
            lo: list[float] = []
            hi: list[float] = []
            for r in runs:
                q = next((q for q in r.queries if q.name == name), None)
                if q is None or r.total_rows is None:
                    continue
                med = q.before_median_ms if phase == "before" else q.after_median_ms
                if med is None:
                    continue
                ci = (q.before_ci95_ms if phase == "before" else q.after_ci95_ms) or (med, med)
                xs.append(r.total_rows)
                ys.append(med)
                lo.append(med - ci[0])
                hi.append(ci[1] - med)
            if xs:
                ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", color=color, capsize=3,
                            label=phase)
        for r in runs:
            q = next((q for q in r.queries if q.name == name), None)
            if q and q.speedup and q.before_median_ms:
                ax.annotate(f"{q.speedup:.0f}x" if q.speedup >= 10 else f"{q.speedup:.1f}x",
                            (r.total_rows, q.before_median_ms), textcoords="offset points",
                            xytext=(0, 7), ha="center", fontsize=8)
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
    fig.suptitle(f"How latency grows with data size, before and after {sweep.migration_name} "
                 "(median, 95% CI; speedup labelled)", fontsize=11)
    return _save(fig, path)
