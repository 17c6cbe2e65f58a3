"""`python -m bench compare`: exit 1 on a regression, 0 if none, 2 and one line on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from results_factory import abba, results_doc, save

from bench.cli import main


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return save(results_doc(seed=1), tmp_path / "base")


def _abba(tmp_path: Path, new: dict[str, Any]) -> tuple[Path, Path]:
    """base/1, base/2 and new/1, new/2: two runs per side, interleaved in time."""
    b, n = abba(new=new)
    for i, (doc_b, doc_n) in enumerate(zip(b, n, strict=True), 1):
        save(doc_b, tmp_path / "abba" / "base" / str(i))
        save(doc_n, tmp_path / "abba" / "new" / str(i))
    return tmp_path / "abba" / "base", tmp_path / "abba" / "new"


def test_a_regression_exits_1_and_writes_the_markdown(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    base, new = _abba(tmp_path, {"after_ms": {"platform_timeline": 2.0}})
    out = tmp_path / "comment.md"
    status = tmp_path / "status.json"
    assert main(["compare", str(base), str(new), "--out", str(out), "--status",
                 str(status)]) == 1
    printed = capsys.readouterr()
    assert "❌ **Regression: `platform_timeline`" in printed.out
    assert printed.err.strip() == "regression: platform_timeline"
    assert out.read_text() in printed.out
    decision = json.loads(status.read_text())
    assert decision["exit_code"] == 1 and decision["regressions"] == ["platform_timeline"]
    assert decision["timing_confirmed"] is True


def test_one_run_per_side_asks_for_confirmation(base: Path, tmp_path: Path) -> None:
    new = save(results_doc({"platform_timeline": 2.0}, seed=2), tmp_path / "new")
    status = tmp_path / "status.json"
    assert main(["compare", str(base), str(new), "--status", str(status)]) == 0
    decision = json.loads(status.read_text())
    assert decision["unconfirmed"] == ["platform_timeline"] and decision["exit_code"] == 0


def test_identical_results_exit_0(base: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["compare", str(base), str(base)]) == 0
    assert "No query regression" in capsys.readouterr().out


def test_the_threshold_is_configurable(tmp_path: Path) -> None:
    base, new = _abba(tmp_path, {"after_ms": {"platform_timeline": 0.65}})  # +30%
    assert main(["compare", str(base), str(new)]) == 1
    assert main(["compare", str(base), str(new), "--threshold", "50"]) == 0


def test_repeated_runs_in_subfolders_are_pooled(tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    base, new = _abba(tmp_path, {"after_ms": {"fk_join": 1.5}})
    assert main(["compare", str(base), str(new)]) == 1
    assert "(2 runs)" in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, "not json", "[1, 2]", '{"schema_version": 99, '
                                                                 '"queries": []}'])
def test_bad_input_exits_2_with_one_line(base: Path, tmp_path: Path, content: str | None,
                                         capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main(["compare", str(base), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_an_empty_folder_is_bad_input(base: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(base), str(tmp_path / "empty")]) == 2
    assert "no results.json" in capsys.readouterr().err


def test_a_run_without_writes_still_compares(base: Path, tmp_path: Path) -> None:
    doc = results_doc(seed=2, writes={"insert:leads": 20.0})
    new = save(doc, tmp_path / "new")
    assert main(["compare", str(base), str(new), "--fail-on-write-regression"]) == 0
    assert json.loads(new.read_text())["writes"]
