"""Trend charts (matplotlib, Agg backend): latency and speedup per shape over a run history."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

BEFORE, AFTER, SPEEDUP, CLAIM = "#c44e52", "#4c72b0", "#55a868", "#555555"


def _grid(n: int, title: str) -> tuple[Figure, list[Axes]]:
    cols = 1 if n == 1 else 2 if n in (2, 4) else 3
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.2 * rows + 0.8), dpi=110,
                             sharex=True, squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    for i, ax in enumerate(flat[:n]):
        if i + cols >= n:  # nothing visible below: this panel shows the x labels
            ax.xaxis.set_tick_params(labelbottom=True)
    fig.suptitle(title, fontsize=11)
    return fig, flat[:n]


def _run_positions(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Runs on an ordinal x axis (0, 1, 2, ... in start order), and a tick label for each.

    Ordinal rather than calendar time: runs minutes apart (a re-run) and runs days apart (the
    nightlies) both stay readable, and a skipped night does not draw a long flat line.
    """
    runs = df.drop_duplicates("run").sort_values(["started_at", "run"])
    times = runs["started_at"]
    if times.dt.date.nunique() == len(times):
        fmt = "%b %d"
    elif times.dt.strftime("%Y%m%d%H%M").nunique() == len(times):
        fmt = "%b %d\n%H:%M"
    else:
        fmt = "%b %d\n%H:%M:%S"
    position = {run: i for i, run in enumerate(runs["run"])}
    return df.assign(x=df["run"].map(position)), [t.strftime(fmt) for t in times]


def _run_axis(ax: Axes, labels: list[str]) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda v, _p: labels[int(v)] if 0 <= v < len(labels) and v == int(v) else ""))
    ax.set_xlim(-0.3 if len(labels) > 1 else -1, len(labels) - 0.7 if len(labels) > 1 else 1)
    ax.grid(which="both", alpha=0.25)
    ax.tick_params(labelsize=8)


def _footer(fig: Figure, ncol: int, handles: list[Line2D] | None = None) -> None:
    height = fig.get_figheight()  # inches: keep label and legend a fixed distance apart
    fig.supxlabel("run, by start time (UTC)", fontsize=9, y=0.36 / height)
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=9, frameon=False)
    else:
        fig.legend(loc="lower center", ncol=ncol, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.6 / height, 1, 1))


def _number(v: float, _pos: object = None) -> str:
    return f"{v:g}"


def _band(ax: Axes, g: pd.DataFrame, lo: str, hi: str, color: str) -> None:
    ok = g[[lo, hi]].notna().all(axis=1)
    if ok.sum() > 1:
        ax.fill_between(g["x"][ok], g[lo][ok], g[hi][ok], color=color, alpha=0.15,
                        linewidth=0)
    elif ok.sum() == 1:  # one run: an error bar instead of a band
        row = g[ok].iloc[0]
        ax.vlines(row["x"], row[lo], row[hi], color=color, alpha=0.4, linewidth=4)


def latency(df: pd.DataFrame, path: Path, migration_name: str) -> Path:
    df, labels = _run_positions(df)
    shapes = list(dict.fromkeys(df["shape"]))
    fig, axes = _grid(len(shapes), "Median query execution time per run (IQR shaded; log scale, "
                                   f"ms; scale {df['scale'].iloc[-1]:g})")
    for ax, shape in zip(axes, shapes, strict=True):
        g = df[df["shape"] == shape].sort_values("started_at")
        for phase, color in (("before", BEFORE), ("after", AFTER)):
            _band(ax, g, f"{phase}_q1_ms", f"{phase}_q3_ms", color)
            ax.plot(g["x"], g[f"{phase}_median_ms"], marker="o", markersize=3.5,
                    color=color, linewidth=1.5,
                    label=f"{phase} {migration_name}" if ax is axes[0] else None)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(_number))
        ax.set_title(shape, fontsize=10)
        _run_axis(ax, labels)
    _footer(fig, ncol=2)
    fig.savefig(path)
    plt.close(fig)
    return path


def speedup(df: pd.DataFrame, path: Path, migration_name: str) -> Path:
    df, labels = _run_positions(df)
    shapes = list(dict.fromkeys(df["shape"]))
    fig, axes = _grid(len(shapes), f"Speedup of {migration_name} per run (median before / "
                                   "median after, 95% CI shaded; log scale)")
    for ax, shape in zip(axes, shapes, strict=True):
        g = df[df["shape"] == shape].sort_values("started_at")
        _band(ax, g, "speedup_lo", "speedup_hi", SPEEDUP)
        ax.plot(g["x"], g["speedup"], marker="o", markersize=3.5, color=SPEEDUP,
                linewidth=1.5, label="measured speedup" if ax is axes[0] else None)
        claimed = g["claimed_factor"].dropna()
        if not claimed.empty:
            ax.axhline(claimed.iloc[-1], color=CLAIM, linestyle="--", linewidth=1,
                       label="claimed in the report" if ax is axes[0] else None)
        ax.axhline(1, color="black", linewidth=0.8, alpha=0.5,
                   label="1x = no speedup" if ax is axes[0] else None)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}x"))
        ax.set_title(shape, fontsize=10)
        _run_axis(ax, labels)
    _footer(fig, ncol=3)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_overhead(writes: pd.DataFrame, path: Path, migration_name: str) -> Path:
    """One panel per operation (insert, update, copy), one line per table, same colour for a
    table in every panel."""
    writes, labels = _run_positions(writes)
    writes = writes.assign(operation=writes["workload"].str.split(":").str[0],
                           table=writes["workload"].str.split(":").str[-1])
    ops = list(dict.fromkeys(writes["operation"]))
    tables = list(dict.fromkeys(writes["table"]))
    colors = dict(zip(tables, matplotlib.color_sequences["tab10"], strict=False))
    fig, axes = _grid(len(ops), f"Write cost of {migration_name}'s indexes per run (cost per "
                                "row with the indexes vs without, median)")
    for ax, op in zip(axes, ops, strict=True):
        for table, g in writes[writes["operation"] == op].groupby("table", sort=False):
            g = g.sort_values("x")
            ax.plot(g["x"], g["overhead_pct"].astype(float), marker="o", markersize=3.5,
                    linewidth=1.5, color=colors.get(table), label=table)
        ax.axhline(0, color="black", linewidth=0.8, alpha=0.5)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:+.0f}%" if v else "0%"))
        ax.set_title(op, fontsize=10)
        _run_axis(ax, labels)
    handles = [Line2D([], [], color=colors.get(t), marker="o", markersize=3.5, label=t)
               for t in tables]
    _footer(fig, ncol=min(len(tables), 6), handles=handles)
    fig.savefig(path)
    plt.close(fig)
    return path


def aa_noise(aa: pd.DataFrame, path: Path) -> Path:
    """The nightly A/A pair: how far two runs of one commit differ, shape by shape (dots) and
    at most (line), with the A/A noise floor the gate holds changes against; false alarms in
    red."""
    aa, labels = _run_positions(aa)
    fig, axes = _grid(2 if (aa["kind"] == "write").any() else 1,
                      "A/A pair per night: change between two runs of one commit (|%|)")
    for ax, kind, what in zip(axes, ("shape", "write"), ("speedup per shape",
                                                          "write cost ratio per workload"),
                              strict=False):
        g = aa[(aa["kind"] == kind)].dropna(subset=["change_pct"])
        if g.empty:
            continue
        size = g["change_pct"].abs()
        alarm = g["verdict"].isin(["faster", "slower", "unconfirmed"])
        ax.scatter(g["x"][~alarm], size[~alarm], s=12, color=AFTER, alpha=0.6,
                   label="change" if ax is axes[0] else None)
        ax.scatter(g["x"][alarm], size[alarm], s=24, color=BEFORE,
                   label="false alarm" if ax is axes[0] else None)
        per_night = g.assign(size=size).groupby("x")
        top = per_night["size"].max()
        ax.plot(list(top.index), top.to_list(), color=AFTER, linewidth=1,
                label="largest" if ax is axes[0] else None)
        floor = per_night["noise_pct"].median().dropna()
        if not floor.empty:
            ax.plot(list(floor.index), floor.to_list(), color=CLAIM, linestyle="--", linewidth=1,
                    label="A/A noise floor (median)" if ax is axes[0] else None)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
        ax.set_ylim(bottom=0)
        ax.set_title(what, fontsize=10)
        _run_axis(ax, labels)
    _footer(fig, ncol=4)
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_all(df: pd.DataFrame, writes: pd.DataFrame, out: Path,
             migration_name: str) -> list[Path]:
    paths = [latency(df, out / "trend_latency.png", migration_name),
             speedup(df, out / "trend_speedup.png", migration_name)]
    if not writes.empty:
        paths.append(write_overhead(writes, out / "trend_writes.png", migration_name))
    return paths
