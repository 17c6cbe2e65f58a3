"""The generic generator on a real server: the ticketing app (tests/apps/ticketing, a
pg_dump-style SQL schema) seeded from its catalog alone, every constraint made again and
validated by the load; deterministic per seed; skewed foreign keys; and a type it cannot fill."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from psycopg import sql

from bench.config import RunConfig
from bench.data.fanout import top_share
from bench.errors import ConfigError
from bench.project.app import App, resolve
from bench.runner.provision import Target, scratch_database
from bench.runner.seeding import generator_for, seed_database

ROOT = Path(__file__).resolve().parents[2]
TICKETING = ROOT / "tests" / "apps" / "ticketing"
TABLES = ["venues", "customers", "events", "price_tiers", "orders", "tickets", "payments"]


def _seed(target: Target, app: App, scale: float, seed: int) -> None:
    seed_database(target, RunConfig(scale=scale, seed=seed, progress=False, app=app),
                  echo=lambda _line: None)


def _digests(target: Target, tables: list[str]) -> dict[str, str]:
    with target.connect() as conn:
        return {t: conn.execute(sql.SQL("SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) "
                                        "FROM {} AS x").format(sql.Identifier(t))).fetchone()[0]
                for t in tables}


@pytest.fixture(scope="module")
def ticketing(pg_server: str):
    app = resolve(TICKETING)
    with scratch_database(pg_server, "embedded") as target:
        _seed(target, app, 0.1, 7)
        yield target, app


def test_ticketing_is_filled_with_every_constraint_back(ticketing) -> None:
    target, app = ticketing
    expected = generator_for(target, RunConfig(scale=0.1, seed=7, app=app)).row_counts(0.1)
    with target.connect() as conn:
        counts = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(t))).fetchone()[0] for t in TABLES}
        assert counts == expected
        assert counts["venues"] == 40  # [data] tables: 400 at scale 1
        assert 19_000 <= sum(counts.values()) <= 21_000  # [data] rows = 200000 at scale 0.1
        assert counts["tickets"] > counts["price_tiers"] > counts["events"] > counts["venues"]
        kinds = dict(conn.execute(
            "SELECT contype, count(*) FILTER (WHERE convalidated) FROM pg_constraint "
            "WHERE conrelid::regclass::text = ANY(%s) GROUP BY 1", (TABLES,)).fetchall())
        # 7 primary keys, 2 unique, 6 foreign keys (one composite), 10 CHECKs: all made
        # again and valid (the load validates them; a bad row would have failed it)
        kinds.pop("n", None)  # NOT NULL constraints (PostgreSQL 18)
        assert kinds == {"p": 7, "u": 2, "f": 6, "c": 10}
        indexes = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'").fetchall()}
        assert {"customers_lower_email_idx", "events_on_sale_starts_idx",
                "events_venue_id_idx"} <= indexes
        # sequences moved past the loaded ids
        row = conn.execute("SELECT nextval('orders_id_seq'), max(id) FROM orders").fetchone()
        assert row[0] > row[1]


def test_ticketing_values_respect_checks_enums_and_lengths(ticketing) -> None:
    target, _ = ticketing
    with target.connect() as conn:
        def values(query: str) -> set[object]:
            return {r[0] for r in conn.execute(query).fetchall()}

        assert values("SELECT DISTINCT status FROM orders") == {"pending", "paid", "refunded",
                                                                 "cancelled"}
        assert values("SELECT DISTINCT category FROM events") <= {
            "concert", "sport", "theatre", "comedy", "conference"}
        assert len(values("SELECT DISTINCT status::text FROM events")) == 5  # every label
        assert values("SELECT DISTINCT tier_no FROM price_tiers") <= set(range(1, 7))
        assert values("SELECT DISTINCT length(country) FROM venues") == {2}
        assert max(values("SELECT length(code) FROM events")) <= 12  # type: ignore[type-var]
        assert values("SELECT bool_and(ends_at > starts_at) FROM events") == {True}
        row = conn.execute("SELECT count(*) FILTER (WHERE phone IS NULL)::float / count(*), "
                           "count(DISTINCT lower(email)) = count(*), "
                           "bool_and(email LIKE '%_@_%.%') FROM customers").fetchone()
        assert 0.01 < row[0] < 0.15 and row[1] and row[2]  # a small null fraction
        row = conn.execute("SELECT count(*) FILTER (WHERE placed_at < '2023-10-01' "
                           "OR placed_at > '2025-10-01'), count(DISTINCT order_ref) = count(*),"
                           " count(DISTINCT metadata->>'source') FROM orders").fetchone()
        assert row[0] == 0 and row[1] and row[2] > 1  # timestamps in the window


def test_ticketing_foreign_keys_are_skewed(ticketing) -> None:
    target, _ = ticketing
    with target.connect() as conn:
        for query in ("SELECT count(o.id) FROM customers AS c LEFT JOIN orders AS o "
                      "ON o.customer_id = c.id GROUP BY c.id",
                      "SELECT count(t.line_no) FROM price_tiers AS p LEFT JOIN tickets AS t "
                      "ON (t.event_code, t.tier_no) = (p.event_code, p.tier_no) "
                      "GROUP BY p.event_code, p.tier_no",
                      "SELECT count(*) FROM tickets GROUP BY order_id"):
            per_parent = [r[0] for r in conn.execute(query).fetchall()]
            import numpy as np

            assert top_share(np.array(per_parent)) > 0.3, query  # not the 10% of uniform


def test_the_same_seed_gives_the_same_rows(pg_server: str) -> None:
    app = resolve(TICKETING)
    digests = []
    for seed in (3, 3, 4):
        with scratch_database(pg_server, "embedded") as target:
            _seed(target, app, 0.03, seed)
            digests.append(_digests(target, TABLES))
    assert digests[0] == digests[1]
    assert all(digests[0][t] != digests[2][t] for t in TABLES)


def test_the_007_schema_seeds_with_the_generic_generator(scratch_db: Target) -> None:
    app = dataclasses.replace(resolve(ROOT), generator=None)
    _seed(scratch_db, app, 0.01, 1)
    with scratch_db.connect() as conn:
        rows = dict(conn.execute("SELECT relname, n_live_tup FROM pg_stat_user_tables").fetchall())
        assert 9_000 <= sum(rows.values()) <= 11_000  # about a million at scale 1
        assert all(n > 0 for n in rows.values())
        assert conn.execute("SELECT bool_and(convalidated) FROM pg_constraint WHERE contype = "
                            "'f'").fetchone()[0]


def test_a_column_it_cannot_fill_is_one_line(scratch_db: Target, tmp_path: Path) -> None:
    (tmp_path / "queries").mkdir()
    (tmp_path / "m.sql").write_text("CREATE INDEX ON gadgets (id);\n")
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE gadgets (id integer PRIMARY KEY, seen_from inet NOT NULL);\n")
    (tmp_path / "pg-index-bench.toml").write_text(
        'schema = "schema.sql"\nmigration = "m.sql"\nqueries = "queries"\n')
    with pytest.raises(ConfigError) as err:
        _seed(scratch_db, resolve(tmp_path), 0.01, 1)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("gadgets.seen_from: the generic generator cannot fill a column "
                              "of type INET; name an own generator in the project file")
