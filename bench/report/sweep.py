"""A scale sweep's summary: sweep.json, sweep.md and growth.png beside the per-scale runs.

Each scale is a complete run in its own folder (`scale-<s>/` with its results.json and
report.md); the summary is drawn from those results alone.
"""

from __future__ import annotations

from pathlib import Path

from bench.formatting import factor, ms
from bench.report import sweep_cost_units
from bench.results import estimates, store
from bench.results.model import (
    RunResults,
    SweepCostUnit,
    SweepQuery,
    SweepResults,
    SweepRun,
)


def scale_dir(out: Path, scale: float) -> Path:
    return out / f"scale-{scale:g}"


def _cost_unit(c: estimates.CostUnit) -> SweepCostUnit:
    return SweepCostUnit(node_type=c.node_type, plans=c.plans, shapes=c.shapes,
                         median_ms_per_unit=c.median_ms_per_unit,
                         min_ms_per_unit=c.min_ms_per_unit, max_ms_per_unit=c.max_ms_per_unit)


def summarize_run(results: RunResults) -> SweepRun:
    queries = []
    for q in results.queries:
        b, a = q.before, q.after
        queries.append(SweepQuery(
            name=q.name, before_median_ms=b.median_ms if b else None,
            before_ci95_ms=b.median_ci95_ms if b else None,
            after_median_ms=a.median_ms if a else None,
            after_ci95_ms=a.median_ci95_ms if a else None, speedup=q.speedup,
            speedup_ci95=q.speedup_ci95, verdict=q.verdict,
        ))
    seed = results.seed
    return SweepRun(scale=results.config.scale, rows=seed.rows if seed else {},
                    total_rows=seed.total_rows if seed else None, complete=results.complete,
                    queries=queries,
                    cost_units=[_cost_unit(c) for c in estimates.cost_units(results)],
                    cost_unit_all=(_cost_unit(c) if (c := estimates.cost_unit_all(results))
                                   else None))


def write_sweep(out: Path, scales: tuple[float, ...]) -> SweepResults:
    runs = [store.load(scale_dir(out, s)) for s in scales]
    sweep = SweepResults(scales=list(scales), runs=[summarize_run(r) for r in runs],
                         migration_name=runs[-1].migration_name)
    store.save(sweep, out / "sweep.json")
    from bench.report import charts

    charts.growth(sweep, out / "growth.png")
    (out / "sweep.md").write_text(render(sweep))
    return sweep


def render(sweep: SweepResults) -> str:
    runs = sweep.runs
    names = [q.name for q in runs[0].queries]
    head = " | ".join(f"scale {r.scale:g} ({r.total_rows or 0:,} rows)" for r in runs)
    lines = [
        "# Index impact by data size",
        "",
        "Measured speedup (median before / median after, 95% interval) of each query shape at "
        "each scale. Each scale is a full run; its report is in `scale-<s>/report.md`.",
        "",
        f"| Shape | {head} |",
        "|---" * (len(runs) + 1) + "|",
    ]
    for name in names:
        cells = []
        for r in runs:
            q = next((q for q in r.queries if q.name == name), None)
            if not q or q.speedup is None or q.speedup_ci95 is None:
                cells.append("–")
                continue
            lo, hi = q.speedup_ci95
            cells.append(f"**{factor(q.speedup)}** ({factor(lo)}–{factor(hi)}); "
                         f"{ms(q.before_median_ms)} → {ms(q.after_median_ms)}")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines += ["", "![growth](growth.png)", ""]
    lines += sweep_cost_units.section(runs)
    return "\n".join(lines)
