"""UPDATE workloads derived from the schema and the migration, for the tables the migration
indexes and the app's own write files leave alone (bench/runner/app_writes.py).

Per such table (with a single-column primary key), two workloads on a busy set of rows:

* `update:<table>:<column>` on a column the migration indexes: after it, the update must
  maintain that index, and HOT updates stop;
* `update:<table>:<column>` on a column no index covers, before or after: HOT updates stay
  possible, so the cost the migration adds is only that of its other indexes' entries when a
  page has no room.

Each sets the column to a value the column already holds in another row (drawn from up to
VALUES of its distinct values), so CHECK constraints and foreign keys hold; unique columns
and generated ones are never chosen. Which columns the migration indexes comes from its
CREATE INDEX statements, parsed by PostgreSQL's own parser (pglast), without running it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.project.app import App
from bench.runner.app_writes import AppWrite

VALUES = 200  # distinct values per column to draw from

_SKIP_TYPES = ("json", "jsonb", "bytea", "tsvector", "xml")


def migration_columns(app: App) -> dict[str, set[str]]:
    """Table -> the plain columns the migration's CREATE INDEX statements index."""
    import pglast

    out: dict[str, set[str]] = {}
    for statement in _statements(app):
        try:
            nodes = pglast.parse_sql(statement)
        except pglast.parser.ParseError:
            continue
        for raw in nodes:
            node: Any = raw.stmt
            if type(node).__name__ != "IndexStmt":
                continue
            cols = {e.name for e in node.indexParams or () if e.name}
            out.setdefault(node.relation.relname, set()).update(cols)
    return out


def _statements(app: App) -> list[str]:
    path: Path = app.migration
    if path.suffix == ".sql":
        from bench.runner import sql_statements

        return [s.sql for s in sql_statements.load(path).up]
    from bench.runner.deploy.concurrently import offline_sql

    try:
        return offline_sql(path, "upgrade")
    except Exception:  # a revision that cannot render offline: no derived workloads
        return []


def derived_updates(conn: psycopg.Connection[Any], app: App, keys: dict[str, str],
                    covered: Sequence[str]) -> list[AppWrite]:
    """The derived workloads for the tables the migration indexes, except `covered` (tables
    the app's own files update); `keys` maps a table to its single-column primary key."""
    indexed_by_migration = migration_columns(app)
    out: list[AppWrite] = []
    for table in sorted(indexed_by_migration):
        key = keys.get(table)
        if key is None or table in covered:
            continue
        columns = _columns(conn, table)
        candidates = [c for c, _ in columns if c != key]
        indexed_now, unique = _indexed_columns(conn, table)
        new = [c for c in candidates if c in indexed_by_migration[table] and c not in unique
               and c not in indexed_now]
        plain = [c for c in candidates if c not in indexed_by_migration[table]
                 and c not in indexed_now and c not in unique]
        for column, why in ((new[:1], "a column the migration indexes"),
                            (plain[-1:], "a column no index covers")):
            if not column:
                continue
            values = _values(conn, table, column[0])
            if len(values) < 2:
                continue
            statement = sql.SQL("UPDATE {} SET {} = %(v)s WHERE {} = %(id)s").format(
                sql.Identifier(table), sql.Identifier(column[0]), sql.Identifier(key)
            ).as_string()
            out.append(AppWrite(
                name=f"update:{table}:{column[0]}", table=table,
                rows=sql.SQL("SELECT {} FROM {} ORDER BY 1").format(
                    sql.Identifier(key), sql.Identifier(table)).as_string(),
                sql=statement.replace("%(v)s", ":v").replace("%(id)s", ":id"),
                driver_sql=statement, description=f"derived: {why}", path=None,
                values=tuple(values)))
    return out


def _columns(conn: psycopg.Connection[Any], table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "AND attgenerated = '' AND attidentity = '' ORDER BY attnum", (table,)).fetchall()
            if not r[1].startswith(_SKIP_TYPES) and not r[1].endswith("[]")]


def _indexed_columns(conn: psycopg.Connection[Any], table: str) -> tuple[set[str], set[str]]:
    """The columns some index of the table has, and those a unique index has."""
    rows = conn.execute(
        "SELECT a.attname, bool_or(i.indisunique) FROM pg_index AS i JOIN pg_attribute AS a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass GROUP BY a.attname", (table,)).fetchall()
    return {r[0] for r in rows}, {r[0] for r in rows if r[1]}


def _values(conn: psycopg.Connection[Any], table: str, column: str) -> list[Any]:
    return [r[0] for r in conn.execute(sql.SQL(
        "SELECT DISTINCT {c} FROM {t} WHERE {c} IS NOT NULL ORDER BY 1 LIMIT {n}").format(
        c=sql.Identifier(column), t=sql.Identifier(table), n=sql.Literal(VALUES))).fetchall()]
