"""The blocked read order for twins that do not fit in shared_buffers: its schedule cancels a
linear drift, it is chosen only when they do not fit, and the report says which order ran."""

from __future__ import annotations

import itertools

import pytest
from test_cache_fit_report import MB, _unfit, results_doc

from bench.report.markdown import render
from bench.results.model import CacheFit, CacheState
from bench.runner import round_order


@pytest.mark.parametrize("rounds", [1, 2, 3, 4, 7, 8, 24, 25])
def test_each_twin_runs_every_round_once_and_the_blocks_alternate(rounds: int) -> None:
    k = round_order.block_rounds(rounds)
    steps = list(round_order.schedule(rounds, k))
    for side in ("A", "B"):
        done = [i for s, span, _cycle in steps if s == side for i in span]
        assert done == list(range(rounds))  # in order, none twice, none missing
    sides = [s for s, span, _cycle in steps if span]
    # B's blocks come between A's: A A only where one cycle's A block runs into the next's
    assert sides[0] == "A" and ("B", "B") not in set(itertools.pairwise(sides))


@pytest.mark.parametrize("rounds", [4, 8, 24])
def test_a_linear_drift_lands_on_both_twins_alike(rounds: int) -> None:
    """Time runs on one step per round and side; over each whole cycle both twins' rounds have
    the same mean time, so a drift linear in time adds the same to both."""
    k = round_order.block_rounds(rounds)
    clock, at = 0, {}
    for side, span, _cycle in round_order.schedule(rounds, k):
        for i in span:
            at[side, i] = clock
            clock += 1
    for start in range(0, rounds, 2 * k):
        cycle = range(start, min(start + 2 * k, rounds))
        mean_a = sum(at["A", i] for i in cycle) / len(cycle)
        mean_b = sum(at["B", i] for i in cycle) / len(cycle)
        assert mean_a == mean_b


def test_blocks_are_chosen_only_for_twins_that_do_not_fit() -> None:
    assert not round_order.choose(None).blocked
    fits = CacheFit(twins_bytes=20 * MB, shared_buffers_bytes=2048 * MB, fits=True)
    assert not round_order.decide(fits).blocked and fits.order == "alternating"
    unfit = CacheFit(twins_bytes=290 * MB, shared_buffers_bytes=128 * MB, fits=False)
    order = round_order.decide(unfit)
    assert order.blocked and unfit.order == "blocked" and unfit.order_cycles == 2
    assert "do not fit in shared_buffers (128 MB)" in unfit.order_reason
    assert "one twin alone does not fit either" in unfit.order_reason  # 145 MB each


def test_the_report_says_the_twins_were_measured_in_blocks() -> None:
    run = results_doc(scale=0.3)
    run.cache = CacheState(mode="warm", pg_prewarm=True, relations=38, blocks=37000)
    run.cache_fit = _unfit()
    round_order.decide(run.cache_fit)
    head = render(run, []).split("**Reads:")[0]
    assert "measured them in blocks of rounds per twin, in ABBA order over 2 cycles" in head
    assert "the A/A control, measured in the same order, shows whether it did" in head
    assert "What measuring both in one phase still cost" in head
    assert "0 alone, 1,500 in blocks" in head
    assert "so they were measured in blocks of rounds per twin" in render(run, [])
