"""Pure parts: parameter draws, shape files, statistics, verdicts (no database)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.config import QUERIES_DIR
from bench.errors import ShapeError
from bench.params import draw
from bench.shapes import load_shapes, parse_shape
from bench.stats import ratio_of_medians_ci, summarize
from bench.verdict import read_verdict


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
    assert fk.claim is not None and fk.claim.factor == pytest.approx(100)
    assert fk.expects_index == "ix_social_media_activity_lead_id"
    assert "%(lead_id)s" in fk.driver_sql and ":lead_id" in fk.sql
    for s in shapes:
        assert s.report_row and s.claim and s.expects_index and s.params and s.description


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
    assert s.rounds == 5 and s.median_ms == 3.0 and s.min_ms == 1.0 and s.max_ms == 10.0
    assert s.mean_ms == 4.0
    assert s.q1_ms == 2.0 and s.q3_ms == 4.0 and s.iqr_ms == 2.0
    assert s.stdev_ms == pytest.approx(np.sqrt(12.5))  # sample variance: 50 / 4
    assert s.cv == pytest.approx(np.sqrt(12.5) / 4.0)
    assert s.p95_ms == pytest.approx(8.8)  # linear interpolation between 4 and 10


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
