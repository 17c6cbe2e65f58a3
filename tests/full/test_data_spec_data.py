"""Data made from a data spec ([data.spec]) on a real server: a small schema whose shares, NULL
fraction, distinct count, bounds, fan-out skew, lags and sorted order come out as its spec says
(read back through SQL and pg_stats); and the 007 app's data written as a spec
(tests/apps/sales_agent_spec) against README.md's table "The data"."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest
from psycopg import sql

import seed.models as models_007
from bench.config import RunConfig
from bench.data.fanout import top_share
from bench.data.generator import for_app
from bench.data.strings import Text, materialize
from bench.project.app import App, resolve
from bench.runner.provision import Target, scratch_database
from bench.runner.seeding import seed_database

ROOT = Path(__file__).resolve().parents[2]
SALES_SPEC = ROOT / "tests" / "apps" / "sales_agent_spec"

SCHEMA = """
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan text NOT NULL CHECK (plan IN ('free', 'pro', 'team', 'enterprise')),
    region text,
    seats integer NOT NULL CHECK (seats >= 1),
    signed_up_at timestamptz NOT NULL,
    churned_at timestamptz
);
CREATE TABLE events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    happened_at timestamptz NOT NULL,
    processed_at timestamptz,
    amount numeric(10, 2),
    size_class text
);
"""

SPEC = """
schema = "schema.sql"
migration = "m.sql"
queries = "queries"

[data.spec.accounts]
rows = 4000

[data.spec.accounts.columns.plan]
values = { free = 0.70, pro = 0.20, team = 0.08, enterprise = "rest" }

[data.spec.accounts.columns.region]
distribution = "zipf"
s = 1.0
distinct = 30
null_frac = 0.1

[data.spec.accounts.columns.seats]
distribution = "pareto"
alpha = 1.5
min = 1
max = 5000

[data.spec.accounts.columns.signed_up_at]
distribution = "uniform"
min = 2024-01-01T00:00:00Z
max = 2025-01-01T00:00:00Z

[data.spec.accounts.columns.churned_at]
after = { column = "signed_up_at", lag = { distribution = "exponential", mean = "30d" } }
null_unless = { column = "plan", values = ["free"] }

[data.spec.events]
rows_per_parent = { parent = "accounts", mean = 10 }
order = "happened_at"

[data.spec.events.columns.account_id]
fanout = { distribution = "pareto", alpha = 1.16 }

[data.spec.events.columns.happened_at]
distribution = "normal"
mean = 2025-03-01T00:00:00Z
sd = "20d"
min = 2025-01-01T00:00:00Z
max = 2025-06-01T00:00:00Z

[data.spec.events.columns.processed_at]
after = { column = "happened_at", lag = { distribution = "lognormal", median = "8s", sigma = 0.8 } }
null_frac = 0.25

[data.spec.events.columns.amount]
distribution = "lognormal"
median = 40
sigma = 1
min = 0
max = 100000
distinct = 500

[data.spec.events.columns.size_class]
mapped_from = { column = "amount", map = [[0, 10, "small"], [10, 100, "medium"]], else = "large" }
"""


@pytest.fixture(scope="module")
def spec_db(pg_server: str, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("spec_app")
    (folder / "schema.sql").write_text(SCHEMA)
    (folder / "m.sql").write_text("CREATE INDEX events_account_id_idx ON events (account_id);\n")
    (folder / "queries").mkdir()
    (folder / "pg-index-bench.toml").write_text(SPEC)
    app = resolve(folder)
    with scratch_database(pg_server, "embedded") as target:
        seed_database(target, RunConfig(scale=1.0, seed=11, progress=False, app=app),
                      echo=lambda _line: None)
        yield target


def _one(target: Target, query: str) -> tuple:
    with target.connect() as conn:
        return conn.execute(query).fetchone()


def _stats(target: Target, table: str, column: str) -> tuple:
    return _one(target, "SELECT null_frac, n_distinct, correlation FROM pg_stats WHERE "
                        f"tablename = '{table}' AND attname = '{column}'")


def test_rows_shares_and_nulls_are_as_specified(spec_db: Target) -> None:
    assert _one(spec_db, "SELECT count(*) FROM accounts") == (4000,)
    assert _one(spec_db, "SELECT count(*) FROM events") == (40000,)  # 10 per account
    with spec_db.connect() as conn:
        shares = dict(conn.execute("SELECT plan, count(*)::float / 4000 FROM accounts "
                                   "GROUP BY plan").fetchall())
    for plan, want in {"free": 0.70, "pro": 0.20, "team": 0.08, "enterprise": 0.02}.items():
        assert abs(shares[plan] - want) < 0.025, (plan, shares)
    null_frac, n_distinct, _ = _stats(spec_db, "accounts", "region")
    assert 0.08 < null_frac < 0.12 and n_distinct == 30
    null_frac, _, _ = _stats(spec_db, "events", "processed_at")
    assert 0.22 < null_frac < 0.28
    # NULL unless free, and then a lag after signing up (median 30 d * ln 2)
    row = _one(spec_db, "SELECT bool_and((churned_at IS NULL) = (plan <> 'free')), "
                        "bool_and(churned_at > signed_up_at), percentile_cont(0.5) WITHIN "
                        "GROUP (ORDER BY extract(epoch FROM churned_at - signed_up_at)) / 86400 "
                        "FROM accounts")
    assert row[0] and row[1] and 17 < row[2] < 24


def test_bounds_distinct_skew_and_the_mapped_column(spec_db: Target) -> None:
    row = _one(spec_db, "SELECT min(seats), max(seats), percentile_cont(0.5) WITHIN GROUP "
                        "(ORDER BY seats) FROM accounts")
    assert row[0] >= 1 and row[1] <= 5000 and 1 <= row[2] <= 2  # Pareto(1.5): median 1.59
    assert _one(spec_db, "SELECT min(signed_up_at) >= '2024-01-01', max(signed_up_at) <= "
                         "'2025-01-01' FROM accounts") == (True, True)
    assert _one(spec_db, "SELECT min(happened_at) >= '2025-01-01', max(happened_at) <= "
                         "'2025-06-01', min(amount) >= 0 FROM events") == (True, True, True)
    distinct = _one(spec_db, "SELECT count(DISTINCT amount) FROM events")[0]
    assert 400 <= distinct <= 600  # distinct = 500
    with spec_db.connect() as conn:
        per_account = [r[0] for r in conn.execute(
            "SELECT count(e.id) FROM accounts a LEFT JOIN events e ON e.account_id = a.id "
            "GROUP BY a.id").fetchall()]
    assert 0.55 < top_share(np.array(per_account)) < 0.8  # Pareto(1.16), "80/20"
    row = _one(spec_db, "SELECT bool_and(size_class = CASE WHEN amount < 10 THEN 'small' "
                        "WHEN amount < 100 THEN 'medium' ELSE 'large' END) FROM events")
    assert row == (True,)


def test_lags_and_the_physical_order(spec_db: Target) -> None:
    row = _one(spec_db, "SELECT bool_and(processed_at >= happened_at), percentile_cont(0.5) "
                        "WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - happened_at)) "
                        "FROM events")
    assert row[0] and 7 < row[1] < 9  # log-normal lag, median 8 s
    _, _, correlation = _stats(spec_db, "events", "happened_at")
    assert correlation > 0.99  # order = "happened_at"
    _, _, correlation = _stats(spec_db, "accounts", "signed_up_at")
    assert abs(correlation) < 0.1  # no order given: random


# --- the 007 app's data as a spec -------------------------------------------------------------

# README.md, "The data" (seed 42, scale 1): shares of rows.
README_SHARES = {
    ("leads", "status"): {"new": 0.30, "contacted": 0.25, "qualified": 0.20,
                          "disqualified": 0.15, "converted": 0.10},
    ("agent_executions", "status"): {"completed": 0.86, "failed": 0.06, "running": 0.025,
                                     "timeout": 0.02, "pending": 0.02, "cancelled": 0.015},
    ("social_media_activity", "platform"): {"linkedin": 0.55, "twitter": 0.25,
                                            "facebook": 0.08, "instagram": 0.06,
                                            "youtube": 0.04, "reddit": 0.02},
    ("contact_social_profiles", "contact_priority"): {"critical": 0.01, "high": 0.15,
                                                      "medium": 0.49, "low": 0.35},
    ("voice_session_logs", "status"): {"completed": 0.78, "no_answer": 0.10,
                                       "voicemail": 0.05, "failed": 0.04, "busy": 0.02,
                                       "in_progress": 0.01},
}


def _close(got: object, want: float, relative: float = 0.05, floor: float = 0.004) -> bool:
    """Within a few percent of the figure (and of sampling noise for the rare values)."""
    return abs(float(got) - want) <= max(floor, relative * want)


@pytest.fixture(scope="module")
def sales_spec_db(pg_server: str):
    app = resolve(SALES_SPEC)
    with scratch_database(pg_server, "embedded") as target:
        seed_database(target, RunConfig(scale=0.1, seed=42, progress=False, app=app),
                      echo=lambda _line: None)
        yield target, app


def test_the_007_spec_gives_the_readme_shares(sales_spec_db: tuple[Target, App]) -> None:
    target, _ = sales_spec_db
    with target.connect() as conn:
        counts = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(t))).fetchone()[0] for t in models_007.TABLES}
        assert counts == {"leads": 10_000, "agent_executions": 40_000,
                          "social_media_activity": 100_000, "contact_social_profiles": 30_000,
                          "organization_charts": 6_000, "voice_session_logs": 14_000}
        for (table, column), want in README_SHARES.items():
            got = dict(conn.execute(sql.SQL("SELECT {c}, count(*)::float / {n} FROM {t} "
                                            "GROUP BY 1").format(
                c=sql.Identifier(column), t=sql.Identifier(table),
                n=sql.Literal(counts[table]))).fetchall())
            assert set(got) == set(want), (table, column, got)
            for value, share in want.items():
                assert _close(got[value], share), (table, column, value, got[value], share)
        # decision_maker_score 3% NULL; durations log-normal with median 8 s and 3 min;
        # a score and qualified_at only for the last three statuses
        row = conn.execute(
            "SELECT avg((decision_maker_score IS NULL)::int) FROM contact_social_profiles"
        ).fetchone()
        assert _close(row[0], 0.03, floor=0.005)
        row = conn.execute("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch "
                           "FROM completed_at - started_at)) FROM agent_executions").fetchone()
        assert _close(row[0], 8.0, relative=0.06)
        row = conn.execute("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                           "duration_seconds) FROM voice_session_logs WHERE status = "
                           "'completed'").fetchone()
        assert _close(row[0], 180.0, relative=0.06)
        row = conn.execute("SELECT bool_and((qualification_score IS NULL) = (status IN "
                           "('new', 'contacted'))), bool_and((qualified_at IS NULL) = "
                           "(status IN ('new', 'contacted'))), bool_and(qualified_at >= "
                           "created_at) FROM leads").fetchone()
        assert row == (True, True, True)
        # the median lead has 3 rows of social activity; 45% of leads have an org chart
        per_lead = np.array([r[0] for r in conn.execute(
            "SELECT count(s.id) FROM leads l LEFT JOIN social_media_activity s "
            "ON s.lead_id = l.id GROUP BY l.id").fetchall()])
        assert np.median(per_lead) == 3
        assert _close(top_share(per_lead, 0.1), 0.69, relative=0.05)
        row = conn.execute("SELECT count(DISTINCT lead_id)::float / 10000 "
                           "FROM organization_charts").fetchone()
        assert _close(row[0], 0.45, relative=0.05)


def test_the_007_spec_gives_the_readme_skew_at_scale_1() -> None:
    """The skew figures of README.md's table are those of scale 1 (the top 1% of 100,000 leads
    and 6,000 companies): the spec's generator at scale 1, in memory, the fan-out only."""
    app = resolve(SALES_SPEC)
    gen = for_app(app.generator, app.root, list(models_007.Base.metadata.sorted_tables),
                  app.table_rows, app.rows, app.from_stats, spec=app.data_spec)
    ctx = gen.make_context(42, 1.0)

    def column(table: str, name: str) -> np.ndarray:
        parts = [b[name] for b in gen.blocks(ctx, table)]
        return np.concatenate([materialize(p) if isinstance(p, Text) else p for p in parts])

    per_lead = np.bincount(column("social_media_activity", "lead_id"), minlength=100_001)[1:]
    # README: the top 1% of leads own 45% of all activity, the top 10% own 69%, median 3
    assert _close(top_share(per_lead, 0.01), 0.45, relative=0.04)
    assert _close(top_share(per_lead, 0.1), 0.69, relative=0.04)
    assert np.median(per_lead) == 3
    per_company = np.array(sorted(collections.Counter(
        column("contact_social_profiles", "company_name").tolist()).values()))
    # README: the largest company has 9,483 contacts, the median 28, the top 1% hold 21%
    assert _close(float(per_company.max()), 9483, relative=0.08)
    assert _close(float(np.median(per_company)), 28, relative=0.08)
    assert _close(top_share(per_company, 0.01), 0.21, relative=0.1)
