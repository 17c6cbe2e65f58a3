"""The six tables that migration 007 indexes, as the app's models declared them *before* 007.

Only primary keys and the few `index=True` lookups an app model would have carry an index here;
the three `lead_id` foreign keys on social_media_activity, contact_social_profiles and
organization_charts have none. That gap is what the report's headline claim is about.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Integer, Numeric, Text
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

TZ = TIMESTAMP(timezone=True)


class Base(DeclarativeBase):
    pass


def _pk() -> Mapped[int]:
    return mapped_column(BigInteger, Identity(), primary_key=True)


def _lead_fk(*, index: bool) -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("leads.id"), nullable=False, index=index)


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[int] = _pk()
    company_name: Mapped[str] = mapped_column(Text, index=True)
    contact_name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text, index=True)
    phone: Mapped[str | None] = mapped_column(Text)
    job_title: Mapped[str | None] = mapped_column(Text)
    industry: Mapped[str | None] = mapped_column(Text)
    company_size: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, index=True)
    qualification_score: Mapped[float | None] = mapped_column(Numeric(5, 2))
    qualification_reasoning: Mapped[str | None] = mapped_column(Text)
    qualified_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class AgentExecution(Base):
    __tablename__ = "agent_executions"

    id: Mapped[int] = _pk()
    lead_id: Mapped[int] = _lead_fk(index=True)
    agent_type: Mapped[str] = mapped_column(Text, index=True)
    status: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)
    tokens_used: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Numeric(10, 6))
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(TZ)
    completed_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)


class SocialMediaActivity(Base):
    __tablename__ = "social_media_activity"

    id: Mapped[int] = _pk()
    lead_id: Mapped[int] = _lead_fk(index=False)
    platform: Mapped[str] = mapped_column(Text)
    activity_type: Mapped[str] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    post_url: Mapped[str | None] = mapped_column(Text)
    engagement_count: Mapped[int] = mapped_column(Integer)
    sentiment: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(TZ)
    scraped_at: Mapped[datetime] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)


class ContactSocialProfile(Base):
    __tablename__ = "contact_social_profiles"

    id: Mapped[int] = _pk()
    lead_id: Mapped[int] = _lead_fk(index=False)
    full_name: Mapped[str] = mapped_column(Text)
    job_title: Mapped[str | None] = mapped_column(Text)
    company_name: Mapped[str] = mapped_column(Text)
    linkedin_url: Mapped[str | None] = mapped_column(Text)
    twitter_handle: Mapped[str | None] = mapped_column(Text)
    decision_maker_score: Mapped[float | None] = mapped_column(Numeric(5, 2))
    contact_priority: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class OrganizationChart(Base):
    __tablename__ = "organization_charts"

    id: Mapped[int] = _pk()
    lead_id: Mapped[int] = _lead_fk(index=False)
    company_name: Mapped[str] = mapped_column(Text)
    department: Mapped[str] = mapped_column(Text)
    total_employees: Mapped[int | None] = mapped_column(Integer)
    hierarchy_depth: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ)


class VoiceSessionLog(Base):
    __tablename__ = "voice_session_logs"

    id: Mapped[int] = _pk()
    session_id: Mapped[str] = mapped_column(Text, index=True)
    phone_number: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(Text)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    avg_latency_ms: Mapped[int | None] = mapped_column(Integer)
    transcript_summary: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ)
    completed_at: Mapped[datetime | None] = mapped_column(TZ)


# Load order: parents before children (foreign keys are added after the load anyway).
TABLES = [t.name for t in Base.metadata.sorted_tables]
