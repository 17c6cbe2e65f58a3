"""Write workloads, measured on two databases side by side on the same rows, for any app.

* insert: single-row INSERT ... RETURNING <key>, one statement per row, committed in units of
  work of ROWS_PER_TXN rows, the way an ORM flushes a session; into every table whose key the
  database assigns (identity or serial), with rows from the app's generator (another seed) whose
  foreign keys point at rows that exist.
* copy: a bulk COPY into the tables the project file names (`[writes] copy_tables`), else into
  every table that gets inserts.
* update: the app's own UPDATEs (bench/runner/app_writes.py, one .sql file each), on a fixed
  "active set" of rows that is updated again and again, as busy rows are.

The two sides (A and B: twin databases, one of them later migrated) take turns round by round
and workload by workload, in ABBA order (A B, then B A, ...), so whatever the machine does
meanwhile lands on both and cancels in their ratio; both sides write the same rows.

Each INSERT/UPDATE runs under EXPLAIN (ANALYZE, TIMING OFF, WAL): its server-side execution
time includes
index maintenance and foreign-key triggers but not the client round trip, and its WAL bytes are
this backend's own. COPY cannot be EXPLAINed, so it is timed by the client and its WAL is the
change of the WAL insert position. The share of HOT updates comes from the transaction's own
counters (pg_stat_get_xact_tuples_hot_updated), read after BEGIN and just before COMMIT.

Rows a block of rounds writes are deleted again and the active set restored afterwards, on both
sides alike (then VACUUM, without ANALYZE: the twins keep identical planner statistics), so the
next block starts from the rows as seeded.
"""

from __future__ import annotations

import os
import time
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg.types.json import Jsonb

from bench.data import checks
from bench.data import generator as generators
from bench.data.copy_text import copy_chunks
from bench.data.generator import Generator
from bench.data.load import reflect
from bench.errors import ConfigError
from bench.results.model import (
    Interval,
    NoiseFloor,
    Operation,
    WritePhase,
    WriteSection,
    WriteWorkload,
)
from bench.results.stats import (
    MAX_EARLY_FACTOR,
    RUN_TO_RUN_SD,
    Looks,
    Stop,
    paired_ratio,
    stop_now,
    stop_record,
    summarize,
)
from bench.runner import catalog
from bench.runner.app_writes import AppWrite
from bench.runner.plans import explain_document
from bench.runner.progress import bar
from bench.runner.reads import SIDES, Side, order
from bench.runner.records import confidence_of, noise_floor, rounds_record

Connection = psycopg.Connection[Any]
ROWS_PER_TXN = 10  # statements per committed unit of work
ROWS_PER_ROUND = 50  # single-row statements per round
COPY_ROWS_PER_ROUND = 2_000
COPY_PARTS = 4  # COPY statements per round, interleaved between the twins
ACTIVE_SET = 500  # rows per table the update workloads keep touching



def workload_names(inserts: Sequence[str], copies: Sequence[str],
                   updates: Sequence[AppWrite]) -> list[str]:
    """The names of the write workloads, as results.json and the workload mix spell them."""
    return ([f"insert:{t}" for t in inserts] + [f"copy:{t}" for t in copies]
            + [u.name for u in updates])


@dataclass(frozen=True)
class TableKey:
    """A table's single-column primary key, and whether the database assigns it."""

    column: str
    assigned: bool  # identity or serial: inserts leave it out, and a block's rows are > max


def primary_keys(conn: Connection, tables: Sequence[str]) -> dict[str, list[str]]:
    """Each table's primary key columns, in key order."""
    rows = conn.execute(
        """
        SELECT c.relname, array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(n, i)
                                JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = u.n
                                ORDER BY u.i)
        FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid
        WHERE k.contype = 'p' AND c.relname = ANY(%s)
          AND c.relnamespace = current_schema()::regnamespace
        """, (list(tables),)).fetchall()
    return {table: list(columns) for table, columns in rows}


def table_keys(conn: Connection, tables: Sequence[str]) -> dict[str, TableKey]:
    rows = conn.execute(
        """
        SELECT c.relname, a.attname,
               a.attidentity <> '' OR pg_get_serial_sequence(
                   format('%%I', c.relname), a.attname) IS NOT NULL
        FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid
        JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
        WHERE k.contype = 'p' AND cardinality(k.conkey) = 1 AND c.relname = ANY(%s)
          AND c.relnamespace = current_schema()::regnamespace
        """, (list(tables),)).fetchall()
    return {table: TableKey(column, bool(assigned)) for table, column, assigned in rows}


@dataclass
class WriteRound:
    rows: int
    server_ms: float  # sum of EXPLAIN ANALYZE execution times (client time for COPY)
    wall_ms: float  # client-side, including commits
    wal_bytes: int
    wal_records: int = 0
    wal_fpi: int = 0
    updated: int = 0
    hot_updated: int = 0


@dataclass
class Workload:
    name: str
    table: str
    operation: Operation
    description: str
    # run_round(connections, round index, which side first) -> that round on each side
    run_round: Callable[[dict[Side, Connection], int, tuple[Side, Side]], dict[Side, WriteRound]]
    # (block, side) -> rounds, e.g. ("ab", "B"): the migrated twin in the A/B block
    rounds: dict[tuple[str, Side], list[WriteRound]] = field(default_factory=dict)
    # Round i's input, for executors other than run_round (bench.runner.per_index.index_writes): the
    # statements of a single-row workload, or a COPY's statement and text.
    statements: Callable[[int], Statements] | None = None
    copy: Callable[[int], tuple[sql.Composable, str]] | None = None
    stops: dict[str, Stop] = field(default_factory=dict)  # block -> how its rounds ended


# A write workload's cut points (bench.runner.stopping.write_cuts), asked for at a look.
WriteCuts = Callable[["Workload"], Sequence[float]]


def _explain(conn: Connection, query: str | sql.Composable, params: Any) -> dict[str, Any]:
    stmt = sql.SQL("EXPLAIN (ANALYZE, TIMING OFF, WAL, FORMAT JSON) ") + (
        sql.SQL(query) if isinstance(query, str) else query)
    return explain_document(conn.execute(stmt, params, prepare=False).fetchone())


def _one(conn: Connection, query: str | sql.Composed, params: Any = None) -> Any:
    """The single value a query returns."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, "a query for one value returned no row"
    return row[0]


# The server's WAL insert position in bytes: WAL is server-wide, so it is read around a COPY.
WAL_LSN = "SELECT pg_current_wal_insert_lsn() - '0/0'"


def _wal_lsn(conn: Connection) -> int:
    return int(_one(conn, WAL_LSN))


Conns = dict[Side, Connection]
Statements = Sequence[tuple[sql.Composable, Mapping[str, Any]]]


# The backend's counts of updated and HOT-updated rows of a table. They include earlier
# transactions whose counts the backend has not yet flushed to the shared statistics (it does so
# at most once a second, when idle), so a transaction's own counts are the change from its
# BEGIN (inside a transaction block nothing is flushed).
COUNTS = ("SELECT pg_stat_get_xact_tuples_updated(%s::regclass), "
          "pg_stat_get_xact_tuples_hot_updated(%s::regclass)")


@dataclass
class _Tally:
    server_ms: float = 0.0
    wall_ms: float = 0.0
    wal: int = 0
    records: int = 0
    fpi: int = 0
    updated: int = 0
    hot: int = 0

    def timed(self, conn: Connection, query: str, params: Any = None) -> Any:
        start = time.perf_counter()
        cur = conn.execute(query, params, prepare=False)
        self.wall_ms += (time.perf_counter() - start) * 1000
        return cur

    def bracket(self, conn: Connection, statement: str, table: str | None, *,
                before: bool) -> tuple[int, int]:
        """BEGIN or COMMIT, timed into the wall time, with the table's update counts (COUNTS)
        read right after it (`before=False`) or right before it, in one round trip (a
        pipeline): these are not timed statements, and a round trip of their own would only
        add the client's latency to the phase. (0, 0) without a table."""
        start = time.perf_counter()
        with conn.pipeline():
            if not before:
                conn.execute(statement, prepare=False)
            counts = conn.execute(COUNTS, (table, table), prepare=False) if table else None
            if before:
                conn.execute(statement, prepare=False)
        self.wall_ms += (time.perf_counter() - start) * 1000
        row = counts.fetchone() if counts else None
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def explain(self, conn: Connection, query: sql.Composable, params: Any) -> None:
        start = time.perf_counter()
        doc = _explain(conn, query, params)
        self.wall_ms += (time.perf_counter() - start) * 1000
        self.server_ms += float(doc["Execution Time"])
        self.wal += int(doc["Plan"].get("WAL Bytes", 0))
        self.records += int(doc["Plan"].get("WAL Records", 0))
        self.fpi += int(doc["Plan"].get("WAL FPI", 0))

    def round(self, rows: int) -> WriteRound:
        return WriteRound(rows, self.server_ms, self.wall_ms, self.wal, self.records, self.fpi,
                          self.updated, self.hot)


def _statement_round(conns: Conns, first: tuple[Side, Side], statements: Statements,
                     table: str | None = None) -> dict[Side, WriteRound]:
    """Run the statements on both sides, each under EXPLAIN (ANALYZE, WAL), ROWS_PER_TXN per
    committed transaction on each side. Statement k runs on one side and right after on the
    other, the first side alternating (ABBA within the round), so the two sums of server time
    are taken in the same milliseconds. Both sides commit (and each commit's time counts in
    its side's wall time)."""
    tally = {side: _Tally() for side in conns}
    at_begin: dict[Side, tuple[int, int]] = {}
    for start in range(0, len(statements), ROWS_PER_TXN):
        for side in first:
            at_begin[side] = tally[side].bracket(conns[side], "BEGIN", table, before=False)
        for k, (query, params) in enumerate(statements[start:start + ROWS_PER_TXN]):
            for side in (first if (start + k) % 2 == 0 else first[::-1]):
                tally[side].explain(conns[side], query, params)
        for side in first:
            t = tally[side]
            updated, hot = t.bracket(conns[side], "COMMIT", table, before=True)
            t.updated += updated - at_begin[side][0]
            t.hot += hot - at_begin[side][1]
    return {side: t.round(len(statements)) for side, t in tally.items()}


def _insert_workload(table: str, key: str, rows: dict[str, np.ndarray], n: int,
                     returning: Sequence[str] = ()) -> Workload:
    """`key`: the column the database assigns (left out), or "" when the app gives its key."""
    columns = [c for c in rows if c != key]
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder(c) for c in columns),
        sql.SQL(", ").join(map(sql.Identifier, returning or [key])))
    values = _python_rows({c: rows[c][:n] for c in columns}, columns)

    def batch(round_index: int) -> Statements:
        # Round i inserts the same rows on both sides, and in every block.
        start = round_index * ROWS_PER_ROUND
        return [(query, values[(start + k) % len(values)]) for k in range(ROWS_PER_ROUND)]

    def run_round(conns: Conns, round_index: int, first: tuple[Side, Side]
                  ) -> dict[Side, WriteRound]:
        return _statement_round(conns, first, batch(round_index))

    return Workload(f"insert:{table}", table, "insert",
                    f"{ROWS_PER_ROUND} single-row INSERT ... RETURNING "
                    f"{', '.join(returning or [key])} per round, "
                    f"committed every {ROWS_PER_TXN}", run_round, statements=batch)


def _copy_workload(table: str, key: str, rows: dict[str, np.ndarray]) -> Workload:
    columns = [c for c in rows if c != key]
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    part = COPY_ROWS_PER_ROUND // COPY_PARTS
    parts = [text for _, text in copy_chunks([rows[c] for c in columns], chunk_rows=part)]
    parts = [c for c in parts if c.count("\n") == part] or parts

    def run_round(conns: Conns, round_index: int, first: tuple[Side, Side]
                  ) -> dict[Side, WriteRound]:
        """One transaction per side holding COPY_PARTS COPY statements; part k runs on one
        side and right after on the other, the first side alternating (ABBA), so the two
        sides' COPY times are taken in the same moments. Timed until the server completes
        each COPY: the commit's WAL flush is not a cost per row (it is in the wall time)."""
        tally = {side: _Tally() for side in first}
        for side in first:
            tally[side].timed(conns[side], "BEGIN")
        for k in range(COPY_PARTS):
            text = parts[(round_index * COPY_PARTS + k) % len(parts)]
            for side in (first if k % 2 == 0 else first[::-1]):
                lsn = _wal_lsn(conns[side])  # WAL is server-wide: taken around each COPY
                start = time.perf_counter()
                with conns[side].cursor().copy(stmt) as copy:
                    copy.write(text)
                elapsed = (time.perf_counter() - start) * 1000
                tally[side].wal += _wal_lsn(conns[side]) - lsn
                tally[side].server_ms += elapsed
                tally[side].wall_ms += elapsed
        for side in first:
            tally[side].timed(conns[side], "COMMIT")
        return {side: tally[side].round(part * COPY_PARTS) for side in first}

    def copy_input(round_index: int) -> tuple[sql.Composable, str]:
        return stmt, parts[round_index % len(parts)]

    return Workload(f"copy:{table}", table, "copy",
                    f"COPY of {COPY_ROWS_PER_ROUND:,} rows per round in one transaction, as "
                    f"{COPY_PARTS} COPY statements interleaved with the other twin's (timed "
                    "until the server completes each, before the commit)", run_round,
                    copy=copy_input)


def _update_workload(write: AppWrite, active_ids: list[Any], seed: int) -> Workload:
    name, table = write.name, write.table
    query = sql.SQL(write.driver_sql)  # the app's own statement

    def batch(round_index: int) -> Statements:
        # Round i updates the same rows to the same values on both sides, and in every block.
        rng = np.random.default_rng([seed, zlib.crc32(name.encode()), round_index])
        ids = rng.choice(active_ids, ROWS_PER_ROUND)
        n = rng.integers(1, 100, ROWS_PER_ROUND)
        if write.values:  # a derived update: :v from the column's own values
            pick = rng.integers(0, len(write.values), ROWS_PER_ROUND)
            return [(query, {"id": _python(i), "v": write.values[int(k)]})
                    for i, k in zip(ids, pick, strict=True)]
        return [(query, {"id": _python(i), "n": int(v)}) for i, v in zip(ids, n, strict=True)]

    def run_round(conns: Conns, round_index: int, first: tuple[Side, Side]
                  ) -> dict[Side, WriteRound]:
        return _statement_round(conns, first, batch(round_index), table=table)

    return Workload(name, table, "update",
                    f"{ROWS_PER_ROUND} single-row UPDATEs per round on {len(active_ids)} "
                    f"busy rows, committed every {ROWS_PER_TXN}: {write.sql}", run_round,
                    statements=batch)


def _python(v: Any) -> Any:
    """A NumPy value as the Python value psycopg sends (None for NaN/NaT)."""
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else v.astype("datetime64[us]").item()
    if isinstance(v, np.floating):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (list, dict)):
        return Jsonb(v)
    return v


def _python_rows(rows: dict[str, np.ndarray], columns: list[str]) -> list[dict[str, Any]]:
    n = len(rows[columns[0]])
    return [{c: _python(rows[c][i]) for c in columns} for i in range(n)]


def _as_sent(sample: dict[str, dict[str, np.ndarray]], tables: dict[str, sa.Table]) -> None:
    """Columns whose arrays encode a value for binary COPY (uuids as two uint64, times as
    microseconds, dates as datetime64[D]) as the Python values psycopg and COPY text take."""
    for name, cols in sample.items():
        for column, values in list(cols.items()):
            kind = tables[name].c[column].type if column in tables[name].c else None
            if values.ndim == 2 and values.shape[1] == 2:  # uuid: high and low 64 bits
                cols[column] = np.array(
                    [None if not (hi or lo) else uuid.UUID(int=(int(hi) << 64) | int(lo))
                     for hi, lo in values.tolist()], dtype=object)
            elif isinstance(kind, sa.Time) and values.dtype.kind in "iuf":
                cols[column] = np.array(
                    [None if v != v else (datetime.min + timedelta(microseconds=int(v))).time()
                     for v in values.tolist()], dtype=object)
            elif values.dtype.kind == "M" and np.datetime_data(values.dtype)[0] == "D":
                cols[column] = np.array([None if np.isnat(v) else v.item() for v in values],
                                        dtype=object)


def _has_unique(table: sa.Table) -> bool:
    return any(isinstance(k, sa.UniqueConstraint) for k in table.constraints) or any(
        ix.unique for ix in table.indexes)


def _unique_again(conn: Connection, sample: dict[str, dict[str, np.ndarray]],
                  tables: dict[str, sa.Table], keys: dict[str, TableKey]) -> set[str]:
    """The sample comes from the same generator as the seeded rows, so its values of a unique
    column (an email, a code, a key the app gives) can be ones the table has: in each unique
    group one column that is no foreign key is made new, an integer moved past the column's
    maximum, a text given the suffix ~w<row> (cut at the front to fit a varchar(n)). The
    tables where a group has no such column (a key made of foreign keys only)."""
    stuck: set[str] = set()
    for name, cols in sample.items():
        table = tables[name]
        assigned = keys[name].column if name in keys and keys[name].assigned else None
        groups = [[c.name for c in k.columns] for k in table.constraints
                  if isinstance(k, sa.UniqueConstraint | sa.PrimaryKeyConstraint)]
        groups += [[c.name for c in ix.columns] for ix in table.indexes if ix.unique]
        references = {c.name for fk in table.foreign_key_constraints for c in fk.columns}
        # A column a CHECK bounds from above or lists the values of cannot take new ones.
        limits = checks.parse(checks.constraint_texts(table), {c.name for c in table.columns})
        references |= set(limits.values) | {c for c, b in limits.bounds.items()
                                            if b.hi is not None}
        for group in groups:
            if assigned in group or not group:
                continue
            present = [c for c in group if c in cols and c not in references
                       and cols[c].dtype.kind in "iufO"]
            if not present:
                stuck.add(name)
                continue
            text = [c for c in present if cols[c].dtype.kind == "O"]
            column = (text or present)[0]
            values = cols[column]
            if values.dtype.kind in "iuf":
                top = _one(conn, sql.SQL("SELECT coalesce(max({}), 0) FROM {}").format(
                    sql.Identifier(column), sql.Identifier(name)))
                # One new value per row: unique whatever the group's other columns hold.
                cols[column] = (int(top) + 1 + np.arange(len(values))).astype(values.dtype)
            elif values.dtype.kind == "O":
                limit = getattr(table.c[column].type, "length", None)
                cols[column] = np.array([_new_value(v, i, limit)
                                         for i, v in enumerate(values.tolist())], dtype=object)
    return stuck


def _new_value(value: Any, i: int, limit: int | None) -> Any:
    if isinstance(value, uuid.UUID):  # another random-looking uuid, the same for row i
        return uuid.UUID(int=int.from_bytes(zlib.crc32(value.bytes).to_bytes(4, "big") * 4,
                                            "big") ^ value.int ^ (i + 1))
    return value if not isinstance(value, str) else _suffixed(value, i, limit)


def _suffixed(value: str, i: int, limit: int | None) -> str:
    tail = f"~w{i}"
    return (value + tail) if limit is None or len(value) + len(tail) <= limit \
        else (value[: max(0, limit - len(tail))] + tail)[-limit:]


def _point_at_existing(conn: Connection, sample: dict[str, dict[str, np.ndarray]],
                       tables: dict[str, sa.Table], seed: int) -> None:
    """Make the sample's foreign keys name rows that exist: value v of an integer key becomes
    the ((v - 1) mod n)-th of the parent's n keys (the same parent for the same v, so the skew
    of the generator stays), other keys a parent row drawn by `seed`."""
    for name, cols in sample.items():
        for fk in tables[name].foreign_key_constraints:
            child = [c.name for c in fk.columns]
            parent_table = fk.elements[0].target_fullname.rsplit(".", 1)[0]
            parent = [e.target_fullname.rsplit(".", 1)[1] for e in fk.elements]
            if not all(c in cols for c in child):
                continue
            keys = conn.execute(sql.SQL("SELECT {} FROM {} ORDER BY 1").format(
                sql.SQL(", ").join(map(sql.Identifier, parent)),
                sql.Identifier(parent_table))).fetchall()
            if not keys:
                raise ValueError(f"{parent_table} has no rows for {name}'s inserts to reference")
            first = cols[child[0]]
            if len(child) == 1 and first.dtype.kind in "iuf":
                null = np.isnan(first) if first.dtype.kind == "f" else None
                pos = (np.nan_to_num(first).astype(np.int64) - 1) % len(keys)
            else:
                null = None
                pos = np.random.default_rng([seed, len(name)]).integers(0, len(keys), len(first))
            for j, c in enumerate(child):
                column = [k[j] for k in keys]
                numeric = all(isinstance(v, int) for v in column)
                values = (np.array(column, dtype=np.int64) if numeric
                          else np.array(column, dtype=object))[pos]
                if null is not None and null.any():
                    values = values.astype(np.float64) if numeric else values
                    values[null] = np.nan if numeric else None
                cols[c] = values


class WriteBench:
    """Builds the workloads once, then measures them in a phase and cleans up after it."""

    def __init__(self, conn: Connection, seed: int, rounds: int, warmup: int, *,
                 generator: Generator, updates: Sequence[AppWrite] = (),
                 copy_tables: Sequence[str] | None = None,
                 insert_tables: Sequence[str] | None = None,
                 checkpoint: bool = True, max_rounds: int | None = None) -> None:
        # checkpoint=False on a server the harness does not own: CHECKPOINT is server-wide I/O.
        self.rounds, self.warmup, self.checkpoint = rounds, warmup, checkpoint
        self.tables = catalog.app_tables(conn)
        self.keys = table_keys(conn, self.tables)
        self.pkeys = primary_keys(conn, self.tables)
        counts = generator.row_counts(1.0)
        # Inserts need a primary key, to take the rows a block added out again: those above
        # the block's maximum where the database assigns it, else the ones the sample gave.
        wanted = list(insert_tables) if insert_tables is not None else self.tables
        self.skipped = sorted(t for t in wanted if t not in self.pkeys or t not in counts)
        self.inserts = [t for t in wanted if t not in self.skipped]
        copies = list(copy_tables) if copy_tables is not None else self.inserts
        unknown = sorted(set(copies) - set(self.inserts))
        if unknown:
            raise ConfigError(f"[writes] copy_tables: {', '.join(unknown)}: not a table the "
                              "generator fills, with a primary key")
        most = max(rounds, max_rounds or 0) + warmup  # rounds of the longest block
        needed = most * ROWS_PER_ROUND
        copy_needed = most * COPY_ROWS_PER_ROUND
        # Fresh rows from the same generator (another seed), as many as the longest block
        # needs of the smallest table (COPY cycles through the largest copy table's rows).
        self.reflected = reflect(conn, self.tables)
        # A table with unique values may not see a row twice in a block: its COPY rows follow
        # its INSERT rows and do not cycle.
        unique = {t for t in copies
                  if _has_unique(self.reflected[t]) or not self._assigned(t)}
        scale = max([needed / counts[t] for t in self.inserts if counts.get(t)]
                    + [copy_needed / max(counts[t] for t in copies)] * bool(copies)
                    + [(needed + copy_needed) / counts[t] for t in unique] + [0.001])
        sample = generators.sample(generator, seed + 1, scale, self.inserts)
        _as_sent(sample, self.reflected)
        stuck = _unique_again(conn, sample, self.reflected, self.keys)
        # Rows repeat when the sample is short of a block's rows: fine for most tables, not
        # where a unique value or a key the app gives would come twice.
        stuck |= {t for t in self.inserts if (not self._assigned(t) or t in unique)
                  and len(next(iter(sample[t].values()))) < needed + copy_needed * (t in copies)}
        if stuck:  # a key of foreign keys only: its new rows cannot be told apart as new
            self.skipped = sorted({*self.skipped, *stuck})
            self.inserts = [t for t in self.inserts if t not in stuck]
            copies = [t for t in copies if t not in stuck]
        self.copies = copies
        _point_at_existing(conn, sample, self.reflected, seed)
        # Where the app gives the key: the keys of every row a block may add, to delete them.
        self.given: dict[str, list[tuple[Any, ...]]] = {
            t: [tuple(_python(sample[t][c][i]) for c in self.pkeys[t])
                for i in range(len(sample[t][self.pkeys[t][0]]))]
            for t in self.inserts if not self._assigned(t)}
        active_rng = np.random.default_rng(seed)
        self.updates = list(updates)
        self.active: dict[str, list[Any]] = {}
        for u in self.updates:
            if u.table not in self.keys:
                raise ConfigError(f"{u.path}: table {u.table} has no single-column primary key "
                                  "(a write file's :id names a row by it)")
            try:
                ids = [r[0] for r in conn.execute(u.rows).fetchall()]
            except psycopg.Error as exc:
                raise ConfigError(f"{u.path}: rows: {str(exc).splitlines()[0]}") from None
            if not ids:
                raise ConfigError(f"{u.path}: rows returned no row to update")
            pick = active_rng.choice(len(ids), min(ACTIVE_SET, len(ids)), replace=False)
            self.active[u.name] = sorted(ids[int(i)] for i in pick)
        self.workloads = [_insert_workload(t, self._left_out(t), sample[t], needed,
                                           self.pkeys[t])
                          for t in self.inserts]
        self.workloads += [_copy_workload(t, self._left_out(t),
                                          {c: v[needed:] for c, v in sample[t].items()}
                                          if t in unique else sample[t]) for t in copies]
        self.workloads += [_update_workload(u, self.active[u.name], seed) for u in self.updates]
        self.leads_kept = False

    def names(self) -> list[str]:
        return [w.name for w in self.workloads]

    def _assigned(self, table: str) -> bool:
        return table in self.keys and self.keys[table].assigned

    def _left_out(self, table: str) -> str:
        """The key column inserts leave to the database, or "" when the app gives it."""
        return self.keys[table].column if self._assigned(table) else ""

    def measure_pair(self, conninfo: dict[Side, str], block: str,
                     rounds: int | None = None, progress: bool = False,
                     cuts: WriteCuts | None = None) -> None:
        """A block of rounds on both sides, interleaved: round i of workload j runs on one side
        and then on the other, the first side alternating (ABBA). Then both sides get their
        rows back as they were. With `progress`, a bar on a terminal, updated between rounds.
        With `cuts`, sequential stopping (bench.results.stats): a workload stops at an early
        look once its cost ratio B/A has an interval holding none of its cut points, narrow
        enough; each workload's `stops[block]` says how many rounds it got and why."""
        rounds = self.rounds if rounds is None else rounds
        looks = Looks.up_to(rounds) if cuts else Looks((rounds,))
        conns = {side: psycopg.connect(conninfo[side], autocommit=True) for side in SIDES}
        shown = bar((self.warmup + rounds) * len(self.workloads), "writes", progress)
        ended: dict[str, str] = {}
        try:
            baseline = {}
            for side, conn in conns.items():
                conn.execute("SET jit = off")
                baseline[side] = self._snapshot(conn)
            # The block starts right after a checkpoint: both sides pay the same full-page
            # images for the pages they touch first (warm-up rounds take most of them).
            if self.checkpoint:
                _try(conns["A"], "CHECKPOINT")
                os.sync()  # and the kernel's writeback of it is over before round one
            for w in self.workloads:
                for side in SIDES:
                    w.rounds[(block, side)] = []
            for i in range(-self.warmup, rounds):
                for j, w in enumerate(self.workloads):
                    if w.name in ended:
                        continue
                    if cuts and looks.is_early_look(i) and stop_now(
                            _per_row(w.rounds[(block, "B")]), _per_row(w.rounds[(block, "A")]),
                            looks, cuts(w), extra_sd=RUN_TO_RUN_SD["writes"],
                            factor=MAX_EARLY_FACTOR["writes"]):
                        ended[w.name] = "decisive"
                        shown.shrink(rounds - i)
                        continue
                    got = w.run_round(conns, i + self.warmup, order(i, j))
                    if i >= 0:
                        for side in SIDES:
                            w.rounds[(block, side)].append(got[side])
                    shown.update(f"{w.name}, warm-up" if i < 0
                                 else f"{w.name}, round {i + 1} of {rounds}")
            for w in self.workloads:
                done = min(len(w.rounds[(block, side)]) for side in SIDES)
                w.stops[block] = stop_record(looks, done, ended.get(w.name, "round cap"))
            # Both twins at once (nothing is measured now, and each is its own database).
            with ThreadPoolExecutor(len(conns)) as pool:
                for done_restoring in [pool.submit(self._restore, conn, baseline[side])
                                       for side, conn in conns.items()]:
                    done_restoring.result()
        finally:
            shown.close()
            for conn in conns.values():
                conn.close()

    def noise(self, w: Workload) -> NoiseFloor | None:
        """The A/A control of a workload, once its block has run."""
        aa_a = _per_row(w.rounds.get(("aa", "A"), []))
        aa_b = _per_row(w.rounds.get(("aa", "B"), []))
        return noise_floor(aa_b, aa_a, aa_a, aa_b, "writes", confidence_of(w.stops.get("aa")))

    def _snapshot(self, conn: Connection) -> dict[str, Any]:
        for u in self.updates:
            key = self.keys[u.table].column
            conn.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} AS "
                                 "SELECT * FROM {} WHERE {} = ANY(%s)").format(
                sql.Identifier(f"snapshot_{u.table}"), sql.Identifier(u.table),
                sql.Identifier(key)), (self.active[u.name],))
        return {t: _one(conn, sql.SQL("SELECT coalesce(max({}), 0) FROM {}").format(
            sql.Identifier(self.keys[t].column), sql.Identifier(t)))
                for t in self.inserts if self._assigned(t)}

    def _restore(self, conn: Connection, max_ids: dict[str, Any]) -> None:
        # Deleting inserted parent rows would fire a foreign-key check per row that may
        # seq-scan unindexed child tables (minutes at scale 1). The inserted children reference
        # old parents only, so skipping those checks is safe, as pg_restore --disable-triggers
        # does; it needs superuser. Without it inserted parents stay (recorded in results.json).
        self.leads_kept = not _try(conn, "SET session_replication_role = replica")
        parents = {fk.elements[0].target_fullname.rsplit(".", 1)[0]
                   for t in self.reflected.values() for fk in t.foreign_key_constraints}
        with conn.transaction():
            for table in reversed(self.tables):  # children first
                if table not in self.inserts or (table in parents and self.leads_kept):
                    continue
                if self._assigned(table):
                    conn.execute(sql.SQL("DELETE FROM {} WHERE {} > %s").format(
                        sql.Identifier(table), sql.Identifier(self.keys[table].column)),
                        (max_ids[table],))
                else:
                    _delete_keys(conn, table, self.pkeys[table], self.given[table])
            for table in dict.fromkeys(u.table for u in self.updates):
                key = self.keys[table].column
                cols = [c.name for c in self.reflected[table].columns
                        if c.name != key and c.computed is None]
                snap = f"snapshot_{table}"
                conn.execute(sql.SQL("UPDATE {t} SET ({c}) = (SELECT {sc} FROM {s} "
                                     "WHERE {s}.{k} = {t}.{k}) WHERE {k} IN (SELECT {k} FROM {s})"
                                     ).format(
                    t=sql.Identifier(table), s=sql.Identifier(snap), k=sql.Identifier(key),
                    c=sql.SQL(", ").join(map(sql.Identifier, cols)),
                    sc=sql.SQL(", ").join(sql.Identifier(snap, c) for c in cols)))
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(snap)))
        if not self.leads_kept:
            conn.execute("RESET session_replication_role")
        for table in self.tables:
            conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))

    def section(self, claim_for: Callable[[str], Interval | None],
                block: str = "ab") -> WriteSection:
        """The `writes` section of results.json; `claim_for(operation)` gives the claim; `block`
        the rounds it reports (A is before, B after)."""
        return WriteSection(
            rows_per_round=ROWS_PER_ROUND, rows_per_transaction=ROWS_PER_TXN,
            copy_rows_per_round=COPY_ROWS_PER_ROUND, rounds=self.rounds, warmup=self.warmup,
            active_set_rows=ACTIVE_SET, inserted_leads_kept=self.leads_kept,
            checkpoint_per_phase=self.checkpoint,
            workloads=[_record(w, claim_for(w.operation), block) for w in self.workloads],
        )


def _delete_keys(conn: Connection, table: str, key: list[str],
                 rows: list[tuple[Any, ...]]) -> None:
    """Delete the rows with these keys: COPY them into a temporary table, then one DELETE."""
    temp = sql.Identifier(f"added_{table}")
    cols = sql.SQL(", ").join(map(sql.Identifier, key))
    conn.execute(sql.SQL("CREATE TEMP TABLE {} AS SELECT {} FROM {} WHERE false").format(
        temp, cols, sql.Identifier(table)))
    with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(temp, cols)) as copy:
        for row in rows:
            copy.write_row(row)
    conn.execute(sql.SQL("DELETE FROM {t} USING {a} WHERE {match}").format(
        t=sql.Identifier(table), a=temp, match=sql.SQL(" AND ").join(
            sql.SQL("{}.{} = {}.{}").format(sql.Identifier(table), sql.Identifier(c), temp,
                                            sql.Identifier(c)) for c in key)))
    conn.execute(sql.SQL("DROP TABLE {}").format(temp))


def _try(conn: Connection, statement: str) -> bool:
    """Run a statement that needs privileges the role may lack; say whether it ran."""
    try:
        conn.execute(statement)
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


def _phase(rounds: list[WriteRound]) -> WritePhase | None:
    if not rounds:
        return None
    per_row_us = _per_row(rounds)
    s = summarize(per_row_us)
    rows = sum(r.rows for r in rounds)
    wall_s = sum(r.wall_ms for r in rounds) / 1000
    updated = sum(r.updated for r in rounds)
    return WritePhase(
        rounds=s.rounds, median_us_per_row=s.median, p95_us_per_row=s.p95,
        min_us_per_row=s.min, q1_us_per_row=s.q1, q3_us_per_row=s.q3, cv=s.cv,
        times_us_per_row=[round(t, 3) for t in per_row_us],
        rows_per_s=rows / wall_s if wall_s else None,
        wall_us_per_row=1e6 * wall_s / rows,
        wal_bytes_per_row=sum(r.wal_bytes for r in rounds) / rows,
        # COPY has no per-statement WAL record count (None there).
        wal_records_per_row=(sum(r.wal_records for r in rounds) / rows
                             if any(r.wal_records for r in rounds) else None),
        wal_fpi=sum(r.wal_fpi for r in rounds),
        hot_pct=100.0 * sum(r.hot_updated for r in rounds) / updated if updated else None,
    )


def _per_row(rounds: list[WriteRound]) -> list[float]:
    return [1000 * r.server_ms / r.rows for r in rounds]


def _record(w: Workload, claim: Interval | None, block: str = "ab") -> WriteWorkload:
    """Before = twin A, after = the migrated twin B in the A/B block; the A/A block (both
    unmigrated) gives the noise floor."""
    before, after = (_phase(w.rounds.get((block, "A"), [])),
                     _phase(w.rounds.get((block, "B"), [])))
    rec = WriteWorkload(
        name=w.name, table=w.table, operation=w.operation, description=w.description,
        timing="client" if w.operation == "copy" else "server", before=before, after=after,
        claimed_pct=claim,
    )
    aa_a, aa_b = _per_row(w.rounds.get(("aa", "A"), [])), _per_row(w.rounds.get(("aa", "B"), []))
    rec.aa = noise_floor(aa_b, aa_a, aa_a, aa_b, "writes", confidence_of(w.stops.get("aa")))
    stop = w.stops.get(block)
    rec.stopped = rounds_record(stop)
    if before and after:
        ratio, (lo, hi) = paired_ratio(after.times_us_per_row, before.times_us_per_row,
                                       extra_sd=RUN_TO_RUN_SD["writes"],
                                       confidence=confidence_of(stop))
        rec.overhead_pct = 100.0 * (ratio - 1)
        rec.overhead_ci95 = (100.0 * (lo - 1), 100.0 * (hi - 1))
        rec.wal_overhead_pct = (
            100.0 * (after.wal_bytes_per_row / before.wal_bytes_per_row - 1)
            if before.wal_bytes_per_row else None)
    return rec
