"""`python -m bench stats export`: read-only, as a role with SELECT and pg_read_all_stats only,
against a source database built here with known distributions; no text value leaves unless
--keep-values; `pg_dump --statistics-only` output reads into the same structure."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from cli_support import PASSWORD, SECRET_MARK, AuthServer, auth_server, error_line, run_cli
from psycopg import sql

from bench.results.table_stats import StatsFile
from bench.runner import client_tools
from bench.runner.stats_export import export

SOURCE_DB = "shop_source"
READER = "stats_reader"
CUSTOMERS, ORDERS = 2_000, 40_000

# A source with known distributions: a Zipf-skewed foreign key (orders.customer_id), a status
# with rare values fixed by a CHECK list, an enum, nulls (70% of notes), timestamps in
# insertion order, and text columns whose values must not leave (company, email, note).
SOURCE = f"""
SELECT setseed(0.42);
CREATE TYPE tier AS ENUM ('free', 'pro', 'enterprise');
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company text NOT NULL,
    email text NOT NULL UNIQUE,
    tier tier NOT NULL,
    signed_up_at timestamptz NOT NULL
) WITH (autovacuum_enabled = false);
INSERT INTO customers (company, email, tier, signed_up_at)
SELECT 'Zorblatt Holdings ' || (floor(power(random(), 2) * 150))::int || ' GmbH',
       'Buyer.' || i || '@Zorblatt-Mail.example',
       (ARRAY['free', 'free', 'free', 'pro', 'enterprise'])[1 + i % 5]::tier,
       timestamptz '2024-01-01' + i * interval '1 hour'
  FROM generate_series(1, {CUSTOMERS}) i;
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    status text NOT NULL CHECK (status IN ('done', 'pending', 'failed', 'refunded')),
    note text,
    amount numeric(10, 2) NOT NULL,
    created_at timestamptz NOT NULL
) WITH (autovacuum_enabled = false);
INSERT INTO orders (customer_id, status, note, amount, created_at)
SELECT 1 + floor({CUSTOMERS} * power(random(), 4))::bigint,
       CASE WHEN r < 0.004 THEN 'failed' WHEN r < 0.005 THEN 'refunded'
            WHEN r < 0.2 THEN 'pending' ELSE 'done' END,
       CASE WHEN random() < 0.3 THEN 'Leave at Quokka Door ' || (i % 40) END,
       round((random() * 500)::numeric, 2),
       timestamptz '2024-03-01' + i * interval '1 minute'
  FROM (SELECT i, random() AS r FROM generate_series(1, {ORDERS}) i) g;
ANALYZE customers;
ANALYZE orders;
"""
SECRET_TEXT_COLUMNS = {"customers": ["company", "email"], "orders": ["note"]}


@dataclass(frozen=True)
class Source:
    server: AuthServer
    admin: str  # superuser conninfo of the source database
    reader: str  # the read-only role's DSN (with its password)


@pytest.fixture(scope="module")
def source() -> Iterator[Source]:
    with auth_server({"bench_admin": "SUPERUSER"}) as server:
        with psycopg.connect(server.admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(SOURCE_DB)))
            # NOLOGIN first: the role gets its grants before it can connect.
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(READER)))
        admin = psycopg.conninfo.make_conninfo(server.admin, dbname=SOURCE_DB)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(SOURCE)
            for statement in (
                    "REVOKE ALL ON DATABASE {db} FROM PUBLIC",
                    "GRANT CONNECT ON DATABASE {db} TO {role}",
                    "GRANT USAGE ON SCHEMA public TO {role}",
                    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
                    "GRANT pg_read_all_stats TO {role}",
                    "ALTER ROLE {role} LOGIN PASSWORD {password}"):
                conn.execute(sql.SQL(statement).format(
                    db=sql.Identifier(SOURCE_DB), role=sql.Identifier(READER),
                    password=sql.Literal(PASSWORD)))
        yield Source(server, admin, server.dsn(READER, dbname=SOURCE_DB))


def _state(admin: str) -> tuple[object, ...]:
    """What any write to the source would change: the next transaction id, the tables' tuple
    counters and analyze times, and their contents."""
    with psycopg.connect(admin, autocommit=True) as conn:
        xmax = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())").fetchone()
        counters = conn.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_mod_since_analyze, last_analyze "
            "FROM pg_stat_user_tables ORDER BY relname").fetchall()
        digest = conn.execute(
            "SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM customers c").fetchone()
        digest2 = conn.execute(
            "SELECT md5(string_agg(o::text, ',' ORDER BY o.id)) FROM orders o").fetchone()
    return xmax, counters, digest, digest2


def _source_texts(admin: str) -> set[str]:
    out: set[str] = set()
    with psycopg.connect(admin) as conn:
        for table, columns in SECRET_TEXT_COLUMNS.items():
            for column in columns:
                out |= {r[0] for r in conn.execute(sql.SQL(
                    "SELECT DISTINCT {} FROM {} WHERE {} IS NOT NULL").format(
                    sql.Identifier(column), sql.Identifier(table), sql.Identifier(column)))}
    return out


def _export(source: Source, out: Path, *extra: str) -> StatsFile:
    proc = run_cli("stats", "export", "--dsn", source.reader, "--out", str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    assert SECRET_MARK not in proc.stdout + proc.stderr
    return StatsFile.model_validate_json(out.read_text())


@pytest.fixture(scope="module")
def exported(source: Source, tmp_path_factory: pytest.TempPathFactory,
             ) -> tuple[StatsFile, StatsFile, Path]:
    folder = tmp_path_factory.mktemp("stats")
    with psycopg.connect(source.admin) as conn:
        privileges = conn.execute(
            "SELECT bool_or(has_table_privilege(%s, c.oid, p)) FROM pg_class c, "
            "unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p "
            "WHERE c.relname IN ('customers', 'orders')", (READER,)).fetchone()
        temp = conn.execute("SELECT has_database_privilege(%s, %s, 'TEMP') OR "
                            "has_database_privilege(%s, %s, 'CREATE')",
                            (READER, SOURCE_DB, READER, SOURCE_DB)).fetchone()
    assert privileges == (False,) and temp == (False,)  # the role can write nothing
    before = _state(source.admin)
    hidden = _export(source, folder / "stats.json")
    kept = _export(source, folder / "kept.json", "--keep-values")
    assert _state(source.admin) == before  # no transaction id taken, no row, no statistics
    return hidden, kept, folder / "stats.json"


def test_no_text_value_of_the_source_leaves(source: Source,
                                            exported: tuple[StatsFile, StatsFile, Path]) -> None:
    hidden, kept, path = exported
    texts = _source_texts(source.admin)
    text = path.read_text()
    assert [v for v in texts if v in text] == []
    kept_text = kept.model_dump_json()
    assert any(v in kept_text for v in texts)  # the check above can see a leak
    for table, columns in SECRET_TEXT_COLUMNS.items():
        for column in columns:
            stats = hidden.table(table).column(column)  # type: ignore[union-attr]
            assert stats is not None and stats.values == "stand-ins"


def test_stand_ins_keep_frequencies_lengths_and_order(
        exported: tuple[StatsFile, StatsFile, Path]) -> None:
    hidden, kept, _ = exported
    for table, columns in SECRET_TEXT_COLUMNS.items():
        for column in columns:
            h = hidden.table(table).column(column)  # type: ignore[union-attr]
            k = kept.table(table).column(column)  # type: ignore[union-attr]
            assert h is not None and k is not None
            assert h.most_common_freqs == k.most_common_freqs
            assert (h.null_frac, h.n_distinct, h.correlation) == \
                (k.null_frac, k.n_distinct, k.correlation)
            pairs = list(zip(k.most_common_vals or [], h.most_common_vals or [], strict=True))
            pairs += list(zip(k.histogram_bounds or [], h.histogram_bounds or [], strict=True))
            assert pairs, f"{table}.{column} has neither most common values nor a histogram"
            assert all(len(a) == len(b) for a, b in pairs)
            assert len({a for a, _ in pairs}) == len({b for _, b in pairs})  # one for one
            assert h.histogram_bounds is None or h.histogram_bounds == sorted(h.histogram_bounds)
    note = hidden.table("orders").column("note")  # type: ignore[union-attr]
    assert note is not None and note.null_frac == pytest.approx(0.7, abs=0.03)


def test_values_the_schema_fixes_and_numbers_and_times_are_kept(
        exported: tuple[StatsFile, StatsFile, Path]) -> None:
    hidden, _, _ = exported
    orders = hidden.table("orders")
    customers = hidden.table("customers")
    assert orders is not None and customers is not None
    assert orders.reltuples == ORDERS and customers.reltuples == CUSTOMERS
    status = orders.column("status")
    assert status is not None and status.values == "schema"
    freqs = dict(zip(status.most_common_vals or [], status.most_common_freqs or [], strict=True))
    assert set(freqs) == {"done", "pending", "failed", "refunded"}
    assert freqs["failed"] == pytest.approx(0.004, abs=0.002)
    assert freqs["refunded"] == pytest.approx(0.001, abs=0.001)
    tier = customers.column("tier")
    assert tier is not None and tier.values == "schema" and tier.kind == "enum"
    assert set(tier.most_common_vals or []) == {"free", "pro", "enterprise"}
    created = orders.column("created_at")
    assert created is not None and created.kind == "time" and created.values == "kept"
    assert created.correlation == pytest.approx(1.0, abs=0.01)
    assert (created.histogram_bounds or [""])[0].startswith("2024-03-01")
    amount = orders.column("amount")
    assert amount is not None and amount.values == "kept"
    assert all(float(v) <= 500 for v in amount.histogram_bounds or [])


def test_the_foreign_keys_fan_out(source: Source,
                                  exported: tuple[StatsFile, StatsFile, Path]) -> None:
    hidden, _, _ = exported
    (fk,) = hidden.foreign_keys
    assert (fk.table, fk.columns, fk.parent_table, fk.parent_columns) == \
        ("orders", ["customer_id"], "customers", ["id"])
    with psycopg.connect(source.admin) as conn:
        counts = sorted(r[0] for r in conn.execute(
            "SELECT count(*) FROM orders GROUP BY customer_id"))
    assert fk.sample_method == "full" and fk.sample_rows == ORDERS
    assert fk.distinct_parents == pytest.approx(len(counts), rel=0.25)
    q = fk.children_per_parent
    assert q is not None
    assert q.max == counts[-1] and q.p50 == pytest.approx(counts[len(counts) // 2], abs=1)
    assert q.max > 20 * q.p50  # the skew is seen
    assert fk.top_children[0] == pytest.approx(counts[-1], rel=0.2)
    # A bounded sample: TABLESAMPLE SYSTEM at the fraction that gives about 4,000 rows.
    sampled = export(source.reader, tables={"orders", "customers"}, sample_rows=4_000)
    (small,) = sampled.foreign_keys
    assert small.sample_method == "tablesample system"
    assert 0 < small.sample_rows <= 4_000 and small.sample_fraction == pytest.approx(0.1)
    assert small.children_per_parent is not None
    assert small.children_per_parent.max == pytest.approx(counts[-1], rel=0.5)


def test_tables_and_bad_input(source: Source, tmp_path: Path) -> None:
    only = _export(source, tmp_path / "one.json", "--tables", "customers")
    assert [t.name for t in only.tables] == ["customers"] and only.foreign_keys == []
    proc = run_cli("stats", "export", "--dsn", source.reader, "--out", str(tmp_path / "x.json"),
                   "--tables", "customers,nosuch")
    assert "no table nosuch" in error_line(proc)
    with psycopg.connect(source.admin, autocommit=True) as conn:
        conn.execute(sql.SQL("REVOKE SELECT ON orders FROM {}").format(sql.Identifier(READER)))
    try:
        proc = run_cli("stats", "export", "--dsn", source.reader, "--out", str(tmp_path / "x"))
        line = error_line(proc)
        assert "lacks SELECT on orders" in line and SECRET_MARK not in proc.stderr
    finally:
        with psycopg.connect(source.admin, autocommit=True) as conn:
            conn.execute(sql.SQL("GRANT SELECT ON orders TO {}").format(sql.Identifier(READER)))
    dsn = source.reader.replace(f"host={source.server.socket_dir}", "host=/nonexistent")
    proc = run_cli("stats", "export", "--dsn", dsn, "--out", str(tmp_path / "x.json"))
    line = error_line(proc)
    assert "cannot connect to PostgreSQL" in line and SECRET_MARK not in proc.stderr
    assert not (tmp_path / "x.json").exists()


def test_pg_dump_statistics_only_reads_into_the_same_structure(
        source: Source, exported: tuple[StatsFile, StatsFile, Path], tmp_path: Path) -> None:
    _, kept, _ = exported
    dump = tmp_path / "stats.sql"
    subprocess.run([str(client_tools.tool("pg_dump")), "--statistics-only", "-f", str(dump),
                    "-d", source.admin], check=True, capture_output=True, timeout=60)
    assert "pg_restore_attribute_stats" in dump.read_text()
    proc = run_cli("stats", "export", "--from-dump", str(dump), "--out", str(tmp_path / "d.json"),
                   "--keep-values")
    assert proc.returncode == 0, proc.stderr
    from_dump = StatsFile.model_validate_json((tmp_path / "d.json").read_text())
    assert from_dump.source == "pg_dump" and from_dump.schema_name == "public"
    assert [t.name for t in from_dump.tables] == [t.name for t in kept.tables]
    for table in kept.tables:
        other = from_dump.table(table.name)
        assert other is not None
        assert (other.reltuples, other.relpages) == (table.reltuples, table.relpages)
        for column in table.columns:
            mine = other.column(column.name)
            assert mine is not None
            same = ("null_frac", "avg_width", "n_distinct", "most_common_vals",
                    "most_common_freqs", "histogram_bounds")
            assert {k: getattr(mine, k) for k in same} == {k: getattr(column, k) for k in same}
            assert mine.correlation == pytest.approx(column.correlation)
    proc = run_cli("stats", "export", "--from-dump", str(dump), "--out", str(tmp_path / "h.json"))
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "h.json").read_text()
    assert [v for v in _source_texts(source.admin) if v in text] == []
    json.loads(text)
