"""Migration 007 through Alembic's operations API: 19 indexes appear, then disappear."""

from __future__ import annotations

import sqlalchemy as sa

from bench.config import RunConfig
from bench.runner import catalog
from bench.runner.migrate import apply
from bench.runner.provision import Target
from bench.runner.seeding import seed_database
from seed.models import TABLES
from tests.sales_agent import MIGRATION_FILE

REPORT_INDEXES = {
    "ix_social_media_activity_lead_id", "ix_contact_social_profiles_lead_id",
    "ix_organization_charts_lead_id", "ix_leads_qualified_at", "ix_leads_updated_at",
    "ix_agent_executions_started_at", "ix_agent_executions_completed_at",
    "ix_social_media_activity_posted_at", "ix_social_media_activity_scraped_at",
    "ix_social_media_activity_sentiment", "ix_contact_social_profiles_decision_maker_score",
    "ix_contact_social_profiles_contact_priority", "ix_voice_session_logs_completed_at",
    "ix_leads_score_created", "ix_agent_executions_status_created",
    "ix_agent_executions_lead_status", "ix_social_media_activity_platform_posted",
    "ix_contact_profiles_company_score", "ix_voice_sessions_status_created",
}


def _names(target: Target) -> set[str]:
    with target.connect() as conn:
        return {i.name for i in catalog.list_indexes(conn, TABLES)}


def test_round_trip(scratch_db: Target) -> None:
    cfg = RunConfig(scale=0.002, seed=1, progress=False)
    seed_database(scratch_db, cfg, echo=lambda _line: None)
    engine = sa.create_engine(scratch_db.sqlalchemy_url(), poolclass=sa.pool.NullPool)
    try:
        original = _names(scratch_db)
        up = apply(engine, scratch_db, cfg.migration, "upgrade")
        after_up = _names(scratch_db)
        down = apply(engine, scratch_db, cfg.migration, "downgrade")
        after_down = _names(scratch_db)
    finally:
        engine.dispose()

    assert len(REPORT_INDEXES) == 19
    assert set(up.indexes) == REPORT_INDEXES
    assert after_up == original | REPORT_INDEXES
    assert after_down == original
    assert set(down.indexes) == REPORT_INDEXES
    # Every CREATE INDEX was timed as it ran.
    assert {s.index for s in up.statements if s.action == "create"} == REPORT_INDEXES
    assert all(s.seconds > 0 for s in up.statements)
    gained = {t: up.index_counts_after[t] - up.index_counts_before[t] for t in TABLES}
    assert gained == {"leads": 3, "agent_executions": 4, "social_media_activity": 5,
                      "contact_social_profiles": 4, "organization_charts": 1,
                      "voice_session_logs": 2}


def test_partial_and_descending_definitions(scratch_db: Target) -> None:
    cfg = RunConfig(scale=0.002, seed=1, progress=False)
    seed_database(scratch_db, cfg, echo=lambda _line: None)
    engine = sa.create_engine(scratch_db.sqlalchemy_url(), poolclass=sa.pool.NullPool)
    try:
        apply(engine, scratch_db, cfg.migration, "upgrade")
    finally:
        engine.dispose()
    with scratch_db.connect() as conn:
        defs = dict(conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)",
            (["ix_leads_score_created", "ix_social_media_activity_platform_posted"],),
        ).fetchall())
    assert "WHERE (qualification_score IS NOT NULL)" in defs["ix_leads_score_created"]
    assert "qualification_score DESC, created_at DESC" in defs["ix_leads_score_created"]
    assert "(platform, posted_at DESC)" in defs["ix_social_media_activity_platform_posted"]
    assert MIGRATION_FILE.name.startswith("007_")
