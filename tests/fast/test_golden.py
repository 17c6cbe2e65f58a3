"""Outputs rendered from saved results.json equal the ones the harness wrote at the time.

The fixtures are real runs (scale 1 and two at scale 0.05, of the first, phases-apart design)
with the report.md, trend and sweep that the harness wrote for them before the result model
was typed; rendering them again must give the same bytes. The PR comments were written again
when the gate changed to the runs' paired effects (issue 11): they pin today's rendering.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.ci import comment, trend
from bench.ci.compare import Gate, compare
from bench.cli import main
from bench.report import markdown
from bench.report.sweep import write_sweep
from bench.results import store
from bench.results.model import Claims
from bench.results.verdict import read_verdict
from bench.runner.shapes import load_shapes
from tests.sales_agent import QUERIES_DIR

FIXTURES = Path(__file__).parent / "fixtures"
CHARTS = ["query_latency.png", "write_overhead.png", "disk.png", "estimate_speedup.png"]


@pytest.mark.parametrize("run", ["scale1", "small1", "small2"])
def test_report_md_is_reproduced_byte_for_byte(run: str) -> None:
    results = store.load(FIXTURES / f"{run}.results.json")
    assert markdown.render(results, CHARTS) == (FIXTURES / f"{run}.report.md").read_text()


def test_the_report_command_redraws_the_folder(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "small1.results.json", tmp_path / "results.json")
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").read_text() == (FIXTURES / "small1.report.md").read_text()
    for name in CHARTS:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pr_comment_is_reproduced() -> None:
    base = store.load(FIXTURES / "small1.results.json")
    new = store.load(FIXTURES / "small2.results.json")
    expected = (FIXTURES / "small1-vs-small2.compare.md").read_text()
    assert comment.render(compare(base, new)) == expected
    gated = compare(base, new, Gate(fail_on_writes=True))
    expected = (FIXTURES / "small1-vs-small2.compare-writes-link.md").read_text()
    assert comment.render(gated, ["[x](y)"]) == expected


def test_sweep_md_is_reproduced(tmp_path: Path) -> None:
    for scale, run in (("0.05", "small1"), ("1", "scale1")):
        (tmp_path / f"scale-{scale}").mkdir()
        shutil.copy(FIXTURES / f"{run}.results.json", tmp_path / f"scale-{scale}" / "results.json")
    write_sweep(tmp_path, (0.05, 1.0))
    assert (tmp_path / "sweep.md").read_text() == (FIXTURES / "sweep.md").read_text()
    assert store.load_sweep(tmp_path).scales == [0.05, 1.0]


def test_trend_is_reproduced(tmp_path: Path) -> None:
    hist = tmp_path / "history"
    for run in ("small1", "small2"):
        assert main(["archive", str(FIXTURES / f"{run}.results.json"), str(hist)]) == 0
    trend.write(hist, tmp_path / "trend")
    text = (tmp_path / "trend" / "trend.md").read_text()
    assert text == (FIXTURES / "trend.md").read_text()
    assert (tmp_path / "trend" / "trend.csv").read_text() == (FIXTURES / "trend.csv").read_text()


def test_another_migration_is_never_called_007() -> None:
    """A run of another migration, with no claims file: nothing in its report or comment
    mentions migration 007, its 19 indexes or its claimed figures."""
    results = store.load(FIXTURES / "small1.results.json")
    results.config.migration = "008_add_reporting_indexes.py"
    assert results.migration is not None and results.disk is not None and results.writes
    results.migration.revision = "008_reporting"
    results.migration.index_count = 5
    results.claims = None
    for q in results.queries:
        q.claimed = None
    for w in results.writes.workloads:
        w.claimed_pct = None
    results.disk.claimed_growth_pct = None
    shapes = {s.name: s for s in load_shapes(QUERIES_DIR)}
    for q in results.queries:  # as a new run of the shipped shapes describes them
        q.description = shapes[q.name].description
        assert q.after is not None
        q.verdict, q.verdict_text = read_verdict(q.speedup, q.speedup_ci95, None,
                                                 q.expects_index, q.after.indexes_used)
    text = markdown.render(results, CHARTS)
    assert "# Index impact: migration 008, measured" in text
    for claimed in ("007", "19 indexes", "+3–5%", "+2–4%", "+10–15%", "the report says",
                    "claimed", "Claimed", "the claim", "no claim"):
        assert claimed not in text, claimed
    cmp_text = comment.render(compare(results, results))
    assert "migration 008" in cmp_text and "007" not in cmp_text


def test_claims_come_from_the_results_not_the_code() -> None:
    results = store.load(FIXTURES / "small1.results.json")
    assert results.claims is not None
    results.claims = Claims(**{**results.claims.model_dump(), "new_indexes": 23,
                               "update_overhead_pct": (7.0, 9.0)})
    text = markdown.render(results, CHARTS)
    assert "(the report says 23)" in text and "UPDATE +7–9%" in text
