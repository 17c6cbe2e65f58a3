"""The app's traffic as pgbench scripts: one per query shape and one per write workload,
weighted by the app's workload mix (its project file's `mix`).

pgbench draws parameters with its own functions only (`\\set r random(1, n)`), so every value a
script needs comes from a table in the scratch database, picked by a random row number:

* a shape's parameter pools (`-- param NAME: <pool query>` in its file) become
  `pgib_load.pool_<shape>__<name>(i, v)`, and the script looks the values up with `\\gset`
  before the query (values drawn uniformly from the pool, as the main run draws them);
* the rows a write workload inserts are a sample of the table's own rows
  (`pgib_load.rows_<table>`), re-inserted under new keys (tables whose key the database
  assigns): single-row `INSERT ... RETURNING <key>`,
  or a bulk `INSERT ... SELECT` of BULK_ROWS rows for the COPY workloads (pgbench cannot send
  COPY data);
* the updates are the app's own write files (bench/runner/app_writes.py) on a fixed "active
  set" of rows (`pgib_load.active_<table>`), as in bench.runner.writes.

Every script is one statement in its own transaction (autocommit), so pgbench's per-transaction
log gives each statement's latency. The tables are made before the database is twinned, so
both twins have them. `restore()` puts a twin's tables back as they were after a load.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import psycopg
from psycopg import sql

from bench.errors import ConfigError, ShapeError, first_line
from bench.results.mix import WorkloadMix
from bench.runner import catalog
from bench.runner.app_writes import AppWrite
from bench.runner.shapes import Shape
from bench.runner.writes import ACTIVE_SET, TableKey, table_keys, workload_names

SCHEMA = "pgib_load"
SAMPLE_ROWS = 2_000  # rows sampled per table for the inserts to re-insert
BULK_ROWS = 100  # rows per bulk INSERT ... SELECT (the COPY workloads)
WEIGHT_PER_CALL = 100  # pgbench weights are integers: calls per second x this

Connection = psycopg.Connection[Any]


@dataclass(frozen=True)
class Script:
    name: str  # the shape's name or the write workload's (insert:<table>, ...)
    kind: Literal["read", "write"]
    table: str | None  # the table a write goes to
    rate_per_s: float  # transactions per second the mix asks for
    text: str  # the pgbench script

    def weight(self, scale: float = 1.0) -> int:
        return max(1, round(self.rate_per_s * scale * WEIGHT_PER_CALL))


@dataclass(frozen=True)
class Traffic:
    reads: list[Script]
    writes: list[Script]
    max_ids: dict[str, Any]  # per table with inserts, the last key before any load ran
    keys: dict[str, TableKey]
    tables: list[str]  # the app's tables, parents first

    @property
    def read_rate(self) -> float:
        return sum(s.rate_per_s for s in self.reads)

    @property
    def write_rate(self) -> float:
        return sum(s.rate_per_s for s in self.writes)


def _columns(conn: Connection, table: str, key: str) -> list[str]:
    """The columns an insert sets: all but the key and generated ones."""
    return [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' AND attname <> %s ORDER BY attnum",
        (table, key)).fetchall()]


def _sql_list(names: list[str]) -> str:
    return ", ".join(sql.Identifier(n).as_string() for n in names)


def _one(conn: Connection, query: sql.Composed | str, params: Any = None) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def _name(*parts: str) -> str:
    """A lookup table's name in SCHEMA."""
    return "_".join(parts)


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(SCHEMA, name)


def check_mix(mix: WorkloadMix, shapes: Sequence[Shape]) -> None:
    """Every read of the mix must be a shape (its writes are checked once the schema is built,
    in prepare)."""
    unknown = sorted(set(mix.reads) - {s.name for s in shapes})
    if unknown:
        raise ConfigError(f"{mix.source}: [reads] names no query shape: {', '.join(unknown)} "
                          f"(shapes: {', '.join(s.name for s in shapes)})")
    if not any(v > 0 for v in mix.writes.values()):
        raise ConfigError(f"{mix.source}: no write workload has a rate above 0; the deploy "
                          "measurement needs writes")


def prepare(conn: Connection, shapes: Sequence[Shape], mix: WorkloadMix, seed: int,
            updates: Sequence[AppWrite] = (), copy_tables: Sequence[str] | None = None
            ) -> Traffic:
    """Make the lookup tables in the scratch database (autocommit connection) and return the
    scripts. Shapes and workloads the mix gives no rate are left out."""
    check_mix(mix, shapes)
    tables = catalog.app_tables(conn)
    keys = table_keys(conn, tables)
    inserts = [t for t in tables if t in keys and keys[t].assigned]
    copies = list(copy_tables) if copy_tables is not None else inserts
    names = workload_names(inserts, [t for t in copies if t in inserts], updates)
    unknown = sorted(set(mix.writes) - set(names))
    if unknown:
        raise ConfigError(f"{mix.source}: [writes] names no write workload: {', '.join(unknown)}"
                          f" (workloads: {', '.join(names)})")
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
    max_ids = {t: _one(conn, sql.SQL("SELECT coalesce(max({}), 0) FROM {}").format(
        sql.Identifier(keys[t].column), sql.Identifier(t))) for t in inserts}
    reads = [_read_script(conn, s, mix.reads[s.name]) for s in shapes
             if mix.reads.get(s.name, 0) > 0]
    by_name = {u.name: u for u in updates}
    writes: list[Script] = []
    sampled: dict[str, int] = {}
    for name in names:
        rate = mix.writes.get(name, 0.0)
        if rate <= 0:
            continue
        op, _, table = name.partition(":")
        if name in by_name:
            u = by_name[name]
            writes.append(_update_script(conn, u, keys[u.table].column, seed, rate))
            continue
        cols = _columns(conn, table, keys[table].column)
        if table not in sampled:
            sampled[table] = _sample_rows(conn, table, cols, seed)
        values = _fresh_unique(conn, table, cols)
        if op == "insert":
            writes.append(_insert_script(name, table, cols, keys[table].column, sampled[table],
                                         rate, values))
        else:
            writes.append(_bulk_script(name, table, cols, sampled[table], rate, values))
    conn.execute("ANALYZE " + ", ".join(
        f"{SCHEMA}.{r[0]}" for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA,)).fetchall()))
    return Traffic(reads, writes, max_ids, keys, tables)


# --- reads ----------------------------------------------------------------------------------


def _read_script(conn: Connection, shape: Shape, rate: float) -> Script:
    lookups, casts = [], {}
    lines = []
    for param, pool_sql in shape.params.items():
        name = _name("pool", shape.name, "", param)
        table = _ident(name)
        try:
            conn.execute(sql.SQL(
                "CREATE TABLE {} AS SELECT (row_number() OVER ())::int AS i, p.v "
                "FROM ({}) AS p(v) WHERE p.v IS NOT NULL").format(table, sql.SQL(pool_sql)))
        except psycopg.Error as exc:
            raise ShapeError(f"{shape.path}: pool query for :{param} failed: "
                             f"{first_line(exc)}") from None
        conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (i)").format(table))
        n = int(_one(conn, sql.SQL("SELECT count(*) FROM {}").format(table)))
        if n == 0:
            raise ShapeError(f"{shape.path}: pool query for :{param} returned no rows")
        casts[param] = str(_one(conn, sql.SQL(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = {}::regclass AND attname = 'v'").format(
            sql.Literal(f"{SCHEMA}.{name}"))))
        lines.append(f"\\set r_{param} random(1, {n})")
        lookups.append(f"(SELECT v FROM {SCHEMA}.{name} WHERE i = :r_{param}) "
                       f"AS {param}")
    if lookups:
        lines.append("SELECT " + ", ".join(lookups) + " \\gset")
    lines.append(pgbench_query(shape.sql, casts) + ";")
    return Script(shape.name, "read", None, rate, "\n".join(lines) + "\n")


def pgbench_query(query: str, casts: dict[str, str]) -> str:
    """A shape's query with each `:name` as a typed pgbench variable: CAST(:name AS type)."""
    out = query
    for param, type_name in casts.items():
        out = re.sub(rf"(?<![:\w]):{re.escape(param)}(?!\w)",
                     f"CAST(:{param} AS {type_name})", out)
    return out


# --- writes ---------------------------------------------------------------------------------


def _sample_rows(conn: Connection, table: str, columns: list[str], seed: int) -> int:
    """SAMPLE_ROWS of the table's rows (a repeatable Bernoulli sample), numbered from 1."""
    total = int(_one(conn, "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                     (table,)))
    pct = 100.0 if total <= SAMPLE_ROWS else min(100.0, 150.0 * SAMPLE_ROWS / total)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    target = _ident(_name("rows", table))
    conn.execute(sql.SQL(
        "CREATE TABLE {t} AS SELECT (row_number() OVER ())::int AS i, {c} FROM "
        "(SELECT {c} FROM {src} TABLESAMPLE BERNOULLI ({pct}) REPEATABLE ({seed}) "
        "LIMIT {n}) AS s").format(t=target, c=cols, src=sql.Identifier(table),
                                   pct=sql.Literal(pct), seed=sql.Literal(seed),
                                   n=sql.Literal(SAMPLE_ROWS)))
    conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (i)").format(target))
    n = int(_one(conn, sql.SQL("SELECT count(*) FROM {}").format(target)))
    if n == 0:
        raise ConfigError(f"table {table} is empty: nothing to sample rows for its inserts "
                          "from (use a larger --scale)")
    return n


_FRESH = "fresh"  # the sequence that makes re-inserted values of unique columns new


def _fresh_unique(conn: Connection, table: str, columns: list[str]) -> str:
    """The select list that re-inserts a sampled row: each unique constraint's (or unique
    index's) text column gets a new value (the suffix ~l<n>, cut at the front to fit a
    varchar(n)), else its uuid a random one, else its integer one past the column's maximum;
    without it a unique column (an email, an order reference) makes the insert fail as a
    duplicate of the row it was sampled from."""
    groups = conn.execute(
        "SELECT array_agg(a.attname::text ORDER BY a.attnum), "
        "array_agg(format_type(a.atttypid, NULL) ORDER BY a.attnum), "
        "array_agg(a.atttypmod ORDER BY a.attnum) "
        "FROM pg_index AS i JOIN pg_attribute AS a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = %s::regclass AND i.indisunique "
        "AND NOT i.indisprimary GROUP BY i.indexrelid", (table,)).fetchall()
    fresh: dict[str, str] = {}
    seq = f"{_sql_list([SCHEMA])}.{_sql_list([_FRESH])}"
    for names, types, mods in groups:
        present = [(n, t, m) for n, t, m in zip(names, types, mods, strict=True)
                   if n in columns]
        if not present or any(n in fresh for n, _t, _m in present):
            continue
        by_kind = ([p for p in present if p[1] in ("text", "character varying")]
                   or [p for p in present if p[1] == "uuid"]
                   or [p for p in present if p[1] in ("integer", "bigint", "smallint")])
        if not by_kind:
            continue
        name, kind, mod = by_kind[0]
        col = _sql_list([name])
        conn.execute(f"CREATE SEQUENCE IF NOT EXISTS {seq}")
        if kind == "uuid":
            fresh[name] = "gen_random_uuid()"
        elif kind in ("integer", "bigint", "smallint"):
            top = _one(conn, sql.SQL("SELECT coalesce(max({}), 0) FROM {}").format(
                sql.Identifier(name), sql.Identifier(table)))
            fresh[name] = f"({int(top)} + nextval('{SCHEMA}.{_FRESH}'))::{kind}"
        else:
            tail = f"'~l' || nextval('{SCHEMA}.{_FRESH}')"
            fresh[name] = (f"{col} || {tail}" if mod < 0
                           else f"right({col} || {tail}, {mod - 4})")
    return ", ".join(f"{fresh[c]} AS {_sql_list([c])}" if c in fresh else _sql_list([c])
                     for c in columns)


def _insert_script(name: str, table: str, columns: list[str], key: str, n: int,
                   rate: float, values: str | None = None) -> Script:
    cols = _sql_list(columns)
    text = (f"\\set r random(1, {n})\n"
            f"INSERT INTO {_sql_list([table])} ({cols}) SELECT {values or cols} FROM "
            f"{_sql_list([SCHEMA])}."
            f"{_sql_list(['rows_' + table])} WHERE i = :r RETURNING {_sql_list([key])};\n")
    return Script(name, "write", table, rate, text)


def _bulk_script(name: str, table: str, columns: list[str], n: int, rows_per_s: float,
                 values: str | None = None) -> Script:
    size = min(BULK_ROWS, n)
    cols = _sql_list(columns)
    text = (f"\\set lo random(0, {n // size - 1}) * {size} + 1\n"
            f"\\set hi :lo + {size - 1}\n"
            f"INSERT INTO {_sql_list([table])} ({cols}) SELECT {values or cols} FROM "
            f"{_sql_list([SCHEMA])}."
            f"{_sql_list(['rows_' + table])} WHERE i BETWEEN :lo AND :hi;\n")
    return Script(name, "write", table, rows_per_s / size, text)


_ID = re.compile(r"(?<![:\w]):id\b")


def _update_script(conn: Connection, write: AppWrite, key: str, seed: int, rate: float
                   ) -> Script:
    table = write.table
    ids = [r[0] for r in conn.execute(write.rows).fetchall()]
    if not ids:
        raise ConfigError(f"{write.path}: no rows to update ({write.rows} returned none)")
    rng = np.random.default_rng(seed)
    pick = sorted(ids[int(i)] for i in rng.choice(len(ids), min(ACTIVE_SET, len(ids)),
                                                   replace=False))
    active_name = _name("active", re.sub(r"\W", "_", write.name))
    active, snap = _ident(active_name), _ident(_name("snap", table))
    conn.execute(sql.SQL("CREATE TABLE {a} AS SELECT (row_number() OVER (ORDER BY {k}))::int "
                         "AS i, {k} AS id FROM {t} WHERE {k} = ANY(%s)").format(
        a=active, k=sql.Identifier(key), t=sql.Identifier(table)), (pick,))
    conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (i)").format(active))
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} AS SELECT * FROM {} WHERE {} IN "
                         "(SELECT id FROM {})").format(snap, sql.Identifier(table),
                                                      sql.Identifier(key), active))
    row = _ID.sub(f"(SELECT id FROM {_sql_list([SCHEMA])}.{_sql_list([active_name])} "
                  "WHERE i = :r)", write.sql)
    text = (f"\\set r random(1, {len(pick)})\n"
            f"\\set n random(1, 99)\n"
            f"{row};\n")
    return Script(write.name, "write", table, rate, text)


def write_files(scripts: Sequence[Script], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in scripts:
        path = folder / (re.sub(r"\W", "_", s.name) + ".sql")
        path.write_text(s.text)
        paths.append(path)
    return paths


# --- after a load -----------------------------------------------------------------------------


def restore(conn: Connection, traffic: Traffic) -> None:
    """The app's tables as they were before any load (autocommit connection): rows the load
    inserted deleted, the updated rows set back from their snapshot; then VACUUM (no ANALYZE,
    so twins keep the planner statistics they share).

    Deleting inserted parent rows would make each row's foreign-key check scan child tables
    that may lack an index on the key; the children the load inserted reference old parents
    only, so the checks are skipped (session_replication_role = replica, as pg_restore
    --disable-triggers does) where the role may; elsewhere inserted parents stay."""
    try:
        conn.execute("SET session_replication_role = replica")
        keep_parents = False
    except psycopg.errors.InsufficientPrivilege:
        keep_parents = True
    parents = {r[0] for r in conn.execute(
        "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint WHERE contype = 'f'")}
    snapshots = {r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE 'snap\\_%%'",
        (SCHEMA,)).fetchall()}
    with conn.transaction():
        for table in reversed(traffic.tables):
            if table not in traffic.max_ids or (table in parents and keep_parents):
                continue
            conn.execute(sql.SQL("DELETE FROM {} WHERE {} > %s").format(
                sql.Identifier(table), sql.Identifier(traffic.keys[table].column)),
                (traffic.max_ids[table],))
        for table in traffic.tables:
            if f"snap_{table}" not in snapshots:
                continue
            key = traffic.keys[table].column
            cols = _columns(conn, table, key)
            snap = _ident(_name("snap", table))
            conn.execute(sql.SQL("UPDATE {t} SET ({c}) = (SELECT {sc} FROM {s} WHERE {s}.{k} = "
                                 "{t}.{k}) WHERE {k} IN (SELECT {k} FROM {s})").format(
                t=sql.Identifier(table), s=snap, k=sql.Identifier(key),
                c=sql.SQL(", ").join(map(sql.Identifier, cols)),
                sc=sql.SQL(", ").join(sql.SQL("{}.{}").format(snap, sql.Identifier(c))
                                      for c in cols)))
    if not keep_parents:
        conn.execute("RESET session_replication_role")
    for table in traffic.tables:
        conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
