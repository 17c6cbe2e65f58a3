"""Apply and revert the app's migration, in whichever form it comes, the way production runs it.

* An Alembic revision file: its upgrade()/downgrade() run through Alembic's operations API on
  our own connection, in Alembic's migration transaction (transactional DDL), which an
  `op.get_context().autocommit_block()` commits and reopens, as `alembic upgrade` does: the
  statements inside it (CREATE INDEX CONCURRENTLY) run in autocommit.
* A revision of the app's own Alembic project (its schema source is an alembic.ini), also a
  revision id or a range A..B: through the project's env.py (`alembic upgrade` / `downgrade`),
  with our connection handed to it (`config.attributes["connection"]`).
* A `.sql` file (bench/runner/sql_statements.py): its statements in one transaction, except
  those that cannot run in one (CREATE/DROP INDEX CONCURRENTLY, VACUUM, ...): as in
  production, each of those runs on its own in autocommit, between the transactions of the
  statements around it. Its downgrade is a `-- down` section or `<stem>.down.sql`; a migration
  without one is fine (the migrated twin is dropped anyway): the record says none ran.

Every statement is timed as it runs. apply() checks the catalog before and after: what was
created and dropped, and any index left INVALID (pg_index.indisvalid). A migration that fails
says where, with the server's message, and what it left behind when it was not one
transaction.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import psycopg
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.util import CommandError

from bench.errors import BenchError, ConfigError, MigrationError, first_line
from bench.project.app import App
from bench.results.model import DroppedIndex, MigrationRecord, StatementTiming
from bench.runner import catalog, sql_statements
from bench.runner.provision import Target

Direction = Literal["upgrade", "downgrade"]
Form = Literal["alembic", "alembic project", "sql"]

INVALID_SQL = """
    SELECT c.relname FROM pg_index AS i
    JOIN pg_class AS c ON c.oid = i.indexrelid JOIN pg_class AS t ON t.oid = i.indrelid
    WHERE NOT i.indisvalid AND t.relnamespace = current_schema()::regnamespace
    ORDER BY c.relname
"""


@dataclass
class MigrationRun:
    revision: str
    direction: Direction
    seconds: float
    statements: list[StatementTiming] = field(default_factory=list)
    transactional: bool = True  # every statement ran inside one transaction
    skipped: str | None = None  # why nothing ran


def form_of(migration: Path | App) -> Form:
    if isinstance(migration, App):
        from bench.project.schema import kind

        if migration.migration_range or (kind(migration.schema) == "alembic"
                                         and migration.migration.suffix == ".py"):
            return "alembic project"
        migration = migration.migration
    return "sql" if migration.suffix == ".sql" else "alembic"


def _path(migration: Path | App) -> Path:
    return migration.migration if isinstance(migration, App) else migration


def check(migration: Path | App) -> None:
    """Fail now, before anything is provisioned, on a migration that cannot be read."""
    path = _path(migration)
    if form_of(migration) == "sql":
        sql_statements.load(path)
    else:
        load_migration(path)


def load_migration(path: Path) -> ModuleType:
    if path.suffix != ".py":
        raise MigrationError(f"{path}: not a Python file (a migration is an Alembic revision "
                             "file, a .sql file, or a revision id or range A..B of the app's "
                             "Alembic project)")
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise MigrationError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise MigrationError(f"{path}: cannot be loaded: {type(exc).__name__}: {exc}") from None
    if not callable(getattr(module, "upgrade", None)):
        raise MigrationError(f"{path}: has no upgrade() function")
    return module


# --- timing ---------------------------------------------------------------------------------


def _timing(statement: str, seconds: float, transactional: bool | None) -> list[StatementTiming]:
    """What a statement the migration sent did, timed; none for Alembic's own bookkeeping
    (its version table, the catalog queries it reads)."""
    s = sql_statements.classify(statement)
    text = " ".join(statement.split())
    if s.action == "other":
        if "alembic_version" in text or text.upper().startswith(("SELECT", "SHOW", "SET ")):
            return []
        return [StatementTiming(action="other", seconds=seconds, sql=text,
                                transactional=transactional)]
    return [StatementTiming(action=s.action, index=name, seconds=seconds, sql=text,
                            transactional=transactional) for name in s.indexes or ("",)]


@contextmanager
def _timed(target: Any, into: list[StatementTiming]) -> Iterator[None]:
    """Time every statement sent through `target` (an Engine, or the Engine class for every
    engine, also those an env.py makes of its own)."""
    starts: list[float] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        starts.append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        elapsed = time.perf_counter() - starts.pop()
        autocommit = getattr(getattr(cursor, "connection", None), "autocommit", None)
        into.extend(_timing(statement, elapsed, None if autocommit is None else not autocommit))

    sa.event.listen(target, "before_cursor_execute", before)
    sa.event.listen(target, "after_cursor_execute", after)
    try:
        yield
    finally:
        sa.event.remove(target, "before_cursor_execute", before)
        sa.event.remove(target, "after_cursor_execute", after)


# --- the three forms --------------------------------------------------------------------------


def run_migration(engine: sa.Engine, path: Path, direction: Direction) -> MigrationRun:
    """An Alembic revision file, the way `alembic upgrade` runs one: in Alembic's migration
    transaction, which autocommit_block() commits and leaves, on a connection of `engine`."""
    module = load_migration(path)
    revision = str(getattr(module, "revision", path.stem))
    fn = getattr(module, direction, None)
    if not callable(fn):
        return MigrationRun(revision, direction, 0.0,
                            skipped=f"{path.name} has no {direction}() function")
    timings: list[StatementTiming] = []
    start = time.perf_counter()
    try:
        with _timed(engine, timings), engine.connect() as conn:
            # Not inside a transaction of ours: Alembic's begin_transaction() opens its own.
            ctx = MigrationContext.configure(conn, opts={"transactional_ddl": True})
            with Operations.context(ctx), ctx.begin_transaction():
                fn()
    except sa.exc.DBAPIError as exc:
        raise _failed(path.name, f"{direction}()", exc.statement,
                      first_line(exc.orig if exc.orig else exc)) from None
    except BenchError:
        raise
    except Exception as exc:  # the file's own code failed: a typo, a bad op.* call
        raise _failed(path.name, f"{direction}()", None,
                      f"raised {type(exc).__name__}: {first_line(exc)}") from exc
    return _run(revision, direction, time.perf_counter() - start, timings)


def run_project(engine: sa.Engine, app: App, direction: Direction) -> MigrationRun:
    """A revision (or range) of the app's own Alembic project, through its env.py."""
    from bench.project import alembic_project

    _down, head = alembic_project.migration_revisions(app)
    what = f"{Path(app.schema).name} {direction} " + (
        "..".join(app.migration_range) if app.migration_range else head)
    timings: list[StatementTiming] = []
    start = time.perf_counter()
    try:
        # Every engine: an env.py that makes its own from sqlalchemy.url is timed too.
        with _timed(sa.Engine, timings), engine.connect() as conn:
            alembic_project.migrate(conn, app, engine.url.render_as_string(hide_password=False),
                                    direction)
            conn.commit()
    except sa.exc.DBAPIError as exc:
        raise _failed(app.migration.name, what, exc.statement,
                      first_line(exc.orig if exc.orig else exc)) from None
    except CommandError as exc:
        raise ConfigError(f"{app.schema}: {first_line(exc)}") from None
    except BenchError:
        raise
    except Exception as exc:
        raise _failed(app.migration.name, what, None,
                      f"raised {type(exc).__name__}: {first_line(exc)}") from exc
    return _run(head, direction, time.perf_counter() - start, timings)


def run_sql(target: Target, path: Path, direction: Direction) -> MigrationRun:
    """A .sql migration: its statements in one transaction, each that cannot run in one in
    autocommit on its own (committing the transaction before it, opening one after)."""
    with target.connect(autocommit=True) as conn:
        return _run_sql(lambda q: conn.execute(q), path, direction)


def run_sql_engine(engine: sa.Engine, path: Path, direction: Direction) -> MigrationRun:
    """As run_sql, on a connection of `engine` (whose events then see every statement)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return _run_sql(lambda q: conn.exec_driver_sql(q), path, direction)


def _server_message(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return first_line(orig if orig is not None else exc)


def _run_sql(execute: Any, path: Path, direction: Direction) -> MigrationRun:
    migration = sql_statements.load(path)
    statements = migration.up if direction == "upgrade" else migration.down
    if statements is None:
        return MigrationRun(path.stem, direction, 0.0, skipped=(
            f"{path.name} has no downgrade (no -- down section, no "
            f"{sql_statements.down_file(path).name})"))
    source = path if direction == "upgrade" else (migration.down_path or path)
    timings: list[StatementTiming] = []
    start = time.perf_counter()
    errors = (psycopg.Error, sa.exc.DBAPIError)
    in_transaction = False
    for s in statements:
        if s.transaction_control:
            continue  # the harness opens and closes the transactions
        try:
            if s.transactional and not in_transaction:
                execute("BEGIN")
                in_transaction = True
            elif not s.transactional and in_transaction:
                execute("COMMIT")
                in_transaction = False
            t0 = time.perf_counter()
            execute(s.sql)
            elapsed = time.perf_counter() - t0
        except errors as exc:
            if in_transaction:
                execute("ROLLBACK")
            raise _failed(f"{source.name} line {s.line}", direction, s.sql,
                          _server_message(exc)) from None
        text = " ".join(s.sql.split())
        timings += [StatementTiming(action=s.action, index=name, seconds=elapsed, sql=text,
                                    transactional=s.transactional)
                    for name in (s.indexes or ("",))]
    if in_transaction:
        try:
            execute("COMMIT")
        except errors as exc:  # a deferred constraint
            raise _failed(source.name, direction, "COMMIT", _server_message(exc)) from None
    return _run(path.stem, direction, time.perf_counter() - start, timings)


def _run(revision: str, direction: Direction, seconds: float,
         timings: list[StatementTiming]) -> MigrationRun:
    return MigrationRun(revision, direction, seconds, timings,
                        transactional=all(t.transactional is not False for t in timings))


def _failed(where: str, what: str, statement: str | None, detail: str) -> MigrationError:
    """One line: the file, the statement, the server's message; what it left is added by
    apply(), which knows the catalog before."""
    at = ""
    if statement:
        text = " ".join(statement.split())
        at = f" at `{text if len(text) <= 120 else text[:117] + '...'}`"
    return MigrationError(f"{where} {what} failed{at}: {detail}")


# --- apply: run one way, check the catalog ------------------------------------------------------


def _snapshot(target: Target) -> tuple[list[str], list[catalog.IndexInfo], list[str]]:
    with target.connect(autocommit=True) as conn:
        tables = catalog.app_tables(conn)
        indexes = catalog.list_indexes(conn, tables)
        invalid = [r[0] for r in conn.execute(INVALID_SQL).fetchall()]
    return tables, indexes, invalid


def _left_behind(before: list[catalog.IndexInfo], target: Target) -> str:
    try:
        _tables, after, invalid = _snapshot(target)
    except psycopg.Error:
        return "what it left could not be read; the migrated twin is dropped anyway"
    names_before = {i.name for i in before}
    names_after = {i.name for i in after}
    new = sorted(names_after - names_before)
    gone = sorted(names_before - names_after)
    if not new and not gone and not invalid:
        return "rolled back, nothing changed"
    parts = []
    if new:
        parts.append("left index " + ", ".join(
            f"{n} (INVALID)" if n in invalid else n for n in new))
    if gone:
        parts.append("dropped " + ", ".join(gone))
    stale = [n for n in invalid if n not in new]
    if stale:
        parts.append("INVALID: " + ", ".join(stale))
    return ("not one transaction: " + "; ".join(parts)
            + "; the migrated twin is dropped anyway")


def apply(engine: sa.Engine, target: Target, migration: Path | App,
          direction: Direction) -> MigrationRecord:
    """Run the migration one way and check the catalog agrees with what it did."""
    form = form_of(migration)
    path = _path(migration)
    tables, before, _invalid_before = _snapshot(target)
    try:
        if form == "sql":
            run = run_sql(target, path, direction)
        elif form == "alembic project":
            assert isinstance(migration, App)
            run = run_project(engine, migration, direction)
        else:
            run = run_migration(engine, path, direction)
    except MigrationError as exc:
        raise MigrationError(f"{exc} ({_left_behind(before, target)})") from None
    _tables_after, after, invalid = _snapshot(target)
    if direction == "upgrade" and run.skipped is None:
        with target.connect(autocommit=True) as conn:
            # An index on plain columns needs no new statistics; one on expressions does. Only
            # then ANALYZE, so the migrated twin keeps the planner statistics it shares with
            # its unmigrated twin (ANALYZE samples at random) unless the migration needs new.
            for table in catalog.tables_with_expression_indexes(conn, tables):
                conn.execute(f'ANALYZE "{table}"')
    names_before = {i.name for i in before}
    names_after = {i.name for i in after}
    created_stmt = [t.index for t in run.statements if t.action == "create" and t.index]
    dropped_stmt = [t.index for t in run.statements if t.action == "drop" and t.index]
    # A migration may drop indexes and create others (one that makes another redundant, a
    # replacement under the same name): each statement is checked for what it did, in order.
    final: dict[str, str] = {}
    for t in run.statements:
        if t.index and t.action in ("create", "drop"):
            final[t.index] = t.action
    missing = [n for n in created_stmt if final[n] == "create" and n not in names_after]
    left = [n for n in dropped_stmt if final[n] == "drop" and n in names_after]
    if missing or left:
        raise MigrationError(f"{path.name}: after {direction}, pg_indexes " + "; ".join(
            ([f"lacks: {', '.join(missing)}"] if missing else [])
            + ([f"still has: {', '.join(left)}"] if left else [])))
    created = sorted(names_after - names_before)
    dropped = sorted(names_before - names_after)
    info = {i.name: i for i in before}
    drop_time = {t.index: t.seconds for t in run.statements if t.action == "drop"}
    # What `indexes` always meant: the indexes created (upgrade) or removed (downgrade).
    changed = created if direction == "upgrade" else dropped
    all_tables = tables + [t for t in _tables_after if t not in tables]
    return MigrationRecord(
        revision=run.revision, direction=direction, seconds=run.seconds, indexes=changed,
        index_count=len(changed), statements=run.statements,
        index_counts_before=catalog.index_counts(before, all_tables),
        index_counts_after=catalog.index_counts(after, all_tables),
        form=form, created=created, dropped=dropped,
        dropped_indexes=[DroppedIndex(name=n, table=info[n].table,
                                      size_bytes=info[n].size_bytes,
                                      drop_seconds=drop_time.get(n),
                                      definition=info[n].definition) for n in dropped],
        invalid_indexes=invalid, transactional=run.transactional, skipped=run.skipped,
    )
