"""The seeder: deterministic, realistic enough, loaded as the models say."""

from __future__ import annotations

import numpy as np
import pytest

from bench.config import RunConfig
from bench.runner.provision import Target
from bench.runner.seeding import seed_database
from seed.generate import ROWS_AT_SCALE_1, generate, row_counts
from seed.models import TABLES


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
