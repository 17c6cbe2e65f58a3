"""The PR comment's compact chart of estimated against measured speedup (Mermaid
quadrantChart, bench/ci/mermaid.py): in the details block, one point per shape of the new run
and one per index with --per-index, at log-mapped coordinates its grammar accepts."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from bench.ci import comment, mermaid
from bench.ci.compare import compare
from bench.formatting import factor
from bench.results import estimates, store
from tests.fast import results_factory as rf
from tests.fast.test_advisor import _section

FIXTURES = Path(__file__).parent / "fixtures"
# quadrant.jison: a point is `text: [x, y]`, x and y `(1)|(0(.\d+)?)`; a text may be quoted.
POINT = re.compile(r'^    "([^"]*)": \[(1|0(?:\.\d+)?), (1|0(?:\.\d+)?)\]$')


def _chart(text: str) -> list[str]:
    """The lines of the quadrantChart block in a comment (fence to fence)."""
    start = text.index("quadrantChart\n")
    start = text.rindex("```mermaid\n", 0, start)
    end = text.index("```\n", start + 3)
    return text[start:end].splitlines()[1:]


def _points(lines: list[str]) -> list[tuple[str, float, float]]:
    out = []
    for line in lines:
        m = POINT.match(line)
        if m:
            out.append((m.group(1), float(m.group(2)), float(m.group(3))))
    return out


def test_the_chart_is_in_the_details_with_a_point_per_shape_of_the_new_run() -> None:
    base = store.load(FIXTURES / "small1.results.json")
    new = store.load(FIXTURES / "small2.results.json")
    text = comment.render(compare(base, new))
    details, end = text.index("<details>"), text.index("</details>")
    caption = text.index("**The planner's estimate against the measurement (new run)**")
    fence = text.index("quadrantChart\n")
    assert details < caption < fence < end  # folded, after its caption
    lines = _chart(text)
    assert lines[0].startswith("%%{init: {") and lines[1] == "quadrantChart"
    # Every line is one the grammar has a rule for: title, axes, quadrants, points.
    for line in lines[2:]:
        assert (line.startswith(("    title ", "    x-axis \"", "    y-axis \"",
                                 "    quadrant-")) or POINT.match(line)), line
    pts = _points(lines)
    # Expected by hand: the new run's estimated and measured speedups, log10 mapped on the
    # powers of ten around them and 1x (here 1x to 100x: small2's speedups are 1.2x-68x).
    want = {q.name: (e.estimated_speedup, q.speedup) for q in new.queries
            if (e := estimates.for_query(q)) and e.estimated_speedup and q.speedup}
    assert len(want) == 6 and max(v for p in want.values() for v in p if v) < 100
    assert [n for n, _x, _y in pts] == list(want)
    for name, x, y in pts:
        est, meas = want[name]
        assert est and meas
        assert x == pytest.approx(math.log10(est) / 2, abs=6e-4)
        assert y == pytest.approx(math.log10(meas) / 2, abs=6e-4)
    assert '    x-axis "estimated 1x to 10x" --> "10x to 100x"' in lines
    assert '    y-axis "measured 1x to 10x" --> "10x to 100x"' in lines
    # The caption gives the figures the points stand for.
    q = new.queries[0]
    est = estimates.for_query(q)
    assert est and est.estimated_speedup and q.speedup
    assert f"`{q.name}` {factor(est.estimated_speedup)} → {factor(q.speedup)}" in text


def test_per_index_points_are_added_and_only_disagreements_named() -> None:
    base = store.load(FIXTURES / "small1.results.json")
    new = store.load(FIXTURES / "small2.results.json")
    new.per_index = _section()  # ix_pays 1.5x → 40x and ix_harmful 4x → 1.1x disagree
    text = comment.render(compare(base, new))
    pts = _points(_chart(text))
    assert len(pts) == 6 + 3
    ixs = pts[6:]
    assert [n for n, _x, _y in ixs] == ["ix_pays (alone)", "ix_harmful (alone)", " "]
    for (_n, x, y), (est, meas) in zip(ixs, [(1.5, 40.0), (4.0, 1.1), (30.0, 300.0)],
                                       strict=True):
        assert x == pytest.approx(math.log10(est) / 4, abs=6e-4)  # 1x to 10,000x with 300x
        assert y == pytest.approx(math.log10(meas) / 4, abs=6e-4)
    assert "Also 3 indexes of --per-index" in text
    assert text.index("quadrantChart") < text.index("**Per index, the planner")


def test_no_chart_without_the_planners_costs() -> None:
    """Runs that keep no plan (the factory's): no estimated speedup, so no chart, no caption."""
    text = comment.render(compare(rf.results_doc(seed=1), rf.results_doc(seed=2)))
    assert "quadrantChart" not in text and "The planner's estimate against" not in text


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (-0.2, "0"), (1.0, "1"), (1.3, "1"), (0.9996, "1"), (0.5, "0.500"),
    (0.0004, "0"), (0.0006, "0.001")])
def test_coordinates_are_written_as_the_grammar_reads_them(value: float, text: str) -> None:
    assert mermaid._unit(value) == text


def test_the_range_holds_1x_and_a_slowdown_in_an_even_number_of_decades() -> None:
    assert mermaid.log_range([2.0, 44.0]) == (1.0, 100.0)
    assert mermaid.log_range([0.5, 3.0]) == (0.1, 10.0)
    assert mermaid.log_range([1.0]) == (1.0, 100.0)
    assert mermaid.log_range([1000.0]) == (1.0, 10_000.0)  # split at 100x, not 31.6x
    assert mermaid.log_range([0.5, 300.0]) == (0.1, 1000.0)
