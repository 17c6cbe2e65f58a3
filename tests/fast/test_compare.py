"""compare: the gate's statistics, per-shape verdicts, write workloads and the comment text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from results_factory import abba, results_doc, samples

from bench.ci import comment
from bench.ci.compare import Gate, compare, judge, load, mann_whitney_p
from bench.errors import BenchError


def test_identical_samples_are_unchanged_with_p_one() -> None:
    x = samples(1.0)
    c = judge([x], [x], threshold_pct=10)
    assert c.verdict == "unchanged"
    assert c.p_value == 1.0
    assert c.change_pct == 0
    assert c.ci_pct[0] <= 0 <= c.ci_pct[1]


def test_a_large_significant_slowdown_is_slower() -> None:
    c = judge([samples(1.0, seed=1)], [samples(1.5, seed=2)], threshold_pct=10)
    assert c.verdict == "slower"
    assert c.change_pct == pytest.approx(50, abs=5)
    assert c.ci_pct[0] > 10 and c.p_value < 0.001


def test_a_large_significant_speedup_is_faster() -> None:
    c = judge([samples(1.0, seed=1)], [samples(0.5, seed=2)], threshold_pct=10)
    assert c.verdict == "faster"
    assert c.change_pct == pytest.approx(-50, abs=5)


def test_a_significant_change_below_the_threshold_is_unchanged() -> None:
    # 5% slower with 1% noise: clearly significant, yet within ±10%.
    c = judge([samples(1.0, spread=0.01, seed=1)], [samples(1.05, spread=0.01, seed=2)],
              threshold_pct=10)
    assert c.p_value < 0.001
    assert (c.verdict, c.reason) == ("unchanged", "within ±10%")


def test_a_large_change_in_noise_is_not_significant() -> None:
    c = judge([[1.0, 3.0, 0.5, 2.0, 1.2]], [[1.5, 0.6, 2.5, 1.1, 2.2]], threshold_pct=10)
    assert (c.verdict, c.reason) == ("unchanged", "not significant")


def test_a_tiny_absolute_change_is_below_the_floor() -> None:
    # 0.02 ms -> 0.04 ms doubles, but by 0.02 ms: timer and cache noise at that size.
    c = judge([samples(0.02, seed=1)], [samples(0.04, seed=2)], threshold_pct=10, min_abs=0.05)
    assert (c.verdict, c.reason) == ("unchanged", "below 0.05 ms")


def test_with_repeated_runs_a_slowdown_must_hold_in_every_run() -> None:
    base = [samples(1.0, seed=1), samples(1.0, seed=2)]
    one_bad = [samples(2.0, seed=3), samples(1.0, seed=4)]
    both_bad = [samples(2.0, seed=3), samples(1.9, seed=4)]
    assert judge(base, one_bad, threshold_pct=10).verdict == "unchanged"
    assert judge(base, both_bad, threshold_pct=10).verdict == "slower"


def test_mann_whitney_of_constants_is_one() -> None:
    assert mann_whitney_p([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert mann_whitney_p([1.0], [2.0]) == 1.0


def test_compare_flags_a_known_regression() -> None:
    base, new = abba(new={"after_ms": {"composite_filter_sort": 1.5}})  # 0.5 ms -> 1.5 ms
    cmp = compare(base, new)
    verdicts = {q.name: q.after.verdict for q in cmp.queries}
    assert verdicts["composite_filter_sort"] == "slower"
    assert [v for n, v in verdicts.items() if n != "composite_filter_sort"] == ["unchanged"] * 5
    assert cmp.confirmed
    assert cmp.regressions() == ["composite_filter_sort"]
    assert cmp.exit_code == 1


def test_a_timing_regression_with_one_run_per_side_is_unconfirmed() -> None:
    """Timing gates only when confirmed by interleaved runs; until then it is reported and
    the workflow measures again."""
    cmp = compare(results_doc(seed=1), results_doc({"composite_filter_sort": 1.5}, seed=2))
    row = next(q for q in cmp.queries if q.name == "composite_filter_sort")
    assert (row.effect.verdict, row.effect.reason) == ("unconfirmed", "one run per side")
    assert cmp.regressions() == [] and cmp.exit_code == 0
    assert cmp.unconfirmed() == ["composite_filter_sort"]


def test_runs_made_apart_do_not_confirm_timing() -> None:
    base = [results_doc(seed=1, started_at="2026-11-20T03:00:00+00:00"),
            results_doc(seed=3, started_at="2026-11-20T03:01:00+00:00")]
    new = [results_doc({"composite_filter_sort": 1.5}, seed=s,
                       started_at=f"2026-11-21T03:0{s}:00+00:00") for s in (2, 4)]
    cmp = compare(base, new)
    assert cmp.confirmation == "base and new were not interleaved"
    assert cmp.unconfirmed() == ["composite_filter_sort"] and cmp.exit_code == 0


def test_a_run_compared_with_itself_has_no_regression() -> None:
    doc = results_doc(seed=1, writes={"insert:leads": 20.0})
    cmp = compare(doc, doc)
    assert cmp.exit_code == 0
    assert {q.after.verdict for q in cmp.queries} == {"unchanged"}
    assert {w.after.verdict for w in cmp.writes} == {"unchanged"}
    assert cmp.warnings == []


def test_a_timeout_in_new_is_a_regression() -> None:
    base = results_doc(seed=1)
    new = results_doc(seed=2, errors={"fk_join": "statement timeout: shape skipped"})
    cmp = compare(base, new)
    assert cmp.regressions() == ["fk_join"]


def test_write_regressions_gate_only_when_asked() -> None:
    # insert:leads now costs 1.6x what it costs without the indexes (base: 1.05x).
    base, new = abba({"writes": {"insert:leads": 20.0, "update:leads": 30.0}},
                     {"writes": {"insert:leads": 30.0, "update:leads": 30.0},
                      "write_cost": {"insert:leads": 1.6}})
    cmp = compare(base, new)
    assert [w.effect.verdict for w in cmp.writes] == ["slower", "unchanged"]
    assert cmp.exit_code == 0
    assert compare(base, new, Gate(fail_on_writes=True)).regressions() == ["insert:leads"]


def test_a_write_cost_that_rose_on_both_sides_is_no_index_regression() -> None:
    """The machine (or the code) got slower for every write alike: the index overhead did
    not change, so nothing gates, though the absolute cost per row rose 50%."""
    base = results_doc(seed=1, writes={"insert:leads": 20.0})
    new = results_doc(seed=2, writes={"insert:leads": 30.0})
    cmp = compare(base, new, Gate(fail_on_writes=True))
    assert cmp.writes[0].after.verdict == "slower" and cmp.writes[0].effect.verdict == "unchanged"
    assert cmp.exit_code == 0


def test_writes_are_skipped_when_a_run_has_none() -> None:
    cmp = compare(results_doc(seed=1), results_doc(seed=2, writes={"insert:leads": 20.0}))
    assert not cmp.writes_compared
    assert cmp.exit_code == 0


def test_shapes_in_only_one_run_are_listed_not_compared() -> None:
    base, new = results_doc(seed=1), results_doc(seed=2)
    new.queries = new.queries[1:]
    cmp = compare(base, new)
    assert cmp.only_base == ["fk_join"]
    assert "fk_join" not in [q.name for q in cmp.queries]


def test_config_differences_are_warned_about() -> None:
    cmp = compare(results_doc(seed=1), results_doc(seed=2, scale=0.1))
    assert any("scale" in w for w in cmp.warnings)


def test_a_malformed_queries_list_is_bad_input(tmp_path: Path) -> None:
    raw = json.loads(results_doc(seed=1).model_dump_json())
    raw["queries"] = [{"no_name": 1}]
    (tmp_path / "results.json").write_text(json.dumps(raw))
    with pytest.raises(BenchError, match=r"results\.json: not a valid results\.json: queries\.0"):
        load(tmp_path)


def test_bad_gate_options_are_rejected() -> None:
    with pytest.raises(BenchError):
        Gate(threshold_pct=0)


def test_comment_puts_the_verdict_first_and_folds_the_tables() -> None:
    base, new = abba({"writes": {"insert:leads": 20.0, "update:leads": 20.0}},
                     {"after_ms": {"composite_filter_sort": 1.5},
                      "writes": {"insert:leads": 20.0, "update:leads": 20.0}})
    text = comment.render(compare(base, new), links=["[charts](https://example.invalid/a)"])
    summary, _, folded = text.partition("<details>")
    assert summary.splitlines()[2].startswith(
        "❌ **Regression: `composite_filter_sort` speedup -")
    assert "0 higher, 5 unchanged, 1 lower of 6 query shapes" in summary
    assert "Write cost of the indexes" in summary and "[charts]" in summary
    words = summary.partition("```mermaid")[0]
    assert len(words.splitlines()) < 15  # readable in ten seconds; then the charts
    assert summary.count("```mermaid") == 2
    assert folded.count("| `composite_filter_sort` |") == 3  # after, before, speedup tables
    assert text.rstrip().endswith("</details>")


def test_comment_for_no_change() -> None:
    doc = results_doc(seed=1)
    text = comment.render(compare(doc, doc))
    assert "✅ **No query regression.** speedup of migration 007: 0 higher, 6 unchanged, 0 lower" \
        in text
    assert "not compared (a run has no `writes` section)" in text
