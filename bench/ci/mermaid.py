"""Charts drawn in the Markdown itself (Mermaid xychart), so a PR comment shows them inline.

A PR comment cannot show a PNG that exists only on the CI runner; hosting one needs a job with
write access, and the job that runs the PR's code keeps a read-only token. GitHub renders
```mermaid blocks in comments and job summaries alike, so the charts travel with the text, for
forks too. Mermaid's xychart has no log axis and draws several bar series on top of each
other, so each chart shows one paired, drift-free quantity on a linear axis: new as bars, base
as a line over them.

- latency: the latency with the indexes as a percentage of the latency without them, per shape
  (100 / the speedup; lower is better), measured side by side within each run;
- write cost: the cost per row with the indexes as a percentage of the cost without them, per
  write workload (100 + the overhead);
- estimated against measured speedup (in the comment's details): a quadrantChart, whose
  points take coordinates from 0 to 1, with both axes mapped to the same log range, so the
  diagonal where the estimate equals the measurement runs corner to corner; one point per
  shape of the new run, and per index with --per-index (the index added alone, on the shape
  that decides Dexter's rule for it; bench.results.estimates.index_points).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.ci.compare import Comparison
from bench.results import estimates


def _num(v: float) -> str:
    """A value with 3 significant digits, as Mermaid reads it (no exponent)."""
    if v == 0 or not math.isfinite(v):
        return "0"
    digits = max(0, 2 - math.floor(math.log10(abs(v))))
    return f"{v:.{digits}f}"


def _top(values: Sequence[float], floor: float) -> float:
    """A round upper end for the axis, at least `floor`."""
    hi = max([floor, *values])
    step = float(10 ** math.floor(math.log10(hi))) / 2
    return float(math.ceil(hi * 1.05 / step) * step)


def _quote(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def xychart(title: str, axis: str, names: Sequence[str], bars: Sequence[float],
            line: Sequence[float], floor: float = 100.0) -> str:
    """A horizontal Mermaid xychart: one bar per name (new) and a line (base)."""
    top = _top([*bars, *line], floor)
    return "\n".join([
        "```mermaid",
        "xychart-beta horizontal",
        f"    title {_quote(title)}",
        f"    x-axis [{', '.join(_quote(n) for n in names)}]",
        f"    y-axis {_quote(axis)} 0 --> {_num(top)}",
        f"    bar [{', '.join(_num(v) for v in bars)}]",
        f"    line [{', '.join(_num(v) for v in line)}]",
        "```",
    ])


def latency_chart(cmp: Comparison) -> str | None:
    rows = [q for q in cmp.queries if q.effect.base_median and q.effect.new_median]
    if len(rows) < 2:  # Mermaid's xychart needs two points
        return None
    return xychart(
        f"Latency with the indexes, % of without (bars: {cmp.new_label}; line: base)",
        "% of the latency without the indexes (lower is better)", [q.name for q in rows],
        [100 / (q.effect.new_median or 1) for q in rows],
        [100 / (q.effect.base_median or 1) for q in rows], floor=10.0)


def write_chart(cmp: Comparison) -> str | None:
    rows = [w for w in cmp.writes if w.effect.base_median and w.effect.new_median]
    if len(rows) < 2:
        return None
    return xychart(
        f"Write cost per row with the indexes, % of without (bars: {cmp.new_label}; "
        "line: base)", "% of the cost without the indexes (100 = no cost)",
        [w.name for w in rows], [100 * (w.effect.new_median or 0) for w in rows],
        [100 * (w.effect.base_median or 0) for w in rows])


def _unit(v: float) -> str:
    """A quadrantChart coordinate: its lexer takes '1' or '0' with decimals, nothing else."""
    r = round(min(max(v, 0.0), 1.0), 3)
    return "1" if r >= 1 else "0" if r <= 0 else f"{r:.3f}"


def _label(text: str) -> str:
    """A quoted quadrantChart text: anything but a double quote."""
    return '"' + text.replace('"', "'") + '"'


def _x(v: float) -> str:
    """A power of ten as a factor: 0.1x, 1x, 10,000x."""
    return f"{v:,g}x"


def log_range(values: Sequence[float]) -> tuple[float, float]:
    """Powers of ten around the values and 1x (no speedup), an even number of decades apart
    (at least two), so that the quadrants split at a power of ten too."""
    lo = math.floor(math.log10(min([1.0, *values])))
    hi = max(math.ceil(math.log10(max([1.0, *values]))), lo + 2)
    hi += (hi - lo) % 2
    return 10.0 ** lo, 10.0 ** hi


def estimate_points(cmp: Comparison) -> list[tuple[str, float, float]]:
    """(label, estimated, measured): the new run's shapes, then the --per-index indexes;
    an index on which Dexter's rule and the measurement agree is drawn without a name, to
    keep the chart readable (the PNG chart and the report name them all)."""
    pts = [(q.name, q.new_estimated_speedup, q.new_speedup) for q in cmp.queries
           if q.new_estimated_speedup and q.new_speedup]
    pts += [(f"{name} (alone)" if disagree else " ", est, meas)
            for name, est, meas, disagree in estimates.index_points(cmp.per_index)]
    return pts


def estimate_chart(cmp: Comparison) -> str | None:
    """estimated against measured speedup, log-log, as a Mermaid quadrantChart."""
    pts = estimate_points(cmp)
    if not pts:
        return None
    lo, hi = log_range([v for _n, e, m in pts for v in (e, m)])
    mid = math.sqrt(lo * hi)
    span = math.log10(hi) - math.log10(lo)

    def at(v: float) -> str:
        return _unit((math.log10(v) - math.log10(lo)) / span)

    low, high = f"{_x(lo)} to {_x(mid)}", f"{_x(mid)} to {_x(hi)}"  # each half's own range
    return "\n".join([
        "```mermaid",
        '%%{init: {"quadrantChart": {"chartWidth": 640, "chartHeight": 560, '
        '"pointLabelFontSize": 11, "quadrantLabelFontSize": 13}}}%%',
        "quadrantChart",
        f"    title Estimated vs measured speedup, {cmp.new_label} (log-log)",
        f"    x-axis {_label(f'estimated {low}')} --> {_label(high)}",
        f"    y-axis {_label(f'measured {low}')} --> {_label(high)}",
        f"    quadrant-1 {_label('large, both')}",
        f"    quadrant-2 {_label('paid more than estimated')}",
        f"    quadrant-3 {_label('small, both')}",
        f"    quadrant-4 {_label('paid less than estimated')}",
        *(f"    {_label(name)}: [{at(est)}, {at(meas)}]" for name, est, meas in pts),
        "```",
    ])


def charts(cmp: Comparison) -> list[str]:
    return [c for c in (latency_chart(cmp), write_chart(cmp)) if c]
