"""Write workloads the app runs, measured before and after the migration on the same data.

* insert: single-row INSERT ... RETURNING id, one statement per row, committed in units of
  work of ROWS_PER_TXN rows, the way an ORM flushes a session; into each of the six tables.
* copy: a bulk COPY into the two largest tables (the enrichment import path).
* update: the app's UPDATEs (bump leads.updated_at; agent runs going from running to completed;
  re-scraped activity; re-scored contacts), on a fixed "active set" of rows that is updated
  again and again, as busy rows are.

Each INSERT/UPDATE runs under EXPLAIN (ANALYZE, WAL): its server-side execution time includes
index maintenance and foreign-key triggers but not the client round trip, and its WAL bytes are
this backend's own. COPY cannot be EXPLAINed, so it is timed by the client and its WAL is the
change of the WAL insert position. The share of HOT updates comes from the transaction's own
counters (pg_stat_get_xact_tuples_hot_updated) read just before COMMIT.

Rows a phase writes are deleted again and the active set restored afterwards (then VACUUM), so
the "after" phase starts from the same rows as the "before" phase.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from bench.results.model import Interval, Operation, WritePhase, WriteSection, WriteWorkload
from bench.results.stats import ratio_of_medians_ci, summarize
from bench.runner.plans import explain_document
from seed.copy_text import copy_chunks
from seed.generate import generate
from seed.models import TABLES, Base

Connection = psycopg.Connection[Any]
ROWS_PER_TXN = 10  # statements per committed unit of work
ROWS_PER_ROUND = 50  # single-row statements per round
COPY_ROWS_PER_ROUND = 5_000
COPY_TABLES = ("social_media_activity", "agent_executions")
ACTIVE_SET = 500  # rows per table the update workloads keep touching

UPDATES: dict[str, tuple[str, str]] = {
    # name: (table, SET clause); %(id)s and %(n)s are bound per statement.
    "update:leads": (
        "leads", "updated_at = clock_timestamp()"),
    "update:agent_executions": (
        "agent_executions", "status = 'completed', completed_at = clock_timestamp(), "
        "latency_ms = %(n)s"),
    "update:social_media_activity": (
        "social_media_activity", "scraped_at = clock_timestamp(), engagement_count = %(n)s"),
    "update:contact_social_profiles": (
        "contact_social_profiles", "decision_maker_score = %(n)s, contact_priority = "
        "CASE WHEN %(n)s >= 70 THEN 'critical' WHEN %(n)s >= 45 THEN 'high' "
        "WHEN %(n)s >= 20 THEN 'medium' ELSE 'low' END, updated_at = clock_timestamp()"),
}
# Which rows form the active set: the app updates these kinds of rows.
ACTIVE_ROWS = {
    "update:leads": "SELECT id FROM leads ORDER BY id",
    "update:agent_executions":
        "SELECT id FROM agent_executions WHERE status = 'running' ORDER BY id",
    "update:social_media_activity": "SELECT id FROM social_media_activity ORDER BY id",
    "update:contact_social_profiles": "SELECT id FROM contact_social_profiles ORDER BY id",
}


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
    run_round: Callable[[Connection, int], WriteRound]
    rounds: dict[str, list[WriteRound]] = field(default_factory=dict)


def _explain(conn: Connection, query: str | sql.Composable, params: Any) -> dict[str, Any]:
    stmt = sql.SQL("EXPLAIN (ANALYZE, WAL, FORMAT JSON) ") + (
        sql.SQL(query) if isinstance(query, str) else query)
    return explain_document(conn.execute(stmt, params, prepare=False).fetchone())


def _one(conn: Connection, query: str | sql.Composed, params: Any = None) -> Any:
    """The single value a query returns."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, "a query for one value returned no row"
    return row[0]


def _wal_lsn(conn: Connection) -> int:
    return int(_one(conn, "SELECT pg_current_wal_insert_lsn() - '0/0'"))


def _statement_round(
    conn: Connection, statements: Sequence[tuple[sql.Composable, Mapping[str, Any]]],
    table: str | None = None,
) -> WriteRound:
    """Run statements under EXPLAIN (ANALYZE, WAL), ROWS_PER_TXN per committed transaction."""
    server_ms = 0.0
    wal = records = fpi = updated = hot = 0
    start = time.perf_counter()
    for first in range(0, len(statements), ROWS_PER_TXN):
        with conn.transaction():
            for query, params in statements[first:first + ROWS_PER_TXN]:
                doc = _explain(conn, query, params)
                server_ms += float(doc["Execution Time"])
                wal += int(doc["Plan"].get("WAL Bytes", 0))
                records += int(doc["Plan"].get("WAL Records", 0))
                fpi += int(doc["Plan"].get("WAL FPI", 0))
            if table:
                u, h = conn.execute(
                    "SELECT pg_stat_get_xact_tuples_updated(%s::regclass), "
                    "pg_stat_get_xact_tuples_hot_updated(%s::regclass)", (table, table),
                ).fetchone()  # type: ignore[misc]
                updated, hot = updated + u, hot + h
    wall_ms = (time.perf_counter() - start) * 1000
    return WriteRound(len(statements), server_ms, wall_ms, wal, records, fpi, updated, hot)


def _insert_workload(table: str, rows: dict[str, np.ndarray], n: int) -> Workload:
    columns = [c for c in rows if c != "id"]
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder(c) for c in columns))
    values = _python_rows({c: rows[c][:n] for c in columns}, columns)

    def run_round(conn: Connection, round_index: int) -> WriteRound:
        # Round i inserts the same rows in both phases.
        first = round_index * ROWS_PER_ROUND
        batch = [(query, values[(first + k) % len(values)]) for k in range(ROWS_PER_ROUND)]
        return _statement_round(conn, batch)

    return Workload(f"insert:{table}", table, "insert",
                    f"{ROWS_PER_ROUND} single-row INSERT ... RETURNING id per round, "
                    f"committed every {ROWS_PER_TXN}", run_round)


def _copy_workload(table: str, rows: dict[str, np.ndarray]) -> Workload:
    columns = [c for c in rows if c != "id"]
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    chunks = [text for _, text in copy_chunks([rows[c] for c in columns],
                                              chunk_rows=COPY_ROWS_PER_ROUND)]
    chunks = [c for c in chunks if c.count("\n") == COPY_ROWS_PER_ROUND] or chunks

    def run_round(conn: Connection, round_index: int) -> WriteRound:
        text = chunks[round_index % len(chunks)]
        n = text.count("\n")
        lsn = _wal_lsn(conn)
        start = time.perf_counter()
        with conn.transaction(), conn.cursor().copy(stmt) as copy:
            copy.write(text)
        wall_ms = (time.perf_counter() - start) * 1000
        return WriteRound(n, wall_ms, wall_ms, _wal_lsn(conn) - lsn)

    return Workload(f"copy:{table}", table, "copy",
                    f"COPY of {COPY_ROWS_PER_ROUND:,} rows per round in one transaction",
                    run_round)


def _update_workload(name: str, active_ids: list[int], seed: int) -> Workload:
    table, set_clause = UPDATES[name]
    query = sql.SQL("UPDATE {} SET ").format(sql.Identifier(table)) + sql.SQL(
        set_clause) + sql.SQL(" WHERE id = %(id)s")

    def run_round(conn: Connection, round_index: int) -> WriteRound:
        # Round i updates the same rows to the same values in both phases.
        rng = np.random.default_rng([seed, zlib.crc32(name.encode()), round_index])
        ids = rng.choice(active_ids, ROWS_PER_ROUND)
        n = rng.integers(1, 100, ROWS_PER_ROUND)
        batch = [(query, {"id": int(i), "n": int(v)}) for i, v in zip(ids, n, strict=True)]
        return _statement_round(conn, batch, table=table)

    return Workload(name, table, "update",
                    f"{ROWS_PER_ROUND} single-row UPDATEs per round on {len(active_ids)} "
                    f"busy rows, committed every {ROWS_PER_TXN}: SET {set_clause}", run_round)


def _python_rows(rows: dict[str, np.ndarray], columns: list[str]) -> list[dict[str, Any]]:
    out = []
    n = len(rows[columns[0]])
    for i in range(n):
        rec: dict[str, Any] = {}
        for c in columns:
            v = rows[c][i]
            if isinstance(v, np.datetime64):
                v = None if np.isnat(v) else v.astype("datetime64[us]").item()
            elif isinstance(v, np.floating):
                v = None if np.isnan(v) else float(v)
            elif isinstance(v, np.integer):
                v = int(v)
            rec[c] = v
        out.append(rec)
    return out


class WriteBench:
    """Builds the workloads once, then measures them in a phase and cleans up after it."""

    def __init__(self, conn: Connection, seed: int, rounds: int, warmup: int,
                 checkpoint: bool = True) -> None:
        # checkpoint=False on a server the harness does not own: CHECKPOINT is server-wide I/O.
        self.rounds, self.warmup, self.checkpoint = rounds, warmup, checkpoint
        needed = (rounds + warmup) * ROWS_PER_ROUND
        copy_needed = (rounds + warmup) * COPY_ROWS_PER_ROUND
        # Fresh rows from the same generator (another seed), referencing existing leads only.
        scale = max(needed / 60_000, copy_needed / 1_000_000, 0.001)
        sample = generate(seed + 1, scale).tables
        n_leads = int(_one(conn, "SELECT count(*) FROM leads"))
        for cols in sample.values():
            if "lead_id" in cols:
                cols["lead_id"] = (cols["lead_id"] - 1) % n_leads + 1
        active_rng = np.random.default_rng(seed)
        self.active: dict[str, list[int]] = {}
        for name, query in ACTIVE_ROWS.items():
            ids = [r[0] for r in conn.execute(query).fetchall()]
            pick = active_rng.choice(len(ids), min(ACTIVE_SET, len(ids)), replace=False)
            self.active[name] = sorted(ids[int(i)] for i in pick)
        self.workloads = [_insert_workload(t, sample[t], needed) for t in TABLES]
        self.workloads += [_copy_workload(t, sample[t]) for t in COPY_TABLES]
        self.workloads += [_update_workload(n, ids, seed) for n, ids in self.active.items()]
        self.leads_kept = False

    def measure(self, conninfo: str, phase: str) -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("SET jit = off")
            baseline = self._snapshot(conn)
            # Both phases start right after a checkpoint: the same full-page-image cost.
            if self.checkpoint:
                _try(conn, "CHECKPOINT")
            for w in self.workloads:
                w.rounds[phase] = []
            for i in range(-self.warmup, self.rounds):
                for w in self.workloads:
                    r = w.run_round(conn, i + self.warmup)
                    if i >= 0:
                        w.rounds[phase].append(r)
            self._restore(conn, baseline)

    def _snapshot(self, conn: Connection) -> dict[str, int]:
        for name, ids in self.active.items():
            table = UPDATES[name][0]
            conn.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} AS "
                                 "SELECT * FROM {} WHERE id = ANY(%s)").format(
                sql.Identifier(f"snapshot_{table}"), sql.Identifier(table)), (ids,))
        return {t: int(_one(conn, sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(
            sql.Identifier(t)))) for t in TABLES}

    def _restore(self, conn: Connection, max_ids: dict[str, int]) -> None:
        # Deleting the inserted leads would fire a foreign-key check per row that seq-scans
        # the unindexed child tables (minutes at scale 1). The inserted children reference old
        # leads only, so skipping those checks is safe, as pg_restore --disable-triggers does;
        # it needs superuser. Without it the inserted leads stay (recorded in results.json).
        self.leads_kept = not _try(conn, "SET session_replication_role = replica")
        with conn.transaction():
            for table in reversed(TABLES):  # children first
                if table == "leads" and self.leads_kept:
                    continue
                conn.execute(sql.SQL("DELETE FROM {} WHERE id > %s").format(
                    sql.Identifier(table)), (max_ids[table],))
            for name in self.active:
                table = UPDATES[name][0]
                cols = [c.name for c in Base.metadata.tables[table].columns if c.name != "id"]
                conn.execute(sql.SQL("UPDATE {t} SET ({c}) = (SELECT {sc} FROM {s} "
                                     "WHERE {s}.id = {t}.id) WHERE id IN (SELECT id FROM {s})"
                                     ).format(
                    t=sql.Identifier(table), s=sql.Identifier(f"snapshot_{table}"),
                    c=sql.SQL(", ").join(map(sql.Identifier, cols)),
                    sc=sql.SQL(", ").join(sql.Identifier(f"snapshot_{table}", c) for c in cols)))
                conn.execute(sql.SQL("DROP TABLE {}").format(
                    sql.Identifier(f"snapshot_{table}")))
        if not self.leads_kept:
            conn.execute("RESET session_replication_role")
        for table in TABLES:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))

    def section(self, claim_for: Callable[[str], Interval | None]) -> WriteSection:
        """The `writes` section of results.json; `claim_for(operation)` gives the claim."""
        return WriteSection(
            rows_per_round=ROWS_PER_ROUND, rows_per_transaction=ROWS_PER_TXN,
            copy_rows_per_round=COPY_ROWS_PER_ROUND, rounds=self.rounds, warmup=self.warmup,
            active_set_rows=ACTIVE_SET, inserted_leads_kept=self.leads_kept,
            checkpoint_per_phase=self.checkpoint,
            workloads=[_record(w, claim_for(w.operation)) for w in self.workloads],
        )


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
    per_row_us = [1000 * r.server_ms / r.rows for r in rounds]
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


def _record(w: Workload, claim: Interval | None) -> WriteWorkload:
    before, after = _phase(w.rounds.get("before", [])), _phase(w.rounds.get("after", []))
    rec = WriteWorkload(
        name=w.name, table=w.table, operation=w.operation, description=w.description,
        timing="client" if w.operation == "copy" else "server", before=before, after=after,
        claimed_pct=claim,
    )
    if before and after:
        b, a = before.times_us_per_row, after.times_us_per_row
        n = min(len(b), len(a))
        lo, hi = ratio_of_medians_ci(a[:n], b[:n], paired=False)
        rec.overhead_pct = 100.0 * (after.median_us_per_row / before.median_us_per_row - 1)
        rec.overhead_ci95 = (100.0 * (lo - 1), 100.0 * (hi - 1))
        rec.wal_overhead_pct = (
            100.0 * (after.wal_bytes_per_row / before.wal_bytes_per_row - 1)
            if before.wal_bytes_per_row else None)
    return rec
