"""The report of a run on two clones (--twins), from a saved results.json with a clones
record added: where the data came from instead of how it was seeded, and whether the A/A
control found the clones alike (bench/results/clones.py), worked out by hand."""

from __future__ import annotations

from pathlib import Path

from bench.report import markdown
from bench.results import store
from bench.results.clones import differing, measured
from bench.results.model import CloneDatabase, ClonePair, RunResults

FIXTURES = Path(__file__).parent / "fixtures"


def _on_clones(**clones: object) -> RunResults:
    results = store.load(FIXTURES / "gate-a.results.json")
    results.seed = None
    db = {"rows": {"leads": 1_000, "social_media_activity": 10_000}, "bytes": 5_300_000,
          "database_bytes": 13_200_000}
    results.clones = ClonePair(
        a=CloneDatabase(dsn="host=/tmp dbname=app_a", database="app_a", **db),  # type: ignore[arg-type]
        b=CloneDatabase(dsn="host=/tmp dbname=app_b", database="app_b", **db),  # type: ignore[arg-type]
        same_server=True, **clones)  # type: ignore[arg-type]
    return results


def test_an_aa_interval_that_misses_1_is_a_difference_between_the_clones() -> None:
    results = _on_clones()
    assert measured(results)
    first = results.queries[0]
    assert first.aa is not None
    first.aa.ci95 = (1.02, 1.10)  # excludes 1: the clones differ on this shape
    results.queries[1].aa.ci95 = (0.97, 1.0)  # type: ignore[union-attr]  # holds 1, just
    assert differing(results) == [f"`{first.name}`"]
    for w in results.writes.workloads if results.writes else []:
        w.aa = None
    assert differing(results) == [f"`{first.name}`"]
    for q in results.queries:
        q.aa = None
    assert not measured(results) and differing(results) == []


def test_the_report_says_the_data_was_two_clones_and_whether_they_measured_alike() -> None:
    alike = markdown.render(_on_clones(measured_alike=True, restored=True), [])
    lines = alike.splitlines()
    assert lines[1] == ("*data: two clones you gave, `app_a` (A) and `app_b` (B), 11,000 rows; "
                        "they measured alike in the A/A control*")
    assert "## Data: two clones you gave" in alike and "seeded in" not in alike
    assert "| A | `app_a` (host=/tmp dbname=app_a) | 11,000 | 5.3 MB | 13.2 MB |" in lines
    assert "two clones you gave (11,000 rows), parameter seed" in alike
    assert "they measured alike: every A/A interval holds 1" in alike
    assert "the two clones you gave (--twins) were the twins" in alike

    apart = markdown.render(_on_clones(measured_alike=False, differing=["`fk_join`"],
                                       restored=False, left_behind=["index ix is still there"]),
                            [])
    assert "they did **not** measure alike in the A/A control; ⚠️ B is not as the run found " \
           "it: index ix is still there*" in apart
    assert "the A/A interval of `fk_join` does not hold 1" in apart
    assert "**B is not as the run found it**: index ix is still there" in apart
    assert "measured alike" not in apart.replace("not** measure alike", "")
