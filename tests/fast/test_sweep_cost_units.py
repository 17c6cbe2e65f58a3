"""sweep.md's time per planner cost unit by root node type across scales, from known runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report.sweep import scale_dir, write_sweep
from bench.results import store
from bench.results.model import PlanVariant, QueryPhase, RunResults
from tests.fast import results_factory as rf


def _costed(phase: QueryPhase, root: str, us_per_unit: float) -> None:
    """Give every round of a phase the plan root `root` and one total cost: the one at which
    the phase's median time is `us_per_unit` µs per cost unit."""
    assert phase.median_ms
    phase.total_cost_per_round = [1000 * phase.median_ms / us_per_unit] * len(phase.times_ms)
    phase.plan_variants = [PlanVariant(rounds=len(phase.times_ms), summary=root,
                                       structure=f"{root} > Index Scan(ix) on t")]
    phase.plan_per_round = [0] * len(phase.times_ms)


def run(scale: float, limit_us: float, seq_us: float) -> RunResults:
    """Every phase 20 rounds; before: a Seq Scan root at `seq_us` µs per cost unit; after:
    a Limit root at `limit_us` µs per unit (times from the factory, costs set to fit)."""
    results = rf.results_doc(scale=scale)
    for q in results.queries:
        assert q.before and q.after
        _costed(q.before, "Seq Scan", seq_us)
        _costed(q.after, "Limit", limit_us)
    return results


def _sweep(tmp_path: Path, runs: dict[float, RunResults]) -> str:
    for scale, results in runs.items():
        rf.save(results, scale_dir(tmp_path, scale))
    write_sweep(tmp_path, tuple(runs))
    return (tmp_path / "sweep.md").read_text()


def _row(text: str, first_cell: str) -> list[str]:
    line = next(ln for ln in text.splitlines() if ln.startswith(f"| {first_cell} |"))
    return [c.strip() for c in line.strip("|").split("|")][1:]


def test_table_has_one_row_per_root_node_and_a_column_per_scale(tmp_path: Path) -> None:
    text = _sweep(tmp_path, {0.1: run(0.1, limit_us=2.0, seq_us=10.0),
                             1.0: run(1.0, limit_us=2.2, seq_us=40.0)})
    assert "## Time per planner cost unit, by scale" in text
    assert "| Root node | scale 0.1 | scale 1 |" in text
    assert "`TIMING OFF` measures no node's own time" in text  # what it rests on, said
    limit, seq = _row(text, "Limit"), _row(text, "Seq Scan")
    # The factory's times have a few percent of noise around their medians: the median per
    # cost unit is the set figure, the spread around it, 120 rounds of 6 shapes each.
    assert limit[0].startswith("**2 µs** (") and limit[1].startswith("**2.2 µs** (")
    assert seq[0].startswith("**10 µs** (") and seq[1].startswith("**40 µs** (")
    assert all(c.endswith("; 120 rounds, 6 shapes") for c in limit + seq)
    everything = _row(text, "*all plans*")
    assert all(c.endswith("; 240 rounds, 6 shapes") for c in everything)
    reading = next(ln for ln in text.splitlines() if ln.startswith("Read across the scales"))
    assert "stays within 1.5x for Limit 2 → 2.2 µs (scale 0.1 → 1; 1.10x apart, rising)" \
        in reading
    assert "moves by more than 1.5x for Seq Scan 10 → 40 µs (scale 0.1 → 1; 4.00x apart, " \
        "rising)" in reading
    # sweep.json keeps the figures
    sweep = store.load_sweep(tmp_path)
    units = {c.node_type: c for c in sweep.runs[1].cost_units}
    assert units["Seq Scan"].median_ms_per_unit == pytest.approx(0.040, rel=1e-6)
    assert units["Limit"].plans == 120 and units["Limit"].shapes == 6
    assert sweep.runs[0].cost_unit_all is not None


def test_a_root_seen_at_one_scale_only_is_named(tmp_path: Path) -> None:
    small, large = run(0.1, 2.0, 10.0), run(1.0, 2.0, 10.0)
    q = large.queries[0]
    assert q.after
    _costed(q.after, "Sort", 3.0)
    text = _sweep(tmp_path, {0.1: small, 1.0: large})
    assert _row(text, "Sort")[0] == "–"
    assert _row(text, "Sort")[1].startswith("**3 µs**")
    assert "At one scale only (the plan's root node changed with the data): Sort (scale 1)." \
        in text


def test_no_table_without_costs(tmp_path: Path) -> None:
    """Runs whose phases keep neither per-round costs nor plans: no table, no sentence."""
    text = _sweep(tmp_path, {0.1: rf.results_doc(scale=0.1), 1.0: rf.results_doc(scale=1.0)})
    assert "Time per planner cost unit" not in text and "Read across" not in text
