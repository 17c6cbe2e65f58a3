"""The CI gate of issue 14: deterministic signals first, timing only when confirmed, the chart
in the comment itself.

gate-a and gate-b are two real runs of one commit (scale 0.05, this design), made one after
the other: an A/A pair.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from results_factory import abba

from bench.ci import comment, status
from bench.ci.compare import Gate, compare
from bench.results import store
from bench.results.model import NoiseFloor, RunResults

FIXTURES = Path(__file__).parent / "fixtures"
LOST = "ix_social_media_activity_platform_posted"


def _run(name: str) -> RunResults:
    return store.load(FIXTURES / f"{name}.results.json")


def _lose_the_index(run: RunResults) -> RunResults:
    """platform_timeline with the indexes reads its table by a Seq Scan instead of the index,
    every round; timings, rows and buffers untouched."""
    doctored = run.model_copy(deep=True)
    q = next(q for q in doctored.queries if q.name == "platform_timeline")
    assert q.after is not None
    for v in q.after.plan_variants:
        v.scans = ["Seq Scan on social_media_activity"]
        v.structure = "Limit > Sort > Seq Scan(social_media_activity)"
        v.summary = "Seq Scan on social_media_activity"
    q.after.indexes_used = []
    return doctored


def test_the_fixtures_are_an_aa_pair_with_identical_signals() -> None:
    a, b = _run("gate-a"), _run("gate-b")
    assert a.environment.git_commit == b.environment.git_commit
    for qa, qb in zip(a.queries, b.queries, strict=True):
        for pa, pb in ((qa.before, qb.before), (qa.after, qb.after)):
            assert pa and pb
            assert pa.rows_per_round == pb.rows_per_round, qa.name
            assert pa.buffers_per_round == pb.buffers_per_round, qa.name
            assert pa.plan_per_round == pb.plan_per_round, qa.name
            assert pa.times_ms != pb.times_ms  # the timings are those of two runs


def test_an_aa_pair_passes() -> None:
    cmp = compare(_run("gate-a"), _run("gate-b"))
    assert cmp.exit_code == 0 and cmp.regressions() == []
    assert cmp.signals.findings == []
    assert (cmp.signals.shapes, cmp.signals.workloads) == (6, 10)  # COPY has no WAL count
    assert "✅ identical in 6 shapes and 10 write workloads" in comment.render(cmp)


def test_a_plan_change_with_identical_timings_fails_and_names_the_index() -> None:
    base = _run("gate-a")
    new = _lose_the_index(base)
    cmp = compare(base, new)
    assert cmp.exit_code == 1 and cmp.regressions() == ["platform_timeline"]
    row = next(q for q in cmp.queries if q.name == "platform_timeline")
    assert row.effect.change_pct == pytest.approx(0)  # the timings are the same
    text = comment.render(cmp)
    headline = text.splitlines()[2]
    assert headline.startswith(
        f"❌ **Regression: `platform_timeline` no longer uses {LOST}: Index Scan → Seq Scan "
        "on social_media_activity (30 of 30 rounds)")


def test_an_index_the_migration_no_longer_creates_gates_on_buffers_only() -> None:
    """A PR that drops the index from the migration on purpose: not using it is expected;
    what it costs shows in the buffers."""
    base = _run("gate-a")
    new = _lose_the_index(base)
    assert new.migration is not None
    new.migration.indexes.remove(LOST)
    cmp = compare(base, new)
    assert cmp.exit_code == 0
    (finding,) = cmp.signals.findings
    assert "(new no longer creates it)" in finding.text and not finding.gates
    q = next(q for q in new.queries if q.name == "platform_timeline")
    assert q.after is not None
    q.after.buffers_per_round = [b * 40 for b in q.after.buffers_per_round]
    cmp = compare(base, new)
    assert cmp.regressions() == ["platform_timeline"]
    assert any("touches +3900% shared buffers" in f.text for f in cmp.signals.gating)


def test_different_rows_from_the_same_query_fail() -> None:
    base = _run("gate-a")
    new = base.model_copy(deep=True)
    q = next(q for q in new.queries if q.name == "simple_where")
    assert q.after is not None
    q.after.rows_per_round[3] += 1
    cmp = compare(base, new)
    assert cmp.regressions() == ["simple_where"]
    assert "returns different rows in 1 of 30 rounds" in cmp.signals.gating[0].text


def test_one_more_index_on_a_write_is_reported_and_gates_only_when_asked() -> None:
    base = _run("gate-a")
    new = base.model_copy(deep=True)
    assert new.writes is not None
    w = next(w for w in new.writes.workloads if w.name == "insert:leads")
    assert w.after and w.after.wal_records_per_row
    w.after.wal_records_per_row += 1
    cmp = compare(base, new)
    (finding,) = cmp.signals.findings
    assert "`insert:leads` writes +1.00 WAL records per row with the indexes" in finding.text
    assert "about 1 index entry per row more" in finding.text
    assert cmp.exit_code == 0 and "(does not gate)" in comment.render(cmp)
    assert compare(base, new, Gate(fail_on_writes=True)).regressions() == ["insert:leads"]


def test_a_lost_hot_share_is_named() -> None:
    base = _run("gate-a")
    new = base.model_copy(deep=True)
    assert new.writes is not None
    w = next(w for w in new.writes.workloads if w.name == "update:leads")
    assert w.after and w.before and w.before.hot_pct
    w.after.hot_pct = 0.0
    base_w = next(w for w in (base.writes.workloads if base.writes else [])
                  if w.name == "update:leads")
    assert base_w.after is not None
    base_w.after.hot_pct = w.before.hot_pct
    cmp = compare(base, new, Gate(fail_on_writes=True))
    assert cmp.regressions() == ["update:leads"]
    assert "an index now covers an updated column" in cmp.signals.gating[0].text


def _with_noise_floor(runs: list[RunResults], ci: tuple[float, float]) -> None:
    for run in runs:
        for q in run.queries:
            q.aa = NoiseFloor(ratio=1.0, ci95=ci, rounds=10, a_times=[], b_times=[])


def test_a_30pct_timing_change_inside_the_noise_floor_passes_with_a_note() -> None:
    # Interleaved, two runs per side: confirmed; latency with the indexes +30% (0.5 -> 0.65 ms)
    base, new = abba(new={"after_ms": {"platform_timeline": 0.65}})
    _with_noise_floor([*base, *new], (0.97, 1.03))  # a quiet run: ±3%
    assert compare(base, new).regressions() == ["platform_timeline"]
    _with_noise_floor([*base, *new], (0.62, 1.6))  # this run's own noise: ±60%
    cmp = compare(base, new)
    assert cmp.exit_code == 0
    row = next(q for q in cmp.queries if q.name == "platform_timeline")
    assert row.effect.change_pct == pytest.approx(-23, abs=3)  # speedup 4x -> 3.1x
    assert row.effect.verdict == "unchanged"
    assert row.effect.reason == "within the A/A noise floor (±61%)"
    text = comment.render(cmp)
    assert "ℹ️ `platform_timeline` speedup -2" in text
    assert "is within the A/A noise floor (±61%): noise, not gated" in text


MD = MarkdownIt("commonmark").enable("table")


def _mermaid_blocks(html: str) -> list[str]:
    import html as html_lib

    return [html_lib.unescape(b) for b in
            re.findall(r'<pre><code class="language-mermaid">(.*?)</code></pre>', html, re.S)]


def _check_xychart(block: str) -> None:
    lines = [line.strip() for line in block.strip().splitlines()]
    assert lines[0] == "xychart-beta horizontal"
    cats = re.findall(r'"([^"]*)"', next(x for x in lines if x.startswith("x-axis")))
    top = float(next(x for x in lines if x.startswith("y-axis")).split("-->")[1])
    for kind in ("bar", "line"):
        values = [float(v) for v in
                  next(x for x in lines if x.startswith(kind + " "))[len(kind) + 2:-1].split(",")]
        assert len(values) == len(cats) >= 2
        assert all(0 <= v <= top for v in values)


@pytest.mark.parametrize("doctor", [False, True])
def test_the_comment_renders_with_its_charts(doctor: bool) -> None:
    base = _run("gate-a")
    new = _lose_the_index(base) if doctor else _run("gate-b")
    text = comment.render(compare(base, new), links=["[reports](https://example.invalid/r)"])
    html = MD.render(text)
    assert html.count("<table>") == 4  # speedup, latency after and before, writes
    assert "<details><summary>Per-shape details</summary>" in html
    assert '<a href="https://example.invalid/r">reports</a>' in html
    blocks = _mermaid_blocks(html)
    assert len(blocks) == 3
    assert "Latency with the indexes" in blocks[0] and "Write cost per row" in blocks[1]
    for block in blocks[:2]:
        _check_xychart(block)
    # The third, in the details: the planner's estimate against the measurement, a point per
    # shape (tests/fast/test_comment_estimates.py checks its coordinates).
    assert html.index("<details>") < html.index("quadrantChart") < html.index("</details>")
    assert blocks[2].splitlines()[1] == "quadrantChart"
    assert len(re.findall(r'^    "[a-z_]+": \[', blocks[2], re.M)) == 6
    assert ("no longer uses" in html) == doctor


def test_the_status_file_round_trips(tmp_path: Path) -> None:
    base = _run("gate-a")
    new = _lose_the_index(base)
    cmp = compare(base, new)
    path = tmp_path / "status.json"
    status.save(status.from_comparison(cmp, [base], [new]), path)
    got = status.load(path)
    assert got.exit_code == 1 and got.regressions == ["platform_timeline"]
    assert got.signal_alarms[0].gates and got.false_alarm
    assert json.loads(path.read_text())["signal_changes"][0]["name"] == "platform_timeline"
    aa = status.from_comparison(compare(base, _run("gate-b")), [base], [_run("gate-b")])
    assert not aa.signal_alarms and aa.exit_code == 0


def test_a_run_on_a_busy_machine_is_named_in_the_comment_and_its_report_warns() -> None:
    from bench.report.markdown import render as render_report
    from bench.results.model import MachineLoad

    quiet, busy = _run("gate-a"), _run("gate-b").model_copy(deep=True)
    quiet.machine_load = MachineLoad(cores=2, other_cores={"reads": 0.03, "writes": 0.02})
    busy.machine_load = MachineLoad(cores=2, other_cores={"reads": 0.91, "writes": 0.4})
    text = comment.render(compare(quiet, busy))
    assert "a new run measured on a busy machine (other processes used 0.91 cores during reads)" \
        in text
    assert "base run measured on a busy machine" not in text
    assert "A busy machine" in render_report(busy, [])
    assert "A busy machine" not in render_report(quiet, [])
    assert "Other processes' CPU while measuring, in cores: reads 0.03, writes 0.02" \
        in render_report(quiet, [])


def _with_estimates(run: RunResults, rows: float, moved: dict[int, float]) -> RunResults:
    """Every phase of every shape estimated at `rows` per round, but `moved` rounds of
    platform_timeline with the indexes."""
    doctored = run.model_copy(deep=True)
    for q in doctored.queries:
        for p in (q.before, q.after):
            assert p is not None
            p.plan_rows_per_round = [rows] * len(p.plan_per_round)
            if q.name == "platform_timeline" and p is q.after:
                for i, v in moved.items():
                    p.plan_rows_per_round[i] = v
    return doctored


def test_a_row_estimate_that_moved_10x_with_the_same_plan_warns_and_never_gates() -> None:
    base = _with_estimates(_run("gate-a"), 50.0, {})
    cmp = compare(base, _with_estimates(_run("gate-b"), 50.0, {2: 800.0, 5: 600.0}))
    found = [f for f in cmp.signals.findings if f.signal == "estimate"]
    assert len(found) == 1 and found[0].name == "platform_timeline" and found[0].phase == "after"
    assert found[0].worse and not found[0].gates
    assert "moved 16x with the same plan in 2 of" in found[0].text
    assert "(round 3: 50 → 800 rows estimated)" in found[0].text
    assert cmp.exit_code == 0 and cmp.regressions() == []
    assert "⚠️ `platform_timeline`: the planner's row estimate moved 16x" in comment.render(cmp)
    # 9x is within the tolerance; a run without per-round estimates compares nothing
    near = compare(base, _with_estimates(_run("gate-b"), 50.0, {2: 450.0}))
    assert not [f for f in near.signals.findings if f.signal == "estimate"]
    assert not [f for f in compare(_run("gate-a"), _run("gate-b")).signals.findings
                if f.signal == "estimate"]


def test_a_moved_estimate_with_another_plan_is_a_plan_change_not_an_estimate_one() -> None:
    base = _with_estimates(_run("gate-a"), 50.0, {})
    new = _lose_the_index(_with_estimates(_run("gate-b"), 50.0, dict.fromkeys(range(30), 5e4)))
    signals = {f.signal for f in compare(base, new).signals.findings}
    assert "plan" in signals and "estimate" not in signals
