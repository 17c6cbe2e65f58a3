"""The result model: results.json round-trips, old files load, bad files give one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import ResultsError
from bench.results import store
from bench.results.model import RunResults, migration_name

FIXTURES = Path(__file__).parent / "fixtures"
RUNS = ["scale1", "small1", "small2"]  # real runs, written before the typed model existed


@pytest.mark.parametrize("run", RUNS)
def test_a_file_written_before_the_model_loads(run: str) -> None:
    results = store.load(FIXTURES / f"{run}.results.json")
    assert results.complete and len(results.queries) == 6
    assert results.disk is not None and len(results.disk.created) == 19  # the `indexes` key
    assert results.writes is not None and len(results.writes.workloads) == 12
    # It measured migration 007, so its claims are filled in from that migration's claims file.
    assert results.claims is not None and results.claims.new_indexes == 19


@pytest.mark.parametrize("run", RUNS)
def test_round_trip_is_lossless(run: str, tmp_path: Path) -> None:
    results = store.load(FIXTURES / f"{run}.results.json")
    store.save_results(results, tmp_path)
    again = store.load(tmp_path)
    assert again == results
    assert again.model_dump_json() == results.model_dump_json()


def test_the_output_contract_keys_are_kept(tmp_path: Path) -> None:
    store.save_results(store.load(FIXTURES / "small1.results.json"), tmp_path)
    raw = json.loads((tmp_path / "results.json").read_text())
    q = raw["queries"][0]
    assert {"name", "before", "after", "speedup", "speedup_ci95"} <= q.keys()
    assert {"median_ms", "rounds", "indexes_used", "plan"} <= q["before"].keys()
    w = raw["writes"]["workloads"][0]
    assert {"name", "overhead_pct", "overhead_ci95"} <= w.keys()
    created = raw["indexes"]["created"][0]
    assert {"name", "table", "definition", "size_bytes", "build_seconds"} <= created.keys()


def test_the_published_schema_is_generated_from_the_model() -> None:
    assert store.SCHEMA_FILE.read_text() == store.json_schema_text(), (
        "bench/results/results.schema.json is stale: run `python -m bench schema --out "
        "bench/results/results.schema.json`")
    schema = json.loads(store.SCHEMA_FILE.read_text())
    assert "indexes" in schema["properties"] and "disk" not in schema["properties"]


def _write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "results.json"
    path.write_text(content)
    return path


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", r"cannot read results from .*results\.json: Expecting property name"),
    ("[1, 2]", r"not a results\.json of pg-index-bench \(not a JSON object\)"),
    ('{"benchmarks": []}', r"not a results\.json of pg-index-bench \(no 'schema_version'"),
    ('{"schema_version": 99, "queries": []}', r"schema_version 99 is not 1"),
    ('{"schema_version": 1, "queries": []}', r"not a valid results\.json: started_at: Field "
                                             r"required \(and 2 more problems\)"),
])
def test_a_malformed_or_foreign_file_is_one_clear_error(tmp_path: Path, content: str,
                                                        message: str) -> None:
    with pytest.raises(ResultsError, match=message):
        store.load(_write(tmp_path, content))


def test_a_wrong_type_deep_inside_names_its_place(tmp_path: Path) -> None:
    raw = json.loads((FIXTURES / "small1.results.json").read_text())
    raw["writes"]["workloads"][3]["overhead_pct"] = "a lot"
    with pytest.raises(ResultsError, match=r"writes\.workloads\.3\.overhead_pct: Input should be "
                                           r"a valid number"):
        store.load(_write(tmp_path, json.dumps(raw)))


@pytest.mark.parametrize("command", ["report", "archive", "trend"])
def test_commands_refuse_a_bad_file_with_exit_2_and_one_line(
        tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, '{"schema_version": 1, "queries": [{"name": 3}]}')
    args = [command, str(path)] + ([str(tmp_path / "hist")] if command == "archive" else [])
    if command == "trend":
        args = [command, str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_migration_names_come_from_the_migration_file() -> None:
    assert migration_name("007_add_comprehensive_database_indexes.py") == "migration 007"
    assert migration_name("other.py", "abc123") == "migration abc123"
    assert migration_name("other.py") == "migration other"


def test_the_model_reads_as_typed_records() -> None:
    results = store.load(FIXTURES / "scale1.results.json")
    assert isinstance(results, RunResults)
    fk = results.queries[0]
    assert fk.before and fk.after and fk.speedup and fk.claimed
    assert fk.speedup == pytest.approx((fk.before.median_ms or 0) / (fk.after.median_ms or 1))
    insert = results.writes.workloads[0] if results.writes else None
    assert insert and insert.verdict == "exceeds" and insert.claimed_pct == (3.0, 5.0)
