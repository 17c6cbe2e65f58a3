"""Add comprehensive database indexes (migration 007 of the sales-agent backend).

The 19 indexes listed in TASK_21_COMPLETION_REPORT.md: 3 on foreign keys, 10 single-column,
6 composite. The report does not give the partial index's WHERE clause;
`qualification_score IS NOT NULL` is the natural one and is used here.

The harness applies this file through Alembic's operations API, so it runs without alembic.ini
or env.py; it is also a valid revision file for an Alembic project.

Revision ID: 007_comprehensive_indexes
Revises: 006_add_voice_session_logs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "007_comprehensive_indexes"
down_revision = "006_add_voice_session_logs"
branch_labels = None
depends_on = None

# (name, table, columns, extra keyword arguments) in the report's order.
INDEXES: list[tuple[str, str, list, dict]] = [
    # High priority: foreign keys PostgreSQL does not index by itself.
    ("ix_social_media_activity_lead_id", "social_media_activity", ["lead_id"], {}),
    ("ix_contact_social_profiles_lead_id", "contact_social_profiles", ["lead_id"], {}),
    ("ix_organization_charts_lead_id", "organization_charts", ["lead_id"], {}),
    # Medium priority: timestamps and filters.
    ("ix_leads_qualified_at", "leads", ["qualified_at"], {}),
    ("ix_leads_updated_at", "leads", ["updated_at"], {}),
    ("ix_agent_executions_started_at", "agent_executions", ["started_at"], {}),
    ("ix_agent_executions_completed_at", "agent_executions", ["completed_at"], {}),
    ("ix_social_media_activity_posted_at", "social_media_activity", ["posted_at"], {}),
    ("ix_social_media_activity_scraped_at", "social_media_activity", ["scraped_at"], {}),
    ("ix_social_media_activity_sentiment", "social_media_activity", ["sentiment"], {}),
    ("ix_contact_social_profiles_decision_maker_score", "contact_social_profiles",
     ["decision_maker_score"], {}),
    ("ix_contact_social_profiles_contact_priority", "contact_social_profiles",
     ["contact_priority"], {}),
    ("ix_voice_session_logs_completed_at", "voice_session_logs", ["completed_at"], {}),
    # Low priority: composites for multi-column filters and sorts.
    ("ix_leads_score_created", "leads",
     [sa.text("qualification_score DESC"), sa.text("created_at DESC")],
     {"postgresql_where": sa.text("qualification_score IS NOT NULL")}),
    ("ix_agent_executions_status_created", "agent_executions",
     ["status", sa.text("created_at DESC")], {}),
    ("ix_agent_executions_lead_status", "agent_executions", ["lead_id", "status"], {}),
    ("ix_social_media_activity_platform_posted", "social_media_activity",
     ["platform", sa.text("posted_at DESC")], {}),
    ("ix_contact_profiles_company_score", "contact_social_profiles",
     ["company_name", sa.text("decision_maker_score DESC")], {}),
    ("ix_voice_sessions_status_created", "voice_session_logs",
     ["status", sa.text("created_at DESC")], {}),
]


def upgrade() -> None:
    for name, table, columns, kwargs in INDEXES:
        op.create_index(name, table, columns, unique=False, if_not_exists=True, **kwargs)


def downgrade() -> None:
    for name, table, _columns, _kwargs in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)
