"""Find and read the project file, the way pytest and ruff find theirs.

From the working directory upwards, the first `pg-index-bench.toml`, or `pyproject.toml` with a
`[tool.pg-index-bench]` table, is the project. Its paths are relative to its own folder. Every
key is optional (flags fill or override them); an unknown key is an error that names it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench.data.spec_model import TableSpec
from bench.errors import ConfigError

OWN_FILE = "pg-index-bench.toml"
TOOL_TABLE = "pg-index-bench"


class DataSection(BaseModel):
    """[data]: where the rows come from."""

    model_config = ConfigDict(extra="forbid")
    # "module" or "module:object" with row_counts(scale), make_context(seed, scale) and
    # blocks(context, table): the app's own generator (bench/data/generator.py says the rules).
    generator: str | None = None
    rows: int | None = Field(default=None, gt=0)  # rows in all at scale 1 (generic generator)
    tables: dict[str, int] = Field(default_factory=dict)  # rows per table at scale 1
    # A stats.json (`python -m bench stats export`): the generic generator's data shaped like
    # it (bench/data/from_stats.py), its tables' rows from reltuples.
    from_stats: str | None = None
    # Per table and column: rows, value sets, distributions, dependent columns, physical
    # order (README.md, "Data spec"; bench/data/spec.py). Over the stats file where both say.
    spec: dict[str, TableSpec] = Field(default_factory=dict)


class WritesSection(BaseModel):
    """[writes]: the write workloads beside the derived ones."""

    model_config = ConfigDict(extra="forbid")
    folder: str | None = None  # the app's own write workloads, one .sql file each
    copy_tables: list[str] | None = None  # tables that get a COPY workload (default: derived)
    insert_tables: list[str] | None = None  # tables that get single-row INSERTs (default: all)


class ProjectFile(BaseModel):
    """The project table, as written."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    schema_source: str | None = Field(default=None, alias="schema")
    migration: str | None = None
    queries: str | None = None
    claims: str | None = None
    mix: str | None = None
    data: DataSection = Field(default_factory=DataSection)
    writes: WritesSection = Field(default_factory=WritesSection)


def find(start: Path) -> Path | None:
    """The project file that governs `start`: the nearest one at or above it."""
    for folder in [start.resolve(), *start.resolve().parents]:
        own = folder / OWN_FILE
        if own.is_file():
            return own
        py = folder / "pyproject.toml"
        if py.is_file() and TOOL_TABLE in _read(py).get("tool", {}):
            return py
    return None


def read(path: Path) -> ProjectFile:
    """The project table of `path`; one line naming the file and the key for any problem."""
    raw = _read(path)
    table: Any = raw.get("tool", {}).get(TOOL_TABLE, {}) if path.name == "pyproject.toml" else raw
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{TOOL_TABLE}] must be a table")
    try:
        return ProjectFile.model_validate(table)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"])
        what = "unknown key" if e["type"] == "extra_forbidden" \
            else e["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{path}: {where}: {what}") from None


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as TOML ({exc})") from None
