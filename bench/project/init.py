"""`pg-index-bench init`: draft a commented project file from what the folder holds.

It looks, from the working directory down (skipping virtualenvs, caches and VCS folders), for
an `alembic.ini` (the schema is the app's history; the migration its newest revision), else a
module defining SQLAlchemy models (a `DeclarativeBase` subclass or `declarative_base()`), else a
`.sql` file with CREATE TABLE (a schema dump), else the --dsn database; a `.sql` file with
CREATE INDEX and nothing else as the migration; a folder of `.sql` files with `-- param` lines
as the query shapes. What it cannot find is left commented out, with what to put there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bench.errors import ConfigError
from bench.project.file import OWN_FILE

SKIP = {".git", ".hg", ".venv", "venv", "env", "node_modules", "__pycache__", ".mypy_cache",
        ".pytest_cache", ".ruff_cache", "build", "dist", "site-packages", "reports"}
_MODELS = re.compile(r"^class\s+(\w+)\s*\(\s*DeclarativeBase\s*\)|^(\w+)\s*=\s*declarative_base\(",
                     re.M)
_CREATE_TABLE = re.compile(r"\bCREATE\s+TABLE\b", re.I)
_CREATE_INDEX = re.compile(r"\b(CREATE|DROP)\s+(UNIQUE\s+)?INDEX\b", re.I)
_PARAM = re.compile(r"^--\s*param\s+\w+\s*:", re.M)


def _files(root: Path, pattern: str) -> Iterator[Path]:
    for path in sorted(root.rglob(pattern)):
        if not SKIP.intersection(path.relative_to(root).parts[:-1]):
            yield path


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:200_000]
    except OSError:
        return ""


def draft(root: Path, dsn: str | None = None) -> tuple[str, list[str]]:
    """The project file's text and what was found (one line each)."""
    found: list[str] = []
    schema = migration = queries = None
    ini = next(_files(root, "alembic.ini"), None)
    if ini:
        schema = str(ini.relative_to(root))
        versions = sorted(_files(ini.parent, "versions/*.py"), key=lambda p: p.stat().st_mtime)
        if versions:
            migration = str(versions[-1].relative_to(root))
        found.append(f"an Alembic project: {schema}")
    if schema is None:
        for path in _files(root, "*.py"):
            m = _MODELS.search(_read(path))
            if m:
                module = ".".join(path.relative_to(root).with_suffix("").parts)
                schema = f"{module}:{m.group(1) or m.group(2)}"
                found.append(f"SQLAlchemy models: {schema}")
                break
    sql_files = list(_files(root, "*.sql"))
    if schema is None:
        dump = next((p for p in sql_files if _CREATE_TABLE.search(_read(p))), None)
        if dump:
            schema = str(dump.relative_to(root))
            found.append(f"a schema file: {schema}")
    if schema is None and dsn:
        schema = dsn
        found.append("the --dsn database (its schema only is copied, read-only)")
    if migration is None:
        index_only = [p for p in sql_files if _CREATE_INDEX.search(_read(p))
                      and not _CREATE_TABLE.search(_read(p))]
        if index_only:
            migration = str(index_only[-1].relative_to(root))
    if migration:
        found.append(f"a migration: {migration}")
    shapes = {p.parent for p in sql_files if _PARAM.search(_read(p))}
    if shapes:
        queries = str(sorted(shapes, key=lambda d: (-len(list(d.glob("*.sql"))), str(d)))[0]
                      .relative_to(root)) or "."
        found.append(f"query shapes in {queries}/")
    return _text(schema, migration, queries), found


def _line(key: str, value: str | None, hint: str) -> str:
    return f'{key} = "{value}"' if value else f'# {key} = "{hint}"   # not found: set it'


def _text(schema: str | None, migration: str | None, queries: str | None) -> str:
    return "\n".join([
        "# pg-index-bench project file: what `pg-index-bench run` measures here. Paths are",
        "# relative to this file; --schema, --migration, --queries, --mix and --rows override.",
        "",
        "# The schema before the migration: package.module:Base (SQLAlchemy models), a .sql",
        "# file (pg_dump --schema-only), alembic.ini (your Alembic history, up to the",
        "# migration's down_revision), or a postgresql:// URL (read only; mind the password).",
        _line("schema", schema, "app.models:Base"),
        "# The migration to measure: an Alembic revision file or id, or a .sql file.",
        _line("migration", migration, "migrations/0042_add_indexes.sql"),
        "# The query shapes: one .sql file each; `-- param NAME: <SQL of the value pool>`",
        "# lines, then the query with :NAME parameters.",
        _line("queries", queries, "bench_queries"),
        "# Calls per second per shape and rows per second per write workload (for --per-index",
        "# and deploy): [reads] shape = 20.0, [writes] \"insert:orders\" = 5.0",
        '# mix = "workload_mix.toml"',
        "",
        "[data]",
        "# Rows in all at --scale 1, spread over the tables by their foreign keys; or rows",
        "# per table; or your own generator (a module with row_counts, make_context, blocks).",
        "# rows = 1000000",
        "# tables = { orders = 500000, customers = 50000 }",
        '# generator = "app.bench_data"',
        "",
        "[writes]",
        "# Your own write workloads, one .sql file each (-- table:, -- rows:, :id, :n).",
        '# folder = "bench_writes"',
        "# Tables that get a COPY workload (default: every table with inserts).",
        "# copy_tables = []",
        "",
    ])


def write(root: Path, dsn: str | None, force: bool) -> tuple[Path, list[str]]:
    target = root / OWN_FILE
    if target.exists() and not force:
        raise ConfigError(f"{target} exists already; pass --force to replace it")
    text, found = draft(root, dsn)
    target.write_text(text, encoding="utf-8")
    return target, found
