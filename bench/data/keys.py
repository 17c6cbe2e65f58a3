"""An app's keys and indexes, saved exactly as its schema made them, dropped for the load and
made again after it (one build over loaded rows, not one insert per row): primary keys, unique
and exclusion constraints, foreign keys, the other indexes, and the sequences of its columns.
CHECK and NOT NULL constraints stay: they cost little per row and catch a bad generator."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class Keys:
    # table -> [(constraint name, pg_get_constraintdef)]: PRIMARY KEY, UNIQUE, EXCLUDE
    constraints: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # table -> [(index name, pg_get_indexdef)]: indexes that back no constraint
    indexes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # table -> [(constraint name, pg_get_constraintdef, referenced table)]
    references: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # table -> [(column, sequence)]: serial and identity columns
    sequences: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def foreign_keys(self, table: str) -> list[tuple[str, str]]:
        return [(name, definition) for name, definition, _ in self.references.get(table, [])]

    def parents(self, table: str) -> set[str]:
        return {parent for _, _, parent in self.references.get(table, [])}


def save_keys(conn: psycopg.Connection, tables: list[str]) -> Keys:
    keys = Keys()
    for table, name, kind, definition, parent in conn.execute(
            """
            SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), p.relname
            FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid
            LEFT JOIN pg_class AS p ON p.oid = k.confrelid
            WHERE k.contype IN ('p', 'u', 'x', 'f') AND c.relname = ANY(%s)
              AND c.relnamespace = current_schema()::regnamespace
            ORDER BY c.relname, k.contype = 'p' DESC, k.conname
            """, (tables,)).fetchall():
        if kind == "f":
            keys.references.setdefault(table, []).append((name, definition, parent))
        else:
            keys.constraints.setdefault(table, []).append((name, definition))
    for table, name, definition in conn.execute(
            """
            SELECT t.relname, c.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
            JOIN pg_class AS t ON t.oid = i.indrelid
            WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace
              AND NOT EXISTS (SELECT FROM pg_constraint AS k WHERE k.conindid = i.indexrelid
                              AND k.conrelid = i.indrelid)
            ORDER BY t.relname, c.relname
            """, (tables,)).fetchall():
        keys.indexes.setdefault(table, []).append((name, definition))
    for table, column, sequence in conn.execute(
            """
            SELECT t.relname, a.attname, s.oid::regclass::text
            FROM pg_depend AS d JOIN pg_class AS s ON s.oid = d.objid AND s.relkind = 'S'
            JOIN pg_class AS t ON t.oid = d.refobjid
            JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
              AND d.deptype IN ('a', 'i') AND t.relname = ANY(%s)
              AND t.relnamespace = current_schema()::regnamespace
            ORDER BY 1, 2
            """, (tables,)).fetchall():
        keys.sequences.setdefault(table, []).append((column, sequence))
    return keys


def drop_keys(conn: psycopg.Connection, keys: Keys) -> None:
    """Foreign keys first (they depend on the referenced keys), then indexes, then keys."""
    for table, refs in keys.references.items():
        for name, _, _ in refs:
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)))
    for indexes in keys.indexes.values():
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    for table, constraints in keys.constraints.items():
        for name, _ in constraints:
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)))


def restore_keys(conn: psycopg.Connection, keys: Keys, table: str) -> None:
    """The table's keys and indexes as they were, and its sequences past the loaded values."""
    for name, definition in keys.constraints.get(table, []):
        conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
            sql.Identifier(table), sql.Identifier(name)) + sql.SQL(definition))
    for _, definition in keys.indexes.get(table, []):
        conn.execute(sql.SQL(definition))
    for column, sequence in keys.sequences.get(table, []):
        conn.execute(sql.SQL("SELECT setval({s}, coalesce((SELECT max({c}) FROM {t}), 0) + 1, "
                             "false)").format(s=sql.Literal(sequence), c=sql.Identifier(column),
                                              t=sql.Identifier(table)))
