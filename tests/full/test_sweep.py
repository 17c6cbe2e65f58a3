"""A scale sweep: one full run per scale, then a table and a growth chart across scales."""

from __future__ import annotations

import json
from pathlib import Path

from bench.config import RunConfig
from bench.results.store import load_sweep
from bench.runner.run.sweep import run_sweep


def test_sweep_writes_per_scale_runs_table_and_chart(tmp_path: Path) -> None:
    cfg = RunConfig(rounds=4, aa_rounds=0, warmup=1, write_rounds=0, crosscheck_rounds=2,
                    out=tmp_path, progress=False)
    sweep = run_sweep(cfg, (0.005, 0.02), echo=lambda _line: None)

    assert [r.scale for r in sweep.runs] == [0.005, 0.02]
    assert (tmp_path / "scale-0.005" / "results.json").is_file()
    assert (tmp_path / "scale-0.02" / "report.md").is_file()
    small, large = sweep.runs
    assert small.total_rows == 10_000 and large.total_rows == 40_000
    for run in sweep.runs:
        assert len(run.queries) == 6
        assert all(q.speedup and q.speedup > 0 for q in run.queries)
    # Scans of the unindexed tables get slower with size; the FK lookup after 007 does not.
    fk = [next(q for q in r.queries if q.name == "fk_join") for r in sweep.runs]
    assert (fk[1].before_median_ms or 0) > (fk[0].before_median_ms or 0)
    assert load_sweep(tmp_path) == sweep
    assert json.loads((tmp_path / "sweep.json").read_text())["runs"][0]["scale"] == 0.005
    text = (tmp_path / "sweep.md").read_text()
    assert "scale 0.005 (10,000 rows)" in text and "`fk_join`" in text
    assert (tmp_path / "growth.png").read_bytes()[:4] == b"\x89PNG"
    # Time per cost unit by root node type, from the real plans' per-round costs and times.
    for run in sweep.runs:
        assert run.cost_units and run.cost_unit_all
        assert sum(c.plans for c in run.cost_units) == run.cost_unit_all.plans == 6 * 2 * 4
        assert all(0 < c.min_ms_per_unit <= c.median_ms_per_unit <= c.max_ms_per_unit
                   for c in run.cost_units)
    assert "## Time per planner cost unit, by scale" in text
    assert "| *all plans* |" in text and "Read across the scales" in text
