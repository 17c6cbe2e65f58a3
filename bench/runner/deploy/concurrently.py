"""The migration with CREATE INDEX CONCURRENTLY: derived from the migration file, offered as a
ready Alembic revision, run through Alembic, and its known failure reproduced.

The statements come from Alembic itself: the file's upgrade() and downgrade() run in Alembic's
offline mode (`as_sql`), which renders each operation as the SQL it would send. Every CREATE
INDEX becomes CREATE INDEX CONCURRENTLY IF NOT EXISTS, every DROP INDEX becomes DROP INDEX
CONCURRENTLY IF EXISTS, each run on its own inside `op.get_context().autocommit_block()` (a
concurrent build cannot run inside a transaction block). A migration that does anything else
is refused: only index builds can be made concurrent this way.

A .sql migration's statements come from the file (bench.runner.sql_statements); its variant is
a .sql file of the same CREATE INDEX statements rewritten CONCURRENTLY (and a `-- down`
section), run statement by statement in autocommit, as the main run runs a .sql migration.
"""

from __future__ import annotations

import re
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from psycopg import sql

from bench.errors import MigrationError, first_line
from bench.results.deploy import InvalidIndexCase
from bench.runner import sql_statements
from bench.runner.migrate import Direction, load_migration, run_sql_engine
from bench.runner.provision import Target

CREATE_INDEX = re.compile(
    r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(IF\s+NOT\s+EXISTS\s+)?"
    r"(\"?[\w$]+\"?)\s+ON\s+(?:ONLY\s+)?(\"?[\w$]+\"?(?:\.\"?[\w$]+\"?)?)", re.IGNORECASE)
_DROP = re.compile(
    r"^\s*DROP\s+INDEX\s+(CONCURRENTLY\s+)?(IF\s+EXISTS\s+)?(\"?[\w$.]+\"?)\s*$", re.IGNORECASE)

# A report's transaction left open (idle in transaction) while the index builds: it holds a
# snapshot, and CREATE INDEX CONCURRENTLY waits for every transaction older than its own.


def holder_statements(table: str) -> tuple[str, str]:
    """What the long transaction does before it sits idle: it reads the index's table (any
    snapshot older than the build makes the build wait)."""
    return ("BEGIN ISOLATION LEVEL REPEATABLE READ",
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)).as_string())
INVALID_SQL = ("SELECT c.relname FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
               "WHERE NOT i.indisvalid")


class _Statements:
    """An output buffer for Alembic's offline mode that keeps each statement apart."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def write(self, text: str) -> None:
        text = text.strip()
        if text:
            self.items.append(text.removesuffix(";").strip())

    def flush(self) -> None:
        pass


def offline_sql(path: Path, direction: Direction) -> list[str]:
    """The SQL statements the migration's upgrade() or downgrade() sends, as Alembic renders
    them without a database."""
    module = load_migration(path)
    out = _Statements()
    ctx = MigrationContext.configure(dialect_name="postgresql",
                                     opts={"as_sql": True, "output_buffer": out})
    try:
        with Operations.context(ctx):
            getattr(module, direction)()
    except Exception as exc:
        raise MigrationError(f"{path.name} {direction}() cannot be rendered as SQL: "
                             f"{type(exc).__name__}: {first_line(exc)}") from None
    # Transaction control (an autocommit_block() renders as COMMIT ... BEGIN) is not a step.
    return [s for s in out.items if s.upper() not in ("BEGIN", "COMMIT", "BEGIN TRANSACTION")]


def unquote(name: str) -> str:
    return name.replace('"', "")


def is_sql(path: Path) -> bool:
    return path.suffix == ".sql"


def _sql_file_statements(path: Path, direction: Direction) -> list[str] | None:
    """A .sql migration's statements (bench.runner.sql_statements), BEGIN and COMMIT left out;
    None for a downgrade it does not have."""
    migration = sql_statements.load(path)
    found = migration.up if direction == "upgrade" else migration.down
    if found is None:
        return None
    return [s.sql for s in found if not s.transaction_control]


def _statements(path: Path, direction: Direction) -> list[str] | None:
    return _sql_file_statements(path, direction) if is_sql(path) \
        else offline_sql(path, direction)


def create_statements(path: Path) -> list[tuple[str, str, str]]:
    """(index, table, CREATE INDEX CONCURRENTLY IF NOT EXISTS ...) per index the upgrade
    builds: Alembic's rendering of upgrade(), or a .sql file's statements."""
    out = []
    what = "the file" if is_sql(path) else "its upgrade()"
    for stmt in _statements(path, "upgrade") or []:
        m = CREATE_INDEX.match(stmt)
        if not m:
            raise MigrationError(
                f"{path.name}: CONCURRENTLY can be derived only for a migration that creates "
                f"indexes; {what} also runs: {' '.join(stmt.split())[:100]}")
        head = "CREATE UNIQUE INDEX" if m.group(1) else "CREATE INDEX"
        rest = stmt[m.start(4):]
        out.append((unquote(m.group(4)), unquote(m.group(5)).split(".")[-1],
                    " ".join(f"{head} CONCURRENTLY IF NOT EXISTS {rest}".split())))
    if not out:
        raise MigrationError(f"{path.name}: {'it' if is_sql(path) else 'upgrade()'} creates "
                             "no index")
    return out


def drop_statements(path: Path) -> list[str]:
    """DROP INDEX CONCURRENTLY IF EXISTS ... per index the downgrade drops; a .sql migration
    without a downgrade gets one that drops what it creates, last first."""
    found = _statements(path, "downgrade")
    if found is None:
        return [f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'
                for name, _table, _ddl in reversed(create_statements(path))]
    out = []
    for stmt in found:
        m = _DROP.match(stmt)
        if not m:
            raise MigrationError(
                f"{path.name}: CONCURRENTLY can be derived only for a downgrade that drops "
                f"indexes; it also runs: {' '.join(stmt.split())[:100]}")
        out.append(f"DROP INDEX CONCURRENTLY IF EXISTS {m.group(3)}")
    return out


def revision_source(path: Path) -> str:
    """A ready Alembic revision file: the migration with every index built concurrently."""
    module = load_migration(path)
    creates, drops = create_statements(path), drop_statements(path)
    revision = getattr(module, "revision", path.stem)
    down = getattr(module, "down_revision", None)
    doc = (module.__doc__ or "").strip().splitlines()
    title = doc[0].rstrip(".") if doc else f"Migration {revision}"
    indexes = "\n".join(f"    ({name!r},\n     {ddl!r})," for name, _table, ddl in creates)
    drop_lines = "\n".join(f"    {d!r}," for d in drops)
    about = textwrap.fill(
        f"Generated by pg-index-bench (python -m bench deploy) from {path.name}: the same "
        "indexes, each built with CREATE INDEX CONCURRENTLY in its own transaction, outside "
        "Alembic's migration transaction (an autocommit block), so INSERT, UPDATE and DELETE "
        f"on the tables go on while they build. It replaces {path.name} (same revision id).",
        width=96)
    failure = textwrap.fill(
        "A concurrent build waits for every transaction older than itself. If it fails "
        "meanwhile (a lock_timeout or statement_timeout, a deadlock, a cancel), PostgreSQL "
        "leaves the index behind INVALID: no query uses it, every write still updates it, and "
        "CREATE INDEX ... IF NOT EXISTS skips it. Running upgrade() again drops such a leftover "
        "(DROP INDEX CONCURRENTLY) and builds it anew. Set no lock_timeout for this migration: "
        "its waiting blocks no write.", width=96)
    return f'''"""{title} (CREATE INDEX CONCURRENTLY).

{about}

{failure}

Revision ID: {revision}
Revises: {down}
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = {getattr(module, "branch_labels", None)!r}
depends_on = {getattr(module, "depends_on", None)!r}

# (index, statement) in the order of the original upgrade().
INDEXES = [
{indexes}
]

# In the order of the original downgrade().
DROPS = [
{drop_lines}
]

_INVALID = sa.text("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)")


def upgrade() -> None:
    context = op.get_context()
    with context.autocommit_block():
        for name, create in INDEXES:
            if not context.as_sql and op.get_bind().execute(_INVALID, {{"name": name}}).scalar():
                op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{{name}}"')
            op.execute(create)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for drop in DROPS:
            op.execute(drop)
'''


def sql_source(path: Path) -> str:
    """A ready .sql file: the migration's CREATE INDEX statements rewritten CONCURRENTLY, each
    of which runs on its own (outside a transaction block), and a `-- down` section."""
    creates, drops = create_statements(path), drop_statements(path)
    about = textwrap.fill(
        f"Generated by pg-index-bench (python -m bench deploy) from {path.name}: the same "
        "indexes, each built with CREATE INDEX CONCURRENTLY, which cannot run inside a "
        "transaction block: run this file without BEGIN/COMMIT around it (psql -f runs each "
        "statement on its own), so INSERT, UPDATE and DELETE on the tables go on while they "
        f"build. It replaces {path.name}.", width=93)
    failure = textwrap.fill(
        "A concurrent build waits for every transaction older than itself. If it fails "
        "meanwhile (a lock_timeout or statement_timeout, a deadlock, a cancel), PostgreSQL "
        "leaves the index behind INVALID: no query uses it, every write still updates it, and "
        "IF NOT EXISTS skips it when the file runs again. Find it with: SELECT indexrelid::"
        "regclass FROM pg_index WHERE NOT indisvalid; drop it with DROP INDEX CONCURRENTLY "
        "IF EXISTS <name>; then run the file again.", width=93)
    comment = "\n".join(f"-- {ln}".rstrip() for ln in [*about.splitlines(), "",
                                              *failure.splitlines()])
    return (comment + "\n\n" + "".join(f"{ddl};\n" for _name, _table, ddl in creates)
            + "\n-- down\n" + "".join(f"{d};\n" for d in drops))


def write_revision(path: Path, out_dir: Path) -> Path:
    """The CONCURRENTLY variant of the migration in `out_dir`: an Alembic revision for an
    Alembic migration, a .sql file for a .sql one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if is_sql(path):
        target = out_dir / f"{path.stem}_concurrently.sql"
        target.write_text(sql_source(path))
    else:
        target = out_dir / f"{path.stem}_concurrently.py"
        target.write_text(revision_source(path))
    return target


def run_revision(engine: sa.Engine, path: Path, direction: Direction) -> float:
    """Run a revision file the way `alembic upgrade` does (a migration transaction, which
    autocommit_block() commits and leaves), or a .sql file statement by statement as the
    main run does; its duration in seconds."""
    if is_sql(path):
        return run_sql_engine(engine, path, direction).seconds
    module = load_migration(path)
    start = time.perf_counter()
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn)
            with Operations.context(ctx), ctx.begin_transaction():
                getattr(module, direction)()
    except sa.exc.DBAPIError as exc:
        detail = first_line(exc.orig if exc.orig else exc)
        raise MigrationError(f"{path.name} {direction}() failed: {detail}") from None
    return time.perf_counter() - start


def invalid_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    return [r[0] for r in conn.execute(INVALID_SQL).fetchall()]


def _valid(conn: psycopg.Connection[Any], index: str) -> bool | None:
    row = conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                       (index,)).fetchone()
    return None if row is None else bool(row[0])


@dataclass(frozen=True)
class Failure:
    """The first half of the INVALID-index case: what the failing build got."""

    index: str
    table: str
    create: str
    lock_timeout_ms: float
    error: str | None
    failed_after_s: float
    invalid: bool
    rerun_skipped: bool | None


def invalid_index_case(target: Target, engine: sa.Engine, revision: Path, index: str,
                       table: str, create: str, lock_timeout_ms: float) -> InvalidIndexCase:
    """Reproduce the failure on one index the revision builds (it exists when this starts):
    drop it, hold a transaction open, build it concurrently under lock_timeout, and see it
    fail and stay INVALID; show that IF NOT EXISTS skips it; then run the revision's upgrade()
    again, which drops the leftover and builds it."""
    return remedy(target, engine, revision,
                  fail_build(target, index, table, create, lock_timeout_ms))


def fail_build(target: Target, index: str, table: str, create: str,
               lock_timeout_ms: float) -> Failure:
    """The failing half: mostly waiting for lock_timeout (no CPU), on a database of its own."""
    with target.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(
            sql.Identifier(index)))
    holder = psycopg.connect(target.conninfo, autocommit=True,
                             application_name="pgib-long-transaction")
    error: str | None = None
    try:
        for stmt in holder_statements(table):
            holder.execute(stmt)
        with target.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("SET lock_timeout = {}").format(
                sql.Literal(f"{lock_timeout_ms:g}ms")))
            start = time.perf_counter()
            try:
                conn.execute(create)
            except psycopg.errors.LockNotAvailable as exc:  # what lock_timeout raises
                error = first_line(exc)
            except psycopg.errors.QueryCanceled as exc:  # a statement_timeout, if one is set
                error = first_line(exc)
            failed_after = time.perf_counter() - start
            invalid = _valid(conn, index) is False
            rerun_skipped = None
            if invalid:
                conn.execute(create)  # IF NOT EXISTS: a NOTICE, and nothing else
                rerun_skipped = _valid(conn, index) is False
    finally:
        holder.close()  # the long transaction ends (rolled back)
    return Failure(index, table, create, lock_timeout_ms, error, failed_after, invalid,
                   rerun_skipped)


def remedy(target: Target, engine: sa.Engine, revision: Path, failure: Failure
           ) -> InvalidIndexCase:
    """The remedy half: the revision's upgrade() again (it drops the INVALID leftover and
    builds the index), timed; the whole case as a record."""
    index, table, create = failure.index, failure.table, failure.create
    remedy_s = None
    if failure.invalid:
        start = time.perf_counter()
        if is_sql(revision):  # the file's comment says: drop the leftover, run it again
            with target.connect(autocommit=True) as conn:
                conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(
                    sql.Identifier(index)))
        run_revision(engine, revision, "upgrade")
        remedy_s = time.perf_counter() - start
    with target.connect(autocommit=True) as conn:
        valid_after = _valid(conn, index)
    return InvalidIndexCase(
        index=index, table=table, database=target.dbname,
        holder_sql="; ".join(holder_statements(table)) + ";",
        lock_timeout_ms=failure.lock_timeout_ms, error=failure.error,
        failed_after_s=round(failure.failed_after_s, 3) if failure.error else None,
        invalid_detected=failure.invalid, detect_sql=INVALID_SQL,
        rerun_skipped=failure.rerun_skipped,
        remedy_sql=[f'DROP INDEX CONCURRENTLY IF EXISTS "{index}";', f"{create};"],
        remedy_seconds=round(remedy_s, 3) if remedy_s is not None else None,
        valid_after_remedy=valid_after if failure.invalid else None,
    )
