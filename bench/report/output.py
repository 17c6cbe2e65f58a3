"""A run's report folder: report.md and the PNG charts it links, from the result model."""

from __future__ import annotations

from pathlib import Path

from bench.report import charts, estimate_charts, markdown, per_index_charts
from bench.results.model import RunResults


def write_report(results: RunResults, out_dir: Path) -> Path:
    """Draw the charts and write report.md beside them; return report.md's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chart_names = charts.draw_all(results, out_dir)
    if per_index_charts.draw(results, out_dir / "per_index.png"):
        chart_names.append("per_index.png")
    if estimate_charts.draw(results, out_dir / "estimate_speedup.png"):
        chart_names.append("estimate_speedup.png")
    path = out_dir / "report.md"
    path.write_text(markdown.render(results, chart_names))
    return path
