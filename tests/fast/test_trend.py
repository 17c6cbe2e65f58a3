"""archive and trend: a history of runs becomes a table, a CSV and PNG charts."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from results_factory import results_doc, save

from bench.ci import history, trend
from bench.cli import main
from bench.errors import BenchError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _history(tmp_path: Path, nights: int = 4, writes: bool = False) -> Path:
    hist = tmp_path / "history"
    for day in range(nights):
        doc = results_doc({"fk_join": 0.5 + 0.1 * day}, seed=day, commit=str(day) * 40,
                          started_at=f"2026-11-{10 + day:02d}T03:17:00+00:00",
                          writes={"insert:leads": 20.0 + day} if writes else None)
        run = save(doc, tmp_path / "runs" / str(day))
        (run.parent / "report.md").write_text("# report\n")
        history.archive(run.parent, hist)
    return hist


def _assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    import matplotlib.image

    height, width = matplotlib.image.imread(path).shape[:2]
    assert width > 300 and height > 200


def test_archive_names_runs_by_time_and_keeps_the_report(tmp_path: Path) -> None:
    hist = _history(tmp_path, nights=2)
    folders = sorted(p.name for p in hist.iterdir())
    assert folders == ["20261110T031700Z_0000000000", "20261111T031700Z_1111111111"]
    assert (hist / folders[0] / "report.md").is_file()


def test_archive_keep_prunes_the_oldest(tmp_path: Path) -> None:
    hist = _history(tmp_path, nights=3)
    extra = save(results_doc(started_at="2026-11-20T03:17:00+00:00"), tmp_path / "late")
    history.archive(extra, hist, keep=2)
    assert sorted(p.name[:8] for p in hist.iterdir()) == ["20261112", "20261120"]


def test_trend_draws_charts_from_a_small_history(tmp_path: Path) -> None:
    hist = _history(tmp_path, writes=True)
    (hist / "pytest-benchmark.json").write_text('{"benchmarks": []}')  # not a run: skipped
    out = tmp_path / "trend"
    written = trend.write(hist, out)
    for name in ("trend_latency.png", "trend_speedup.png", "trend_writes.png"):
        assert out / name in written
        _assert_png(out / name)
    df = pd.read_csv(out / "trend.csv")
    assert len(df) == 4 * 6 and df["started_at"].is_monotonic_increasing
    md = (out / "trend.md").read_text()
    assert "4 runs from 2026-11-10" in md and "1 other JSON file(s) skipped" in md
    # fk_join went 0.5 -> 0.8 ms over four nights: +14% against the night before.
    assert re.search(r"\| `fk_join` \| 0\.79\d \| \+1[2-6]% \|", md), md


def test_trend_leaves_out_runs_at_another_scale(tmp_path: Path) -> None:
    hist = _history(tmp_path, nights=2)
    other = save(results_doc(scale=1.0, started_at="2026-11-01T03:17:00+00:00"),
                 tmp_path / "big")
    history.archive(other, hist)
    trend.write(hist, tmp_path / "trend")
    assert "1 run(s) at other scales left out" in (tmp_path / "trend" / "trend.md").read_text()


def test_trend_of_a_single_run(tmp_path: Path) -> None:
    hist = _history(tmp_path, nights=1)
    written = trend.write(hist, tmp_path / "trend")
    _assert_png(tmp_path / "trend" / "trend_latency.png")
    assert len(written) == 4


def test_an_empty_history_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchError, match=r"no results\.json"):
        trend.write(tmp_path / "empty", tmp_path / "out")


def test_trend_and_archive_commands(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = save(results_doc(), tmp_path / "run")
    assert main(["archive", str(run.parent), str(tmp_path / "hist")]) == 0
    assert main(["trend", str(tmp_path / "hist")]) == 0
    assert "trend_latency.png" in capsys.readouterr().out
    assert (tmp_path / "hist" / "trend" / "trend_speedup.png").is_file()
    assert main(["trend", str(tmp_path / "missing")]) == 2


def test_the_nightly_aa_pair_is_archived_and_trended(tmp_path: Path) -> None:
    """Night 1: an A/A pair that agrees. Night 2: one whose second run lost an index (doctored):
    a false alarm. The trend counts it, draws the noise floor and skips no JSON."""
    from test_gate import _lose_the_index, _run

    hist = tmp_path / "history"
    a, b = _run("gate-a"), _run("gate-b")
    nights = [(a, b, "2026-11-24T03:17:00+00:00"), (b, _lose_the_index(b),
                                                     "2026-11-25T03:17:00+00:00")]
    for i, (first, second, when) in enumerate(nights):
        first = first.model_copy(update={"started_at": when})
        run = save(first, tmp_path / "night" / str(i))
        twin = save(second, tmp_path / "twin" / str(i))
        code = main(["compare", str(run), str(twin), "--status", str(run.parent / "aa-pair.json")])
        assert code == i  # the doctored pair fails the gate: a false alarm
        history.archive(run.parent, hist)
    assert all((p / "aa-pair.json").is_file() for p in hist.iterdir())
    out = tmp_path / "trend"
    written = trend.write(hist, out)
    assert out / "trend_aa.csv" in written
    _assert_png(out / "trend_aa.png")
    md = (out / "trend.md").read_text()
    assert "skipped" not in md  # aa-pair.json is no stray JSON
    assert "2 of 2 nights have an A/A pair" in md
    assert "False alarms: 1 of 2 nights (50%)" in md and "1 would have failed the gate" in md
    aa = pd.read_csv(out / "trend_aa.csv")
    assert set(aa["kind"]) == {"shape", "write"} and len(aa) == 2 * (6 + 12)
