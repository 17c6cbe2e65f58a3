"""The app under test, resolved: its schema source, migration, query shapes, write workloads,
claims, workload mix and data, from its project file and the command line (flags win).

The harness knows an app only through this record and the hooks it names; nothing under
bench/ knows a table of any app (tests/fast/test_layout.py proves it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.project import file as project_file


@dataclass(frozen=True)
class App:
    root: Path  # the project's folder: relative paths and hook modules are found from here
    schema: str  # a schema source (bench/project/schema.py): module:object, .sql, .ini, DSN
    migration: Path  # a file: the revision (or the last of a range), or a .sql migration
    queries: Path  # folder of .sql query shapes
    mix: Path | None = None  # the workload mix for --per-index (None: every rate 1)
    claims: Path | None = None  # None: <migration stem>.claims.toml beside it, if any
    generator: str | None = None  # the app's own data generator hook; None: the generic one
    rows: int | None = None  # rows in all at scale 1 (generic generator)
    table_rows: Mapping[str, int] = field(default_factory=dict)  # rows per table at scale 1
    writes: Path | None = None  # folder of the app's own write workloads (.sql)
    copy_tables: tuple[str, ...] | None = None  # None: derived from the schema
    insert_tables: tuple[str, ...] | None = None  # None: every table
    project_file: Path | None = None  # where it was read from (None: flags only)
    # A range A..B of the app's Alembic history (schema an alembic.ini): the schema is the
    # history upgraded to A, the migration is A -> B (`migration` is B's file). None: the
    # migration is `migration` alone.
    migration_range: tuple[str, str] | None = None
    from_stats: Path | None = None  # stats.json the generic generator's data is shaped like
    # A read-only connection to the source of `from_stats` (flag only, never the project
    # file): each query shape's plan there against the plan on the data made here.
    stats_dsn: str | None = None
    # The data spec ([data.spec], bench/data/spec_check.DataSpec) of the project file, if any.
    data_spec: Any = None

    @property
    def name(self) -> str:
        return self.root.name


def resolve(cwd: Path | None = None, *, schema: str | None = None,
            migration: Path | None = None, queries: Path | None = None,
            mix: Path | None = None, rows: int | None = None,
            project: Path | None = None, stats: Path | None = None) -> App:
    """The app governed by the project file found from `cwd` upwards (or `project`), with the
    command line's values over it. Paths from the command line are relative to `cwd`, those
    of the project file to its folder."""
    cwd = (cwd or Path.cwd()).resolve()
    path = project if project is not None else project_file.find(cwd)
    if project is not None and not project.is_file():
        raise ConfigError(f"project file not found: {project}")
    spec = project_file.read(path) if path else project_file.ProjectFile()
    root = path.parent.resolve() if path else cwd

    def at(value: str | None) -> Path | None:
        return (root / value).resolve() if value else None

    def flag(value: Path | None) -> Path | None:
        return (cwd / value).resolve() if value else None

    where = f" (project file {path})" if path else ""
    schema_source = schema or (_source(spec.schema_source, root) if spec.schema_source else None)
    migration_path = flag(migration) or at(spec.migration)
    queries_path = flag(queries) or at(spec.queries)
    missing = [name for name, value in (("--schema", schema_source),
                                        ("--migration", migration_path),
                                        ("--queries", queries_path)) if value is None]
    if missing:
        raise ConfigError(
            f"no {', '.join(missing)} given{where or ' and no project file found'}: pass "
            f"{' '.join(m + ' ...' for m in missing)}, or write a project file "
            f"({project_file.OWN_FILE}, or [tool.pg-index-bench] in pyproject.toml; "
            "`pg-index-bench init` drafts one)")
    assert schema_source and migration_path and queries_path
    final_schema = _source(schema, cwd) if schema else schema_source
    migration_range = None
    if not migration_path.exists() and final_schema.endswith(".ini"):
        # A revision id or a range A..B of the app's Alembic history.
        from bench.project import alembic_project

        text = str(migration) if migration is not None else str(spec.migration)
        migration_path, migration_range = alembic_project.locate(Path(final_schema), text)
    for label, p in (("migration", migration_path), ("query folder", queries_path)):
        if not p.exists():
            raise ConfigError(f"{label} not found: {p}{where}")
    if not queries_path.is_dir():
        raise ConfigError(f"query folder not found: {queries_path}{where}")
    w = spec.writes
    return App(
        root=root, schema=final_schema, migration=migration_path,
        migration_range=migration_range, queries=queries_path,
        mix=flag(mix) or at(spec.mix), claims=at(spec.claims),
        generator=spec.data.generator, rows=rows or spec.data.rows,
        table_rows=dict(spec.data.tables), writes=at(w.folder),
        copy_tables=tuple(w.copy_tables) if w.copy_tables is not None else None,
        insert_tables=tuple(w.insert_tables) if w.insert_tables is not None else None,
        project_file=path, from_stats=_stats_path(flag(stats) or at(spec.data.from_stats),
                                                   where),
        data_spec=_data_spec(spec, path))


def _data_spec(spec: project_file.ProjectFile, path: Path | None) -> Any:
    if not spec.data.spec or path is None:
        return None
    from bench.data.spec_check import DataSpec

    return DataSpec(spec.data.spec, str(path))


def _stats_path(path: Path | None, where: str) -> Path | None:
    if path is not None and not path.is_file():
        raise ConfigError(f"stats file not found: {path}{where}")
    return path


def _source(value: str, base: Path) -> str:
    """A schema source with a file path made absolute; a module path or URL as it is."""
    if "://" in value or (":" in value and not value.endswith((".sql", ".ini"))):
        return value
    candidate = base / value
    return str(candidate.resolve()) if value.endswith((".sql", ".ini")) or candidate.exists() \
        else value


_default: App | None = None


def default_app() -> App:
    """The app of the working directory's project file (cached: read once per process)."""
    global _default
    if _default is None:
        _default = resolve()
    return _default
