"""Scale sweep: the whole before/after run at several data sizes, and how the effect grows.

Each scale is a complete run in its own folder (`scale-<s>/` with its results.json and
report.md); the sweep adds sweep.json, sweep.md and growth.png beside them, drawn from the
per-scale results alone.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import results
from bench.config import RunConfig
from bench.errors import ConfigError
from bench.formatting import factor, ms
from seed.generate import row_counts


def parse_scales(text: str) -> tuple[float, ...]:
    try:
        scales = tuple(float(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ConfigError(f"--scales must be numbers separated by commas (got {text!r})") from None
    if not scales:
        raise ConfigError("--scales needs at least one scale")
    if any(not s > 0 for s in scales):
        raise ConfigError(f"every scale in --scales must be greater than 0 (got {text})")
    return tuple(sorted(set(scales)))


def scale_dir(out: Path, scale: float) -> Path:
    return out / f"scale-{scale:g}"


def run_sweep(cfg: RunConfig, scales: tuple[float, ...], echo) -> dict[str, Any]:
    from bench import pipeline  # the sweep drives the main job once per scale

    for s in scales:
        echo(f"sweep: scale {s:g} ({sum(row_counts(s).values()):,} rows)")
        pipeline.run(replace(cfg, scale=s, out=scale_dir(cfg.out, s)), echo)
    return write_sweep(cfg.out, scales)


def summarize_run(doc: dict[str, Any]) -> dict[str, Any]:
    rows = doc.get("seed", {}).get("rows", {})
    queries = []
    for q in doc["queries"]:
        b, a = q.get("before") or {}, q.get("after") or {}
        queries.append({
            "name": q["name"], "before_median_ms": b.get("median_ms"),
            "before_ci95_ms": b.get("median_ci95_ms"), "after_median_ms": a.get("median_ms"),
            "after_ci95_ms": a.get("median_ci95_ms"), "speedup": q.get("speedup"),
            "speedup_ci95": q.get("speedup_ci95"), "verdict": q.get("verdict"),
        })
    return {"scale": doc["config"]["scale"], "rows": rows,
            "total_rows": doc.get("seed", {}).get("total_rows"), "complete": doc["complete"],
            "queries": queries}


def write_sweep(out: Path, scales: tuple[float, ...]) -> dict[str, Any]:
    runs = [summarize_run(results.load(scale_dir(out, s))) for s in scales]
    sweep = {"schema_version": results.SCHEMA_VERSION, "scales": list(scales), "runs": runs}
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(sweep, indent=2) + "\n")
    from bench import charts

    charts.growth(sweep, out / "growth.png")
    (out / "sweep.md").write_text(render(sweep))
    return sweep


def render(sweep: dict[str, Any]) -> str:
    runs = sweep["runs"]
    names = [q["name"] for q in runs[0]["queries"]]
    head = " | ".join(f"scale {r['scale']:g} ({r['total_rows']:,} rows)" for r in runs)
    lines = [
        "# Index impact by data size",
        "",
        "Measured speedup (median before / median after, 95% interval) of each query shape at "
        "each scale. Each scale is a full run; its report is in `scale-<s>/report.md`. The "
        "report's \"Simple FK join (10k rows)\" row does not say which rows; scale 0.01 has "
        "10,000 social_media_activity rows, scale 0.005 has 10,000 rows in all six tables.",
        "",
        f"| Shape | {head} |",
        "|---" * (len(runs) + 1) + "|",
    ]
    for name in names:
        cells = []
        for r in runs:
            q = next((q for q in r["queries"] if q["name"] == name), None)
            if not q or q["speedup"] is None:
                cells.append("–")
                continue
            lo, hi = q["speedup_ci95"]
            cells.append(f"**{factor(q['speedup'])}** ({factor(lo)}–{factor(hi)}); "
                         f"{ms(q['before_median_ms'])} → {ms(q['after_median_ms'])}")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines += ["", "![growth](growth.png)", ""]
    return "\n".join(lines)
