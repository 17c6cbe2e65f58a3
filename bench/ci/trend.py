"""Trend over a history of runs: one row per run and shape (CSV), a Markdown table, charts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.ci import status
from bench.ci.history import AA_PAIR_FILE, Run, load_runs
from bench.errors import ResultsError

COLUMNS = [
    "started_at", "run", "commit", "scale", "rounds", "complete", "shape", "before_median_ms",
    "before_q1_ms", "before_q3_ms", "after_median_ms", "after_q1_ms", "after_q3_ms", "speedup",
    "speedup_lo", "speedup_hi", "claimed_factor", "verdict",
]
WRITE_COLUMNS = ["started_at", "run", "scale", "workload", "before_median_us_per_row",
                 "after_median_us_per_row", "overhead_pct", "overhead_lo", "overhead_hi"]
# The nightly A/A pair (two runs of one commit, compared by the gate): one row per night and
# shape or write workload. change_pct is the change of the speedup (or write cost ratio)
# between the two runs; any verdict other than unchanged is a false alarm.
AA_COLUMNS = ["started_at", "run", "commit", "item", "kind", "change_pct", "ci_lo", "ci_hi",
              "noise_pct", "verdict", "reason", "night_false_alarm", "night_exit_code",
              "night_signal_changes"]


def query_frame(runs: list[Run]) -> pd.DataFrame:
    rows = []
    for run in runs:
        r = run.results
        for q in r.queries:
            lo, hi = q.speedup_ci95 or (None, None)
            row: dict[str, object] = {
                "started_at": run.started_at, "run": run.name,
                "commit": (r.environment.git_commit or "")[:10], "scale": r.config.scale,
                "rounds": r.config.rounds, "complete": r.complete, "shape": q.name,
            }
            for name in ("before", "after"):
                p = q.phase(name)
                row[f"{name}_median_ms"] = p.median_ms if p else None
                row[f"{name}_q1_ms"] = p.q1_ms if p else None
                row[f"{name}_q3_ms"] = p.q3_ms if p else None
            row.update({"speedup": q.speedup, "speedup_lo": lo, "speedup_hi": hi,
                        "claimed_factor": q.claimed.factor if q.claimed else None,
                        "verdict": q.verdict})
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def write_frame(runs: list[Run]) -> pd.DataFrame:
    rows = []
    for run in runs:
        writes = run.results.writes
        if writes is None:
            continue
        for w in writes.workloads:
            lo, hi = w.overhead_ci95 or (None, None)
            rows.append({
                "started_at": run.started_at, "run": run.name,
                "scale": run.results.config.scale, "workload": w.name,
                "before_median_us_per_row": w.before.median_us_per_row if w.before else None,
                "after_median_us_per_row": w.after.median_us_per_row if w.after else None,
                "overhead_pct": w.overhead_pct, "overhead_lo": lo, "overhead_hi": hi,
            })
    return pd.DataFrame(rows, columns=WRITE_COLUMNS)


def aa_frame(runs: list[Run]) -> pd.DataFrame:
    """The A/A pair of every night that has one (aa-pair.json beside its results.json)."""
    rows = []
    for run in runs:
        path = run.path.parent / AA_PAIR_FILE
        if run.path.name != "results.json" or not path.is_file():
            continue
        try:
            st = status.load(path)
        except ResultsError:
            continue
        for item in st.timing:
            lo, hi = item.ci95_pct or (None, None)
            rows.append({
                "started_at": run.started_at, "run": run.name,
                "commit": (st.new_commit or "")[:10], "item": item.name, "kind": item.kind,
                "change_pct": item.change_pct, "ci_lo": lo, "ci_hi": hi,
                "noise_pct": item.noise_pct, "verdict": item.verdict, "reason": item.reason,
                "night_false_alarm": st.false_alarm, "night_exit_code": st.exit_code,
                "night_signal_changes": len(st.signal_alarms),
            })
    return pd.DataFrame(rows, columns=AA_COLUMNS)


def _largest(g: pd.DataFrame, kind: str) -> str:
    x = g[g["kind"] == kind].dropna(subset=["change_pct"])
    if x.empty:
        return "–"
    i = int(x["change_pct"].abs().to_numpy().argmax())
    return f"{_fmt_pct(float(x['change_pct'].iloc[i]))} (`{x['item'].iloc[i]}`)"


def aa_markdown(aa: pd.DataFrame, nights_total: int) -> str:
    """The noise floor between two runs of one commit, night by night, and the false alarms."""
    nights = aa.drop_duplicates("run").sort_values("started_at")
    alarms = int(nights["night_false_alarm"].sum())
    failed = int((nights["night_exit_code"] == 1).sum())
    n = len(nights)
    changes = aa["change_pct"].dropna().abs()
    typical = (f" Half of all changes between the two runs were within ±{changes.median():.1f}%, "
               f"95% within ±{changes.quantile(0.95):.1f}%." if not changes.empty else "")
    lines = [
        "## Noise floor: the nightly A/A pair", "",
        f"{n} of {nights_total} nights have an A/A pair: two runs of one commit, compared by the "
        f"gate. False alarms: {alarms} of {n} nights ({100 * alarms / n:.0f}%) reported a "
        f"change between them (a timing change, an unconfirmed one, or a deterministic "
        f"signal); {failed} would have failed the gate.{typical}", "",
        "| Night | Commit | Largest speedup change | Largest write cost change | Timing alarms "
        "| Signal changes |", "|---|---|---|---|---|---|",
    ]
    for _run, g in list(nights.groupby("run", sort=False))[-10:]:
        first = g.iloc[0]
        timing = g[g["verdict"].isin(["faster", "slower", "unconfirmed"])]
        named = ", ".join(f"`{i}` {v}" for i, v in zip(timing["item"], timing["verdict"],
                                                        strict=True)) or "none"
        lines.append(f"| {first['started_at']:%Y-%m-%d %H:%M} | {first['commit'][:7]} | "
                     f"{_largest(aa[aa['run'] == first['run']], 'shape')} | "
                     f"{_largest(aa[aa['run'] == first['run']], 'write')} | {named} | "
                     f"{int(first['night_signal_changes'])} |")
    return "\n".join(lines) + "\n"


def same_scale(runs: list[Run]) -> tuple[list[Run], int]:
    """Runs at the newest run's scale (times at other scales are not comparable); and how many
    were left out."""
    scale = runs[-1].results.config.scale
    kept = [r for r in runs if r.results.config.scale == scale]
    return kept, len(runs) - len(kept)


def _fmt_ms(v: float | None) -> str:
    if v is None or pd.isna(v):
        return "–"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 1 \
        else f"{v:.3f}"


def _fmt_pct(v: float | None) -> str:
    if v is None or pd.isna(v):
        return "–"
    return "0%" if round(v) == 0 else f"{v:+.0f}%"


def _fmt_x(v: float | None) -> str:
    return "–" if v is None or pd.isna(v) else f"{v:,.0f}x" if v >= 100 else f"{v:.1f}x"


def markdown(df: pd.DataFrame, writes: pd.DataFrame, note: str, migration_name: str) -> str:
    """Newest run per shape next to its history: previous run, rolling median, range."""
    runs = df["run"].unique()
    first, last = df["started_at"].min(), df["started_at"].max()
    lines = [
        "# Index benchmark trend", "",
        f"{len(runs)} runs from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
        f" (scale {df['scale'].iloc[-1]:g}). {note}".rstrip(), "",
        f"Latency is the median execution time after {migration_name}, in ms; *vs previous* and "
        "*vs median of last 7* compare the newest run with earlier ones.", "",
        "| Shape | Newest after (ms) | vs previous | vs median of last 7 | Range over history "
        "| Newest before (ms) | Newest speedup | Speedup range |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for shape, g in df.groupby("shape", sort=False):
        g = g.sort_values("started_at")
        after = g["after_median_ms"]
        newest = after.iloc[-1]
        prev = after.iloc[-2] if len(g) > 1 else None
        rolling = after.iloc[-8:-1].median() if len(g) > 1 else None
        vs_prev = (newest / prev - 1) * 100 if prev else None
        vs_roll = (newest / rolling - 1) * 100 if rolling else None
        lines.append(
            f"| `{shape}` | {_fmt_ms(newest)} | {_fmt_pct(vs_prev)} | {_fmt_pct(vs_roll)} | "
            f"{_fmt_ms(after.min())}–{_fmt_ms(after.max())} | "
            f"{_fmt_ms(g['before_median_ms'].iloc[-1])} | {_fmt_x(g['speedup'].iloc[-1])} | "
            f"{_fmt_x(g['speedup'].min())}–{_fmt_x(g['speedup'].max())} |"
        )
    if not writes.empty:
        lines += ["", "| Write workload | Newest overhead of the indexes | Range over history |",
                  "|---|---|---|"]
        for name, g in writes.groupby("workload", sort=False):
            o = g.sort_values("started_at")["overhead_pct"].astype(float)
            lines.append(f"| `{name}` | {_fmt_pct(o.iloc[-1])} | "
                         f"{_fmt_pct(o.min())} to {_fmt_pct(o.max())} |")
    return "\n".join(lines) + "\n"


def write(history: Path, out: Path) -> list[Path]:
    """Read the history, write trend.csv, trend.md and the charts into `out`; return them."""
    runs, skipped = load_runs(history)
    if not runs:
        raise ResultsError(f"no results.json of this harness under {history}")
    runs, other_scale = same_scale(runs)
    notes = []
    if other_scale:
        notes.append(f"{other_scale} run(s) at other scales left out.")
    if skipped:
        notes.append(f"{len(skipped)} other JSON file(s) skipped.")
    df, writes = query_frame(runs), write_frame(runs)
    if df.empty:
        raise ResultsError(f"the runs under {history} have no query results")
    from bench.ci import trend_charts  # matplotlib only when drawing

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "trend.csv", out / "trend.md"]
    df.to_csv(written[0], index=False)
    if not writes.empty:
        writes.to_csv(out / "trend_writes.csv", index=False)
        written.append(out / "trend_writes.csv")
    name = runs[-1].results.migration_name
    md = markdown(df, writes, " ".join(notes), name)
    charts = trend_charts.draw_all(df, writes, out, name)
    md += "\n" + "\n".join(f"![{p.name}]({p.name})" for p in charts) + "\n"
    aa = aa_frame(runs)
    if not aa.empty:
        aa.to_csv(out / "trend_aa.csv", index=False)
        written.append(out / "trend_aa.csv")
        chart = trend_charts.aa_noise(aa, out / "trend_aa.png")
        md += "\n" + aa_markdown(aa, len(runs)) + f"\n![{chart.name}]({chart.name})\n"
        charts.append(chart)
    written[1].write_text(md)
    return written + charts
