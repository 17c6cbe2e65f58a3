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
  write workload (100 + the overhead).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.ci.compare import Comparison


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


def charts(cmp: Comparison) -> list[str]:
    return [c for c in (latency_chart(cmp), write_chart(cmp)) if c]
