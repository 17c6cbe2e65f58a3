"""The deploy report's charts, from deploy.json alone (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.results.deploy import DeployResults, MigrationUnderLoad

WITHOUT, WITH = "#c44e52", "#4c72b0"  # the main report's before / after colours
TABLE_COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]


def _save(fig: Figure, path: Path) -> bool:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _panel(ax: Axes, m: MigrationUnderLoad, title: str, most_waiting: int) -> None:
    line = m.timeline
    due = np.asarray(line.due_s) - m.start_s
    lat = np.asarray(line.latency_ms)
    which = np.asarray(line.table)
    ax.axvspan(0, m.seconds, color="#999999", alpha=0.18, lw=0, label="migration")
    for i, table in enumerate(line.tables):
        pick = which == i
        if pick.any():
            ax.scatter(due[pick], np.maximum(lat[pick], 0.05), s=6, alpha=0.7, linewidths=0,
                       color=TABLE_COLORS[i % len(TABLE_COLORS)], label=table)
    ax.set_yscale("log")
    ax.set_ylabel("write latency (ms, log)")
    ax.set_title(title, fontsize=10)
    ax.grid(which="both", alpha=0.2)
    if line.waiting_s:
        twin = ax.twinx()
        twin.step(np.asarray(line.waiting_s) - m.start_s, line.waiting, where="post",
                  color="black", lw=0.8, alpha=0.6)
        twin.set_ylabel("connections waiting", fontsize=8)
        twin.set_ylim(0, most_waiting * 1.15 + 0.5)


def timeline(results: DeployResults, path: Path) -> bool:
    """Write latency over time (when each write was due), as written above, concurrently
    below, on one clock that starts with the migration's first CREATE INDEX."""
    panels = [(m, label) for m, label in ((results.as_written, "as written (one transaction)"),
                                          (results.concurrently, "concurrently"))
              if m is not None and m.timeline.due_s]
    if not panels:
        return False
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 3.4 * len(panels) + 0.6), dpi=110,
                             sharex=True, sharey=True, squeeze=False)
    most = max([results.config.load_clients] + [max(m.timeline.waiting, default=0)
                                                  for m, _ in panels])
    for ax, (m, label) in zip(axes[:, 0], panels, strict=True):
        worst = m.longest_stall_ms
        _panel(ax, m, f"{results.migration_name} {label}: {m.seconds:.2f} s; slowest write "
                      f"{worst / 1000:.2f} s" if worst else label, most)
    axes[-1, 0].set_xlabel("seconds since the migration's first CREATE INDEX (when each write "
                           "was due); line, right axis: load connections waiting for a lock")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=7, fontsize=8, markerscale=2.5,
               frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return True


def throughput(results: DeployResults, path: Path) -> bool:
    """tps against clients, without and with the indexes, write mix and read mix."""
    t = results.throughput
    if not t or not t.cells:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    for ax, mix in zip(axes, ("write", "read"), strict=True):
        for side, color in (("without", WITHOUT), ("with", WITH)):
            cells = sorted((c for c in t.cells if c.mix == mix and c.indexes == side
                            and c.tps is not None), key=lambda c: c.clients)
            if not cells:
                continue
            ax.plot([c.clients for c in cells], [c.tps for c in cells], marker="o",
                    color=color, label=f"{side} the indexes")
            for c in cells:
                ax.scatter([c.clients] * len(c.tps_runs), c.tps_runs, s=10, color=color,
                           alpha=0.4, linewidths=0)
        ax.set_xscale("log", base=2)
        clients = sorted({c.clients for c in t.cells})
        ax.set_xticks(clients, [str(c) for c in clients])
        ax.set_xlabel("clients")
        ax.set_ylabel("transactions per second")
        if mix == "read":
            ax.set_yscale("log")
        ax.set_title(f"{mix} mix (line: mean; dots: runs)", fontsize=10)
        ax.grid(which="both", alpha=0.2)
        ax.legend(fontsize=8)
    fig.suptitle(f"Throughput without vs with {results.migration_name}, scale "
                 f"{results.config.scale:g}", fontsize=11)
    return _save(fig, path)


def growth(results: DeployResults, path: Path) -> bool:
    """Migration duration and longest write stall as written against rows, with the fit."""
    s = results.sweep
    if not s or not s.points or not s.migration_fit:
        return False
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    rows = np.asarray([p.rows for p in s.points], dtype=float)
    span = np.geomspace(rows.min(), max(rows.max(), s.at_rows), 50)
    for label, ys, fit, color, marker in (
            ("migration as written (s)", [p.migration_seconds for p in s.points],
             s.migration_fit, "#555555", "s"),
            ("longest write stall (s)", [(p.longest_stall_ms or np.nan) / 1000
                                         for p in s.points],
             (s.stall_fit[0] / 1000, s.stall_fit[1]) if s.stall_fit else None, WITHOUT, "o")):
        ax.scatter(rows, ys, color=color, marker=marker, s=24, zorder=3, label=label)
        if fit:
            a, b = fit
            ax.plot(span, a * span ** b, color=color, lw=1, ls="--", alpha=0.8)
            ax.scatter([s.at_rows], [a * s.at_rows ** b], facecolors="none", edgecolors=color,
                       marker=marker, s=60, zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axvline(s.at_rows, color="black", lw=0.6, alpha=0.4)
    ax.annotate(f"scale {s.at_scale:g} (extrapolated)", (s.at_rows, 0.04),
                xycoords=("data", "axes fraction"), textcoords="offset points", xytext=(-4, 0),
                ha="right", fontsize=8)
    ax.set_xlabel("rows in the six tables")
    ax.set_ylabel("seconds")
    ax.set_title("As written: the stall grows with the data (dashed: fit a·rows^b)",
                 fontsize=10)
    ax.grid(which="both", alpha=0.2)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def draw_all(results: DeployResults, out_dir: Path) -> list[str]:
    written = []
    for name, draw in (("deploy_timeline.png", timeline),
                       ("deploy_throughput.png", throughput), ("deploy_growth.png", growth)):
        if draw(results, out_dir / name):
            written.append(name)
    return written
