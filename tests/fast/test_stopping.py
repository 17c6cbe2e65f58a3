"""Sequential stopping: simulated streams of paired rounds with a known ratio, run through the
same rule the runner uses (bench.results.stats.stop_now at the pre-set looks, the interval at
the level its stop spent). It must keep its coverage, stop early where the answer is clear,
and not stop early where the ratio sits at a threshold of the verdict."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bench.results.stats import (
    ALPHA,
    EARLY_ALPHA,
    Looks,
    decisive,
    narrow_enough,
    paired_ratio,
    stop_now,
    stop_record,
)
from bench.runner.stopping import write_cuts

SIMULATIONS = 1000
BAND = [0.9, 1.1]  # the read verdict's noise band (bench.results.verdict.NOISE_BAND)


def _simulate(true_ratio: float, sd: float, looks: Looks, cuts: list[float], seed: int,
              factor: float = 3.0) -> tuple[int, str, tuple[float, float]]:
    """One figure: rounds drawn until the rule stops it; (rounds, reason, interval)."""
    rng = np.random.default_rng(seed)
    # Per-round times of both sides: a common drift (cancels in the ratio) times the ratio
    # times log-normal noise of the round; heavy tails now and then (a hiccup on one side).
    cap = looks.cap
    drift = np.exp(rng.normal(0, 0.3, cap))
    noise = rng.normal(0, sd, cap) + (rng.random(cap) < 0.05) * rng.normal(0, 4 * sd, cap)
    denom = 10.0 * drift
    numer = denom * true_ratio * np.exp(noise)
    n, reason = cap, "round cap"
    for k in looks.early:
        if stop_now(list(numer[:k]), list(denom[:k]), looks, cuts, extra_sd=0.0,
                    factor=factor):
            n, reason = k, "decisive"
            break
    stop = stop_record(looks, n, reason)
    _, interval = paired_ratio(list(numer[:n]), list(denom[:n]), confidence=stop.confidence)
    return n, reason, interval


def test_the_levels_spend_the_error_rate_over_the_looks() -> None:
    looks = Looks.up_to(24)
    assert looks.at == (8, 16, 24)
    assert looks.early_confidence == pytest.approx(1 - EARLY_ALPHA)
    assert looks.final_confidence() == pytest.approx(1 - ALPHA + 2 * EARLY_ALPHA)
    # Two early looks and the cap: at most ALPHA in all (the union bound).
    assert 2 * EARLY_ALPHA + (1 - looks.final_confidence()) == pytest.approx(ALPHA)
    assert Looks.up_to(8).at == (8,) and Looks.up_to(8).final_confidence() == pytest.approx(0.95)
    assert Looks.up_to(14).at == (8, 14)
    assert stop_record(looks, 8, "decisive").text() == "interval decisive after 8 rounds"
    assert stop_record(looks, 12, "time cap").confidence == looks.final_confidence()


def test_decisive_means_no_cut_point_inside_the_interval() -> None:
    assert decisive((150.0, 400.0), [*BAND, 100.0])
    assert not decisive((80.0, 400.0), [*BAND, 100.0])  # the claim could still be missed
    assert decisive((0.95, 1.05), BAND)  # wholly inside the unchanged band
    assert not decisive((1.05, 1.2), BAND)
    assert not decisive((float("nan"), 2.0), BAND)
    assert narrow_enough(300.0, (120.0, 800.0), 3.0)
    assert not narrow_enough(300.0, (90.0, 800.0), 3.0)


@pytest.mark.parametrize(("true_ratio", "sd"), [(300.0, 0.5), (1.0, 0.1), (1.6, 0.3),
                                                (30.0, 0.8)])
def test_the_interval_at_the_stop_covers_the_truth_at_the_stated_rate(
        true_ratio: float, sd: float) -> None:
    looks = Looks.up_to(24)
    covered = early = 0
    for seed in range(SIMULATIONS):
        _n, reason, (lo, hi) = _simulate(true_ratio, sd, looks, [*BAND, 100.0], seed)
        covered += lo <= true_ratio <= hi
        early += reason == "decisive"
    # 95% promised; with 1,000 simulations a true 95% falls below 93.5% with p < 0.02.
    assert covered / SIMULATIONS >= 1 - ALPHA - 0.015, (covered, early)


def test_a_clear_answer_stops_at_the_first_look() -> None:
    looks = Looks.up_to(24)
    stops = [_simulate(300.0, 0.3, looks, [*BAND, 20.0], seed)[0] for seed in range(200)]
    assert sum(n == 8 for n in stops) >= 190, stops


@pytest.mark.parametrize("true_ratio", [1.1, 20.0])
def test_a_ratio_at_a_threshold_does_not_stop_early(true_ratio: float) -> None:
    """At the band's edge, or at the claimed factor (20x), the interval holds the cut point
    and the figure runs to its cap (at most the early looks' error rate stops it)."""
    looks = Looks.up_to(24)
    reasons = [_simulate(true_ratio, 0.15, looks, [*BAND, 20.0], seed)[1]
               for seed in range(SIMULATIONS)]
    early = sum(r == "decisive" for r in reasons)
    assert early / SIMULATIONS <= 2 * EARLY_ALPHA + 0.01, early


def test_naive_stopping_would_not_keep_its_coverage() -> None:
    """The reason for the adjusted levels: a 95% interval looked at every two rounds from round 4
    and stopped as soon as it excludes 1 calls a change where there is none far more often
    than 5% of the time."""
    rng = np.random.default_rng(7)
    false_calls = 0
    for _ in range(400):
        denom = np.full(24, 10.0)
        numer = denom * np.exp(rng.normal(0, 0.2, 24))
        for k in range(4, 25, 2):
            _, (lo, hi) = paired_ratio(list(numer[:k]), list(denom[:k]))
            if not lo <= 1 <= hi:
                false_calls += 1
                break
    assert false_calls / 400 > 0.10


def test_write_cut_points_follow_the_verdict() -> None:
    # Claimed +3% to +5%, the A/A control up to +8%: the verdict turns at 1.03, 1.05, 1.08.
    assert write_cuts((3.0, 5.0), (0.95, 1.08)) == [1.03, 1.05, 1.08]
    assert write_cuts(None, (0.95, 1.08)) == [0.95, 1.08]
    assert write_cuts(None, None) == [1.0]
    assert math.isclose(write_cuts((3.0, 5.0), None)[1], 1.05)


def test_the_report_names_the_figures_that_stopped_early() -> None:
    from bench.report.markdown import render
    from bench.results import store
    from bench.results.model import Rounds

    fixture = Path(__file__).parent / "fixtures" / "small1.results.json"
    results = store.load(fixture)
    assert "Rounds end early" not in render(results, [])  # a run before sequential stopping
    first = results.queries[0]
    first.stopped = Rounds(rounds=8, reason="decisive", confidence=0.995,
                           text="interval decisive after 8 rounds")
    text = render(results, [])
    assert "Rounds end early where the verdict is settled" in text
    assert f"`{first.name}` 8" in text
