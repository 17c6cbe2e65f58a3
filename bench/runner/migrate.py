"""Apply and revert an Alembic migration file through Alembic's operations API.

No alembic.ini or env.py is needed: the file's upgrade()/downgrade() run against a
MigrationContext on our own connection, inside one transaction, so a failing index rolls the
whole migration back. Each CREATE/DROP INDEX statement is timed as it runs.
"""

from __future__ import annotations

import importlib.util
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from bench.errors import MigrationError, first_line
from bench.results.model import MigrationRecord, StatementTiming
from bench.runner import catalog
from bench.runner.provision import Target

_INDEX_STMT = re.compile(
    r"^\s*(CREATE|DROP)\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"
    r"\"?([\w$]+)\"?",
    re.IGNORECASE,
)


Direction = Literal["upgrade", "downgrade"]


@dataclass
class MigrationRun:
    revision: str
    direction: Direction
    seconds: float
    statements: list[StatementTiming] = field(default_factory=list)


def load_migration(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise MigrationError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise MigrationError(f"{path}: cannot be loaded: {type(exc).__name__}: {exc}") from None
    for fn in ("upgrade", "downgrade"):
        if not callable(getattr(module, fn, None)):
            raise MigrationError(f"{path}: has no {fn}() function")
    return module


def run_migration(engine: sa.Engine, path: Path, direction: Direction) -> MigrationRun:
    """Run upgrade() or downgrade() of the migration file in a single transaction."""
    module = load_migration(path)
    revision = str(getattr(module, "revision", path.stem))
    timings: list[StatementTiming] = []
    starts: list[float] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        starts.append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        elapsed = time.perf_counter() - starts.pop()
        m = _INDEX_STMT.match(statement)
        if m:
            action = "create" if m.group(1).lower() == "create" else "drop"
            timings.append(StatementTiming(action=action, index=m.group(2), seconds=elapsed,
                                           sql=" ".join(statement.split())))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    start = time.perf_counter()
    current = ""
    try:
        with engine.begin() as conn:
            ctx = MigrationContext.configure(conn)
            with Operations.context(ctx):
                current = direction
                getattr(module, direction)()
    except sa.exc.DBAPIError as exc:
        failing = _INDEX_STMT.match(exc.statement or "")
        what = f"index {failing.group(2)}" if failing else "a statement"
        detail = first_line(exc.orig if exc.orig else exc)
        raise MigrationError(
            f"{path.name} {current}() failed at {what}: {detail} (rolled back, nothing changed)"
        ) from None
    except Exception as exc:  # the file's own code failed: a typo, a bad op.* call
        raise MigrationError(
            f"{path.name} {current or direction}() raised {type(exc).__name__}: {first_line(exc)} "
            f"(rolled back, nothing changed)"
        ) from exc
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    return MigrationRun(revision, direction, time.perf_counter() - start, timings)


def apply(engine: sa.Engine, target: Target, path: Path, direction: Direction) -> MigrationRecord:
    """Run the migration one way and check the catalog agrees with what it did."""
    with target.connect() as conn:
        tables = catalog.app_tables(conn)
        before = catalog.list_indexes(conn, tables)
    run = run_migration(engine, path, direction)
    with target.connect(autocommit=True) as conn:
        after = catalog.list_indexes(conn, tables)
        if direction == "upgrade":
            # An index on plain columns needs no new statistics; one on expressions does. Only
            # then ANALYZE, so the migrated twin keeps the planner statistics it shares with
            # its unmigrated twin (ANALYZE samples at random) unless the migration needs new.
            for table in catalog.tables_with_expression_indexes(conn, tables):
                conn.execute(f'ANALYZE "{table}"')
    names_before = {i.name for i in before}
    names_after = {i.name for i in after}
    created = [t.index for t in run.statements if t.action == "create"]
    dropped = [t.index for t in run.statements if t.action == "drop"]
    # A migration may also drop indexes on its way up (one that makes another redundant) and
    # create them again on its way down: each is checked for what it did.
    missing = [n for n in created if n not in names_after]
    left = [n for n in dropped if n in names_after]
    if missing or left:
        raise MigrationError(f"after {direction}, pg_indexes " + "; ".join(
            ([f"lacks: {', '.join(missing)}"] if missing else [])
            + ([f"still has: {', '.join(left)}"] if left else [])))
    # What the migration changed: the indexes it created (upgrade) or removed (downgrade).
    changed = sorted(names_after - names_before if direction == "upgrade"
                     else names_before - names_after)
    return MigrationRecord(
        revision=run.revision, direction=direction, seconds=run.seconds, indexes=changed,
        index_count=len(changed), statements=run.statements,
        index_counts_before=catalog.index_counts(before, tables),
        index_counts_after=catalog.index_counts(after, tables),
    )
