"""The app's traffic as pgbench scripts: one per query shape and one per write workload,
weighted by the workload mix (queries/workload_mix.toml).

pgbench draws parameters with its own functions only (`\\set r random(1, n)`), so every value a
script needs comes from a table in the scratch database, picked by a random row number:

* a shape's parameter pools (`-- param NAME: <pool query>` in its file) become
  `pgib_load.pool_<shape>__<name>(i, v)`, and the script looks the values up with `\\gset`
  before the query (values drawn uniformly from the pool, as the main run draws them);
* the rows a write workload inserts are a sample of the table's own rows
  (`pgib_load.rows_<table>`), re-inserted under new ids: single-row `INSERT ... RETURNING id`,
  or a bulk `INSERT ... SELECT` of BULK_ROWS rows for the COPY workloads (pgbench cannot send
  COPY data);
* the updates touch a fixed "active set" of rows (`pgib_load.active_<table>`), with the same
  SET clauses as bench.runner.writes.

Every script is one statement in its own transaction (autocommit), so pgbench's per-transaction
log gives each statement's latency. The tables are made before the database is twinned, so
both twins have them. `restore()` puts a twin's six tables back as they were after a load.
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
from bench.runner.shapes import Shape
from bench.runner.writes import ACTIVE_ROWS, ACTIVE_SET, COPY_TABLES, UPDATES
from seed.models import TABLES, Base

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
    max_ids: dict[str, int]  # per table, the last id before any load ran

    @property
    def read_rate(self) -> float:
        return sum(s.rate_per_s for s in self.reads)

    @property
    def write_rate(self) -> float:
        return sum(s.rate_per_s for s in self.writes)


def _columns(table: str) -> list[str]:
    return [c.name for c in Base.metadata.tables[table].columns if c.name != "id"]


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
    """Every name in the mix must be a shape or a write workload this driver plays."""
    unknown = sorted(set(mix.reads) - {s.name for s in shapes})
    if unknown:
        raise ConfigError(f"{mix.source}: [reads] names no query shape: {', '.join(unknown)} "
                          f"(shapes: {', '.join(s.name for s in shapes)})")
    workloads = write_workloads()
    unknown = sorted(set(mix.writes) - set(workloads))
    if unknown:
        raise ConfigError(f"{mix.source}: [writes] names no write workload: {', '.join(unknown)}"
                          f" (workloads: {', '.join(workloads)})")
    if not any(v > 0 for v in mix.writes.values()):
        raise ConfigError(f"{mix.source}: no write workload has a rate above 0; the deploy "
                          "measurement needs writes")


def write_workloads() -> list[str]:
    return ([f"insert:{t}" for t in TABLES] + [f"copy:{t}" for t in COPY_TABLES]
            + list(UPDATES))


def prepare(conn: Connection, shapes: Sequence[Shape], mix: WorkloadMix, seed: int) -> Traffic:
    """Make the lookup tables in the scratch database (autocommit connection) and return the
    scripts. Shapes and workloads the mix gives no rate are left out."""
    check_mix(mix, shapes)
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
    max_ids = {t: int(_one(conn, sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(
        sql.Identifier(t)))) for t in TABLES}
    reads = [_read_script(conn, s, mix.reads[s.name]) for s in shapes
             if mix.reads.get(s.name, 0) > 0]
    sampled = {t: _sample_rows(conn, t, seed) for t in TABLES}
    writes: list[Script] = []
    for name in write_workloads():
        rate = mix.writes.get(name, 0.0)
        if rate <= 0:
            continue
        op, table = name.split(":")
        if op == "insert":
            writes.append(_insert_script(name, table, sampled[table], rate))
        elif op == "copy":
            writes.append(_bulk_script(name, table, sampled[table], rate))
        else:
            writes.append(_update_script(conn, name, seed, rate))
    conn.execute("ANALYZE " + ", ".join(
        f"{SCHEMA}.{r[0]}" for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA,)).fetchall()))
    return Traffic(reads, writes, max_ids)


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


def _sample_rows(conn: Connection, table: str, seed: int) -> int:
    """SAMPLE_ROWS of the table's rows (a repeatable Bernoulli sample), numbered from 1."""
    total = int(_one(conn, "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                     (table,)))
    pct = 100.0 if total <= SAMPLE_ROWS else min(100.0, 150.0 * SAMPLE_ROWS / total)
    cols = sql.SQL(", ").join(map(sql.Identifier, _columns(table)))
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


def _insert_script(name: str, table: str, n: int, rate: float) -> Script:
    cols = ", ".join(_columns(table))
    text = (f"\\set r random(1, {n})\n"
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {SCHEMA}.rows_{table} "
            f"WHERE i = :r RETURNING id;\n")
    return Script(name, "write", table, rate, text)


def _bulk_script(name: str, table: str, n: int, rows_per_s: float) -> Script:
    size = min(BULK_ROWS, n)
    cols = ", ".join(_columns(table))
    text = (f"\\set lo random(0, {n // size - 1}) * {size} + 1\n"
            f"\\set hi :lo + {size - 1}\n"
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {SCHEMA}.rows_{table} "
            f"WHERE i BETWEEN :lo AND :hi;\n")
    return Script(name, "write", table, rows_per_s / size, text)


def _update_script(conn: Connection, name: str, seed: int, rate: float) -> Script:
    table, set_clause = UPDATES[name]
    ids = [r[0] for r in conn.execute(ACTIVE_ROWS[name]).fetchall()]
    if not ids:
        raise ConfigError(f"{name}: no rows to update ({ACTIVE_ROWS[name]} returned none)")
    rng = np.random.default_rng(seed)
    pick = sorted(ids[int(i)] for i in rng.choice(len(ids), min(ACTIVE_SET, len(ids)),
                                                   replace=False))
    active, snap = _ident(_name("active", table)), _ident(_name("snap", table))
    conn.execute(sql.SQL("CREATE TABLE {} (i int PRIMARY KEY, id bigint NOT NULL)").format(
        active))
    with conn.cursor().copy(sql.SQL("COPY {} (i, id) FROM STDIN").format(active)) as copy:
        for i, id_ in enumerate(pick, 1):
            copy.write_row((i, id_))
    conn.execute(sql.SQL("CREATE TABLE {} AS SELECT * FROM {} WHERE id IN "
                         "(SELECT id FROM {})").format(snap, sql.Identifier(table), active))
    text = (f"\\set r random(1, {len(pick)})\n"
            f"\\set n random(1, 99)\n"
            f"UPDATE {table} SET {set_clause.replace('%(n)s', ':n')} "
            f"WHERE id = (SELECT id FROM {SCHEMA}.active_{table} WHERE i = :r);\n")
    return Script(name, "write", table, rate, text)


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
    """The six tables as they were before any load (autocommit connection): rows the load
    inserted deleted, the updated rows set back from their snapshot; then VACUUM (no ANALYZE,
    so twins keep the planner statistics they share).

    Deleting the inserted leads would make each row's foreign-key check scan the child tables
    that lack an index on lead_id; the children the load inserted reference old leads only, so
    the checks are skipped (session_replication_role = replica, as pg_restore
    --disable-triggers does) where the role may; elsewhere the inserted leads stay."""
    try:
        conn.execute("SET session_replication_role = replica")
        keep_leads = False
    except psycopg.errors.InsufficientPrivilege:
        keep_leads = True
    snapshots = {r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE 'snap\\_%%'",
        (SCHEMA,)).fetchall()}
    with conn.transaction():
        for table in reversed(TABLES):
            if table == "leads" and keep_leads:
                continue
            conn.execute(sql.SQL("DELETE FROM {} WHERE id > %s").format(sql.Identifier(table)),
                         (traffic.max_ids[table],))
        for table in TABLES:
            if f"snap_{table}" not in snapshots:
                continue
            cols = _columns(table)
            snap = _ident(_name("snap", table))
            conn.execute(sql.SQL("UPDATE {t} SET ({c}) = (SELECT {sc} FROM {s} WHERE {s}.id = "
                                 "{t}.id) WHERE id IN (SELECT id FROM {s})").format(
                t=sql.Identifier(table), s=snap, c=sql.SQL(", ").join(map(sql.Identifier, cols)),
                sc=sql.SQL(", ").join(sql.SQL("{}.{}").format(snap, sql.Identifier(c))
                                      for c in cols)))
    if not keep_leads:
        conn.execute("RESET session_replication_role")
    for table in TABLES:
        conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
