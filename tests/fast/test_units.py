"""Pure parts: parameter draws, shape files, statistics, verdicts (no database)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.errors import ConfigError, ShapeError
from bench.results.claims import load_for
from bench.results.stats import ratio_of_medians_ci, summarize
from bench.results.verdict import read_verdict
from bench.runner.params import draw
from bench.runner.shapes import load_shapes, parse_shape
from tests.sales_agent import MIGRATION_FILE, QUERIES_DIR


def test_draw_is_deterministic_and_varies() -> None:
    pools = {"lead_id": list(range(1, 1001))}
    a = draw(pools, seed=42, shape_name="fk_join", n=30)
    b = draw(pools, seed=42, shape_name="fk_join", n=30)
    assert a == b
    assert len({p["lead_id"] for p in a}) > 20
    assert all(p["lead_id"] in pools["lead_id"] for p in a)
    assert draw(pools, seed=43, shape_name="fk_join", n=30) != a
    assert draw(pools, seed=42, shape_name="other", n=30) != a


def test_draw_is_uniform_over_a_small_pool() -> None:
    sets = draw({"status": ["a", "b", "c"]}, seed=1, shape_name="x", n=3000)
    counts = {s: sum(p["status"] == s for p in sets) for s in "abc"}
    assert all(900 < c < 1100 for c in counts.values())


def test_shipped_shapes_parse() -> None:
    shapes = load_shapes(QUERIES_DIR)
    assert [s.name for s in shapes] == ["fk_join", "timestamp_range", "composite_filter_sort",
                                        "simple_where", "platform_timeline",
                                        "top_contacts_per_company"]
    fk = shapes[0]
    assert fk.expects_index == "ix_social_media_activity_lead_id"
    assert "%(lead_id)s" in fk.driver_sql and ":lead_id" in fk.sql
    for s in shapes:
        assert s.report_row and s.expects_index and s.params and s.description


def test_the_claims_file_of_migration_007_quotes_the_report() -> None:
    claims = load_for(MIGRATION_FILE)
    assert claims is not None and claims.source == "TASK_21_COMPLETION_REPORT.md"
    assert claims.new_indexes == 19
    assert claims.reads["fk_join"].factor == pytest.approx(100)
    assert {s.name for s in load_shapes(QUERIES_DIR)} == set(claims.reads)
    assert claims.insert_overhead_pct == (3.0, 5.0) == claims.copy_overhead_pct
    assert claims.update_overhead_pct == (2.0, 4.0) and claims.disk_growth_pct == (10.0, 15.0)
    assert "organization_charts" not in claims.new_indexes_per_table  # not in the report's table


def test_a_migration_without_claims_file_has_no_claims(tmp_path: Path) -> None:
    assert load_for(tmp_path / "008_other.py") is None


def test_a_broken_claims_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "008_other.claims.toml").write_text("[reads.x]\nbefore_ms = 5\n")
    with pytest.raises(ConfigError, match=r"008_other\.claims\.toml: not a valid claims file: "
                                          r"missing 'after_ms'"):
        load_for(tmp_path / "008_other.py")


def test_a_claim_in_a_shape_file_points_to_the_claims_file(tmp_path: Path) -> None:
    f = tmp_path / "old.sql"
    f.write_text("-- claimed: 500 ms -> 5 ms\nSELECT 1\n")
    with pytest.raises(ShapeError, match=r"claims\.toml"):
        parse_shape(f)


def test_shape_with_undeclared_parameter_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.sql"
    f.write_text("-- param a: SELECT 1\nSELECT :a, :b\n")
    with pytest.raises(ShapeError, match=r"bad\.sql.*:b"):
        parse_shape(f)


def test_casts_are_not_parameters(tmp_path: Path) -> None:
    f = tmp_path / "cast.sql"
    f.write_text("-- param d: SELECT now()\nSELECT :d::date, '50%'::text\n")
    shape = parse_shape(f)
    assert shape.params == {"d": "SELECT now()"}
    assert "%(d)s::date" in shape.driver_sql and "50%%" in shape.driver_sql


def test_unknown_shape_name_is_listed() -> None:
    with pytest.raises(ShapeError, match=r"unknown shape.*nosuch.*available"):
        load_shapes(QUERIES_DIR, ("nosuch",))


def test_summary_against_hand_computed_values() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0, 10.0])
    assert s.rounds == 5 and s.median == 3.0 and s.min == 1.0 and s.max == 10.0
    assert s.mean == 4.0
    assert s.q1 == 2.0 and s.q3 == 4.0 and s.iqr == 2.0
    assert s.stdev == pytest.approx(np.sqrt(12.5))  # sample variance: 50 / 4
    assert s.cv == pytest.approx(np.sqrt(12.5) / 4.0)
    assert s.p95 == pytest.approx(8.8)  # linear interpolation between 4 and 10


def test_ratio_interval_covers_the_true_ratio() -> None:
    rng = np.random.default_rng(0)
    covered = 0
    trials = 40
    for _ in range(trials):
        noise = rng.lognormal(0, 0.2, 25)
        before = 50.0 * noise * rng.lognormal(0, 0.05, 25)
        after = 5.0 * noise * rng.lognormal(0, 0.05, 25)
        lo, hi = ratio_of_medians_ci(before, after, paired=True, n_resamples=500,
                                     seed=int(rng.integers(1 << 30)))
        covered += lo <= 10.0 <= hi
    assert covered >= trials * 0.85


def test_verdicts() -> None:
    assert read_verdict(50.0, (40.0, 60.0), 20.0, "ix", ["ix"])[0] == "faster"
    assert "meets the claim" in read_verdict(50.0, (40.0, 60.0), 20.0, "ix", ["ix"])[1]
    assert "short of the claim" in read_verdict(3.0, (2.5, 3.5), 20.0, None, [])[1]
    assert read_verdict(1.0, (0.95, 1.05), 20.0, None, [])[0] == "unchanged"
    assert read_verdict(0.5, (0.4, 0.6), 20.0, None, [])[0] == "slower"
    assert "does not use ix" in read_verdict(1.0, (0.95, 1.05), 20.0, "ix", [])[1]
    assert read_verdict(None, None, 20.0, None, [], error="timeout")[0] == "error"


def test_median_interval_against_hand_computed_ranks() -> None:
    from bench.results.stats import median_ci

    # n = 20: ranks 6 and 15 (P(6 <= Binom(20, 1/2) <= 14) = 0.959 >= 0.95, ranks 7/14 fall short)
    assert median_ci(list(range(1, 21))) == (6.0, 15.0)
    # n = 10: ranks 2 and 9 (coverage 0.979; ranks 3 and 8 give only 0.891)
    assert median_ci([float(x) for x in range(10, 0, -1)]) == (2.0, 9.0)
    # Too few rounds for a 95% interval: the whole range.
    assert median_ci([3.0, 1.0, 2.0]) == (1.0, 3.0)


def test_median_interval_covers_a_known_median() -> None:
    from bench.results.stats import median_ci

    rng = np.random.default_rng(1)
    true_median = np.exp(1.0)  # log-normal(1, 0.5): median e
    trials = 400
    covered = sum(
        lo <= true_median <= hi
        for lo, hi in (median_ci(rng.lognormal(1.0, 0.5, 30)) for _ in range(trials))
    )
    assert 0.93 * trials <= covered <= 0.995 * trials


def test_yuen_difference_is_scipys_yuen_test() -> None:
    from scipy import stats

    from bench.results.stats import yuen_difference

    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 20), rng.normal(0.5, 1.3, 25)
    ref = stats.ttest_ind(b, a, trim=0.2, equal_var=False)
    _diff, (lo, hi), p = yuen_difference(a, b)
    assert p == pytest.approx(ref.pvalue) and (lo, hi) == pytest.approx(
        (ref.confidence_interval().low, ref.confidence_interval().high))
    # Between-run variance the samples cannot show widens the interval, weakens the test.
    _, (lo2, hi2), p2 = yuen_difference(a, b, extra_var=0.1)
    assert lo2 < lo and hi2 > hi and p2 > p


def test_sides_alternate_abba() -> None:
    from bench.runner.reads import order

    assert [order(i) for i in range(4)] == [("A", "B"), ("B", "A"), ("A", "B"), ("B", "A")]
    assert order(0, 1) == ("B", "A")  # the next shape starts on the other side


def test_trimmed_mean_against_hand_computed_values() -> None:
    from bench.results.stats import trimmed_mean_ci

    # n = 10, 20% trimmed: drop 1, 2 and 9, 100; mean of 3..8 = 5.5 (h = 6 kept). Winsorized
    # sample 3,3,3,4,5,6,7,8,8,8: variance 42.5 / 9; Yuen's se^2 = 9 * var / (6 * 5);
    # t(0.975, 5) = 2.5706.
    mean, (lo, hi) = trimmed_mean_ci([1, 2, 3, 4, 5, 6, 7, 8, 9, 100])
    se = np.sqrt(9 * 42.5 / 9 / 30)
    assert mean == 5.5
    assert (lo, hi) == pytest.approx((5.5 - 2.5706 * se, 5.5 + 2.5706 * se), abs=1e-3)


def test_paired_ratio_ignores_drift_and_a_hiccup() -> None:
    from bench.results.stats import paired_ratio

    rng = np.random.default_rng(3)
    drift = np.linspace(1.0, 2.0, 20)  # the machine slows down during the run
    params = rng.lognormal(0, 1.0, 20)  # rounds differ a lot in cost
    before = 100 * params * drift * rng.lognormal(0, 0.03, 20)
    after = 10 * params * drift * rng.lognormal(0, 0.03, 20)
    after[7] *= 5  # one hiccup on one side
    ratio, (lo, hi) = paired_ratio(before, after)
    assert ratio == pytest.approx(10, rel=0.03) and lo < 10 < hi and hi / lo < 1.1


def test_paired_ratio_interval_covers_the_true_ratio() -> None:
    from bench.results.stats import paired_ratio

    rng = np.random.default_rng(4)
    trials, covered = 200, 0
    for _ in range(trials):
        shared = rng.lognormal(0, 0.5, 12)  # drift and parameters, common to both sides
        a = 3.0 * shared * rng.lognormal(0, 0.15, 12)
        b = shared * rng.lognormal(0, 0.15, 12)
        _, (lo, hi) = paired_ratio(a, b)
        covered += lo <= 3.0 <= hi
    assert 0.90 * trials <= covered <= 0.995 * trials


def test_the_noise_floor_decides_what_is_a_change() -> None:
    assert read_verdict(1.3, (1.15, 1.45), None, None, [], noise=(0.85, 1.12))[0] == "faster"
    assert read_verdict(1.3, (1.15, 1.45), None, None, [], noise=(0.8, 1.2))[0] == "unchanged"
    assert read_verdict(0.7, (0.6, 0.8), None, None, [], noise=(0.85, 1.2))[0] == "slower"


def test_a_write_overhead_inside_the_noise_floor_does_not_exceed_its_claim() -> None:
    from bench.results.model import NoiseFloor, WriteWorkload

    w = WriteWorkload(name="insert:t", table="t", operation="insert", overhead_pct=8.0,
                      overhead_ci95=(6.0, 10.0), claimed_pct=(3.0, 5.0))
    assert w.verdict == "exceeds"
    w.aa = NoiseFloor(ratio=1.0, ci95=(0.88, 1.12), rounds=10, a_times=[], b_times=[])
    assert w.noise_pct == pytest.approx((-12.0, 12.0)) and w.verdict == "within noise"


def test_a_write_verdict_says_within_only_when_the_whole_interval_is() -> None:
    from bench.report.markdown import write_verdict
    from bench.results.model import NoiseFloor, WriteWorkload

    def verdict(ci: tuple[float, float], aa: tuple[float, float] | None = None) -> str:
        w = WriteWorkload(name="insert:t", table="t", operation="insert",
                          overhead_pct=sum(ci) / 2, overhead_ci95=ci, claimed_pct=(3.0, 5.0))
        if aa:
            w.aa = NoiseFloor(ratio=1.0, ci95=aa, rounds=8, a_times=[], b_times=[])
        return f"{w.verdict}: {write_verdict(w)}"

    assert verdict((3.5, 4.5)) == "within: ✅ within the claimed +3–5%"
    assert verdict((-7.9, 18.0)).startswith("consistent: ➖ consistent with the claimed +3–5%")
    assert verdict((-3.0, 1.0)) == "below: ✅ below the claimed +3–5%"
    assert verdict((26.0, 60.0), aa=(0.95, 1.10)) == "exceeds: ❌ exceeds the claimed +3–5%"
    # A run of the 007 app: +42% (+26% to +60%) with an A/A control of +6.9% (-20% to +44%)
    # read "within the claimed +3–5%"; it is above the claim, inside this run's noise floor.
    assert verdict((26.0, 60.0), aa=(0.80, 1.44)) == (
        "within noise: ⚠️ above the claimed +3–5%, but within this run's noise floor (A/A up "
        "to +44%)")


def test_scales_option() -> None:
    from bench.runner.run.sweep import parse_scales

    assert parse_scales("1,0.01,0.1") == (0.01, 0.1, 1.0)
    for bad in ("", "0,1", "a,b", "-1"):
        with pytest.raises(ConfigError):
            parse_scales(bad)


def test_no_write_exceeding_its_claim_is_not_called_within_the_claims() -> None:
    from bench.report.markdown import render
    from bench.results import store

    results = store.load(Path(__file__).parent / "fixtures" / "small1.results.json")
    for w in results.measured_workloads:  # every interval straddles the claimed +3-5%
        w.overhead_ci95 = (-10.0, 20.0)
    text = render(results, [])
    n = len(results.measured_workloads)
    assert f"**Writes: none of {n} workloads measurably costs more than claimed** ({n} " \
           "consistent with them;" in text
    assert "within the claims" not in text
