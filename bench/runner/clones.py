"""Two clones the user gives as the twins (`run --twins DSN_A DSN_B`): are they alike, and is
the migrated one left as it was found.

Database branches and thin clones bring production's own data at production's size without a
copy here. The run then seeds and copies nothing: it checks that the two hold the same tables
with the same columns, row counts and indexes (one line, exit 2, naming the first difference),
migrates B as usual and undoes it at the end, on failure and on Ctrl-C too. After the
migration's downgrade(), B's indexes are compared with the snapshot taken before: an index
the migration made that is still there is dropped (a revision's `downgrade()` is often
`pass`), one it dropped that is missing is made again from its definition; whatever cannot be
undone is named with the statement that undoes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from bench.errors import ConfigError, first_line
from bench.results.model import CloneDatabase
from bench.runner import catalog
from bench.runner.provision import Target, redact

# Row counts of two clones of one snapshot are equal; two databases analyzed apart may differ
# in reltuples by ANALYZE's sampling on large tables: up to this share is still alike.
ROWS_TOLERANCE = 0.01
LOCK_TIMEOUT = "10s"  # undoing waits this long for a lock before it says what is left

_COLUMNS = """
    SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
    FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
    WHERE c.relname = ANY(%s) AND c.relnamespace = current_schema()::regnamespace
      AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum
"""
# Tables whose key is one integer column: their largest key, to find rows the run's writes
# added and did not take out again (an interrupted write block, a role that cannot skip the
# foreign-key checks of deleting parents).
_INTEGER_KEYS = """
    SELECT c.relname, a.attname FROM pg_index AS i
    JOIN pg_class AS c ON c.oid = i.indrelid
    JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
    WHERE i.indisprimary AND i.indnkeyatts = 1 AND c.relname = ANY(%s)
      AND c.relnamespace = current_schema()::regnamespace
      AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
"""
_ROWS = """
    SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid)
    FROM pg_class AS c
    WHERE c.relname = ANY(%s) AND c.relnamespace = current_schema()::regnamespace
"""


@dataclass(frozen=True)
class Snapshot:
    """What a clone holds, as far as the run compares and restores it."""

    database: str
    tables: list[str]
    columns: dict[str, list[tuple[str, str, bool]]]  # table -> (name, type, not null)
    rows: dict[str, int]
    bytes: dict[str, int]
    indexes: dict[str, catalog.IndexInfo]  # by name
    database_bytes: int
    max_keys: dict[str, tuple[str, int]]  # table -> (its integer key, the largest)


def snapshot(target: Target) -> Snapshot:
    with target.connect(autocommit=True) as conn:
        tables = catalog.app_tables(conn)
        columns: dict[str, list[tuple[str, str, bool]]] = {t: [] for t in tables}
        for table, name, type_, not_null in conn.execute(_COLUMNS, (tables,)).fetchall():
            columns[table].append((name, type_, bool(not_null)))
        rows: dict[str, int] = {}
        size: dict[str, int] = {}
        for table, reltuples, total in conn.execute(_ROWS, (tables,)).fetchall():
            size[table] = int(total)
            if reltuples >= 0:
                rows[table] = int(reltuples)
            else:  # never vacuumed or analyzed: count them
                row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                    sql.Identifier(table))).fetchone()
                rows[table] = int(row[0]) if row else 0
        indexes = {ix.name: ix for ix in catalog.list_indexes(conn, tables)}
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        keys = _max_keys(conn, tables)
    return Snapshot(target.dbname, tables, columns, rows, size, indexes,
                    int(row[0]) if row else 0, keys)


def _max_keys(conn: psycopg.Connection[Any], tables: list[str]) -> dict[str, tuple[str, int]]:
    out = {}
    for table, column in conn.execute(_INTEGER_KEYS, (tables,)).fetchall():
        row = conn.execute(sql.SQL("SELECT coalesce(max({}), 0) FROM {}").format(
            sql.Identifier(column), sql.Identifier(table))).fetchone()
        out[table] = (str(column), int(row[0]) if row else 0)
    return out


def check_alike(a: Snapshot, b: Snapshot) -> None:
    """One line, exit 2, naming the first way the two clones differ."""
    where = f"--twins: {a.database} (A) and {b.database} (B)"
    if not a.tables and not b.tables:
        raise ConfigError(f"{where} hold no tables in their current schema")
    for one, other, side in ((a, b, "B"), (b, a, "A")):
        missing = sorted(set(one.tables) - set(other.tables))
        if missing:
            raise ConfigError(f"{where} are not clones of one database: {side} has no table "
                              f"{', '.join(missing)}")
    for table in a.tables:
        if a.columns[table] != b.columns[table]:
            diff = _first_difference(a.columns[table], b.columns[table])
            raise ConfigError(f"{where} are not clones of one database: table {table} "
                              f"differs in its columns ({diff})")
    for table in a.tables:
        ra, rb = a.rows[table], b.rows[table]
        if abs(ra - rb) > ROWS_TOLERANCE * max(ra, rb):
            raise ConfigError(f"{where} are not clones of one database: table {table} has "
                              f"{ra:,} rows in A and {rb:,} in B (pg_class.reltuples)")
    for one, other, side in ((a, b, "B"), (b, a, "A")):
        missing = sorted(set(one.indexes) - set(other.indexes))
        if missing:
            raise ConfigError(f"{where} have different indexes: {side} lacks "
                              f"{', '.join(missing)}")
    for name, ix in a.indexes.items():
        if ix.definition != b.indexes[name].definition:
            raise ConfigError(f"{where} have different indexes: {name} is "
                              f"{ix.definition!r} in A and {b.indexes[name].definition!r} in B")


def _first_difference(a: list[tuple[str, str, bool]], b: list[tuple[str, str, bool]]) -> str:
    def show(c: tuple[str, str, bool] | None) -> str:
        return "none" if c is None else f"{c[0]} {c[1]}{' not null' if c[2] else ''}"

    for i in range(max(len(a), len(b))):
        ca = a[i] if i < len(a) else None
        cb = b[i] if i < len(b) else None
        if ca != cb:
            return f"column {i + 1}: {show(ca)} in A, {show(cb)} in B"
    return "?"


def record(target: Target, snap: Snapshot) -> CloneDatabase:
    return CloneDatabase(dsn=redact(target.conninfo), database=snap.database, rows=snap.rows,
                         bytes=sum(snap.bytes.values()), database_bytes=snap.database_bytes)


@dataclass
class Undo:
    """What restore() did beyond downgrade(), and what it could not do (or leaves to the
    user: rows the write workloads kept)."""

    done: list[str]
    left: list[str]


def restore(target: Target, before: Snapshot) -> Undo:
    """Make B's indexes what they were before the run: drop the ones it did not have, make
    again the ones it had (from pg_indexes' definition)."""
    undo = Undo([], [])
    try:
        conn = target.connect(autocommit=True)
    except psycopg.Error as exc:
        undo.left.append(f"could not reach {target.dbname} to check its indexes: "
                         f"{first_line(exc)}")
        return undo
    with conn:
        conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
        now = {ix.name: ix for ix in catalog.list_indexes(conn, before.tables)}
        for name in sorted(set(now) - set(before.indexes)):
            drop = sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(name))
            _undo(conn, drop, f"dropped index {name}", f"index {name} is still there", undo)
        for name in sorted(set(before.indexes) - set(now)):
            _undo(conn, sql.SQL(before.indexes[name].definition),
                  f"made index {name} again", f"index {name} is missing", undo)
    undo.left += added_rows(target, before)
    return undo


def added_rows(target: Target, before: Snapshot) -> list[str]:
    """Rows above a table's largest integer key as the run found it: what the write
    workloads added and did not take out again, each with the statement that does."""
    left: list[str] = []
    try:
        conn = target.connect(autocommit=True)
    except psycopg.Error as exc:
        return [f"could not reach {target.dbname} to check its rows: {first_line(exc)}"]
    with conn:
        for table, (column, top) in _max_keys(conn, before.tables).items():
            if table in before.max_keys and top > before.max_keys[table][1]:
                was = before.max_keys[table][1]
                delete = sql.SQL("DELETE FROM {} WHERE {} > {}").format(
                    sql.Identifier(table), sql.Identifier(column), sql.Literal(was))
                left.append(f"{target.dbname}: table {table} keeps rows the write workloads "
                            f"added ({column} above {was:,}): {delete.as_string(conn)}")
    return left


def _undo(conn: psycopg.Connection[Any], statement: sql.SQL | sql.Composed, done: str,
          left: str, undo: Undo) -> None:
    try:
        conn.execute(statement)
    except psycopg.Error as exc:
        undo.left.append(f"{left} ({first_line(exc)}): {statement.as_string(conn)}")
    else:
        undo.done.append(done)
