"""results.json on disk: the one loader and saver, and the published JSON Schema.

A file is validated against the model when it is loaded: a malformed or foreign file raises
ResultsError with one line that names the file and the first problem, never a KeyError later.
Saving is atomic (write a temporary file, then rename), so a reader never sees half a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bench.errors import ResultsError
from bench.results.model import SCHEMA_VERSION, RunResults, SweepResults

SCHEMA_FILE = Path(__file__).with_name("results.schema.json")
M = TypeVar("M", bound=BaseModel)


def save(model: BaseModel, path: Path) -> Path:
    """Write `model` as JSON to `path` (a results.json, sweep.json, ...) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(model.model_dump_json(indent=2) + "\n")
    tmp.replace(path)
    return path


def save_results(results: RunResults, out_dir: Path) -> Path:
    return save(results, out_dir / "results.json")


def results_file(path: Path) -> Path:
    """A results.json given as the file itself or as the run's folder."""
    return path / "results.json" if path.is_dir() else path


def read_json(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"cannot read results from {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ResultsError(f"{path}: not a results.json of pg-index-bench (not a JSON object)")
    return raw


def load(path: Path) -> RunResults:
    """The run at `path` (results.json or its folder), validated."""
    file = results_file(path)
    raw = read_json(file)
    if "schema_version" not in raw or "queries" not in raw:
        raise ResultsError(f"{file}: not a results.json of pg-index-bench "
                           "(no 'schema_version' or 'queries')")
    if raw["schema_version"] != SCHEMA_VERSION:
        raise ResultsError(
            f"{file}: schema_version {raw['schema_version']!r} is not {SCHEMA_VERSION}, the "
            "version this harness reads; re-run the benchmark with this harness version")
    return validate(RunResults, raw, file)


def load_sweep(path: Path) -> SweepResults:
    file = path / "sweep.json" if path.is_dir() else path
    return validate(SweepResults, read_json(file), file)


def validate(model: type[M], raw: dict[str, Any], file: Path) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ResultsError(f"{file}: not a valid {file.name}: {describe(exc)}") from None


def describe(exc: ValidationError) -> str:
    """The first validation problem as 'where: what', and how many more there are."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of results.json, generated from the model."""
    schema = RunResults.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (f"results.json of pg-index-bench, schema_version {SCHEMA_VERSION}; "
                             "generated from bench/results/model.py by `python -m bench schema`.")
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
