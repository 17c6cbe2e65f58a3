"""Synthetic rows for the six tables, deterministic for (seed, scale).

Every column is a NumPy array (numbers, datetime64 in UTC, or object arrays of strings with None
for NULL). The distributions below decide what an index can do, so they are documented in
README.md ("The data") and chosen to look like a sales-agent backend:

* leads arrive faster over time (Beta(2,1) over a two-year window ending 2025-10-01);
* companies are Pareto-sized: a few large companies own many leads and contacts;
* lead "activity" is Pareto-skewed: a few leads own most social-media activity;
* rare statuses are rare (agent runs fail ~6% of the time, 2.5% are still running);
* timestamps are ordered (created <= started <= completed; posted <= scraped).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from seed.pools import Pools, make_pools

Column = np.ndarray
TableData = dict[str, Column]

WINDOW_END = np.datetime64("2025-10-01T00:00:00", "ms")
WINDOW_DAYS = 730
WINDOW_START = WINDOW_END - np.timedelta64(WINDOW_DAYS, "D")

# Rows per table at --scale 1.0 (about two million rows in all).
ROWS_AT_SCALE_1: Mapping[str, int] = {
    "leads": 100_000,
    "agent_executions": 400_000,
    "social_media_activity": 1_000_000,
    "contact_social_profiles": 300_000,
    "organization_charts": 60_000,
    "voice_session_logs": 140_000,
}

LEAD_STATUS = {"new": 0.30, "contacted": 0.25, "qualified": 0.20, "disqualified": 0.15,
               "converted": 0.10}
AGENT_TYPES = {"qualification": 0.30, "enrichment": 0.25, "outreach": 0.20, "research": 0.15,
               "voice": 0.10}
AGENT_STATUS = {"completed": 0.86, "failed": 0.06, "timeout": 0.02, "cancelled": 0.015,
                "running": 0.025, "pending": 0.02}
MODELS = {"llama-3.3-70b": 0.55, "llama-3.1-8b": 0.25, "gpt-4o-mini": 0.12,
          "claude-3-5-sonnet": 0.08}
ERRORS = ["Rate limit exceeded (429)", "Upstream model timeout after 30s",
          "Invalid JSON in model response", "CRM API returned 503", "Lead website unreachable"]
PLATFORMS = {"linkedin": 0.55, "twitter": 0.25, "facebook": 0.08, "instagram": 0.06,
             "youtube": 0.04, "reddit": 0.02}
ACTIVITY_TYPES = {"post": 0.50, "comment": 0.25, "share": 0.15, "article": 0.10}
SENTIMENTS = {"positive": 0.45, "neutral": 0.40, "negative": 0.10, None: 0.05}
DEPARTMENTS = ["Executive", "Sales", "Marketing", "Engineering", "Product", "Finance",
               "Operations", "Human Resources", "Customer Success", "Legal"]
ORG_SOURCES = {"linkedin": 0.6, "website": 0.2, "clearbit": 0.15, "manual": 0.05}
VOICE_STATUS = {"completed": 0.78, "no_answer": 0.10, "voicemail": 0.05, "failed": 0.04,
                "busy": 0.02, "in_progress": 0.01}
COMPANY_SIZES = {"1-10": 0.15, "11-50": 0.25, "51-200": 0.25, "201-1000": 0.2,
                 "1001-5000": 0.1, "5000+": 0.05}


@dataclass(frozen=True)
class Dataset:
    seed: int
    scale: float
    tables: dict[str, TableData]


def row_counts(scale: float) -> dict[str, int]:
    return {name: max(10, round(n * scale)) for name, n in ROWS_AT_SCALE_1.items()}


def _pick(rng: np.random.Generator, dist: Mapping, n: int) -> np.ndarray:
    values = np.array(list(dist.keys()), dtype=object)
    p = np.array(list(dist.values()), dtype=float)
    return values[rng.choice(len(values), size=n, p=p / p.sum())]


def _days(x: np.ndarray) -> np.ndarray:
    return (x * 86_400_000).astype("timedelta64[ms]")


def _seconds(x: np.ndarray) -> np.ndarray:
    return (x * 1000).astype("timedelta64[ms]")


def _clip_end(t: np.ndarray) -> np.ndarray:
    return np.minimum(t, WINDOW_END)


def _weighted_ids(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """Indexes 0..len(weights)-1 drawn with probability proportional to weights."""
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


def generate(seed: int, scale: float) -> Dataset:
    counts = row_counts(scale)
    rng = np.random.default_rng(seed)
    n_companies = max(20, round(6_000 * math.sqrt(scale)))
    pools = make_pools(seed, n_companies)

    leads, lead_company = _leads(rng, pools, counts["leads"])
    n_leads = counts["leads"]
    # Pareto(1.16) is the 80/20 rule: a fifth of the leads own most of the activity.
    activity = rng.pareto(1.16, n_leads) + 1.0
    tables = {
        "leads": leads,
        "agent_executions": _agent_executions(
            rng, leads, np.sqrt(activity), counts["agent_executions"]
        ),
        "social_media_activity": _social_activity(
            rng, pools, leads, activity, counts["social_media_activity"]
        ),
        "contact_social_profiles": _contacts(
            rng, pools, leads, lead_company, counts["contact_social_profiles"]
        ),
        "organization_charts": _org_charts(rng, leads, counts["organization_charts"]),
        "voice_session_logs": _voice_sessions(rng, pools, counts["voice_session_logs"]),
    }
    return Dataset(seed=seed, scale=scale, tables=tables)


def _names(rng: np.random.Generator, pools: Pools, n: int) -> tuple[np.ndarray, np.ndarray]:
    first = pools.first_names[rng.integers(0, len(pools.first_names), n)]
    last = pools.last_names[rng.integers(0, len(pools.last_names), n)]
    return first, last


def _leads(rng: np.random.Generator, pools: Pools, n: int) -> tuple[TableData, np.ndarray]:
    company_weight = rng.pareto(1.5, len(pools.companies)) + 1.0
    company = _weighted_ids(rng, company_weight, n)
    first, last = _names(rng, pools, n)
    ids = np.arange(1, n + 1)
    emails = np.array(
        [
            f"{f.lower()}.{s.lower()}{i % 97}@{d}"
            for f, s, i, d in zip(first, last, ids, pools.domains[company], strict=True)
        ],
        dtype=object,
    )
    created = WINDOW_START + _days(rng.beta(2.0, 1.0, n) * WINDOW_DAYS)
    status = _pick(rng, LEAD_STATUS, n)
    scored = np.isin(status, ["qualified", "disqualified", "converted"])
    score = np.where(scored, np.clip(rng.normal(62, 18, n), 0, 100).round(2), np.nan)
    qualified_at = np.where(
        scored, _clip_end(created + _days(rng.exponential(3.0, n))), np.datetime64("NaT")
    )
    last_touch = np.where(scored, qualified_at, created)
    updated = _clip_end(last_touch + _days(rng.exponential(10.0, n)))
    reasoning = np.where(scored, pools.summaries[rng.integers(0, len(pools.summaries), n)], None)
    website = np.array(["https://www." + d for d in pools.domains[company]], dtype=object)
    data: TableData = {
        "id": ids,
        "company_name": pools.companies[company],
        "contact_name": first + " " + last,
        "email": emails,
        "phone": pools.phones[rng.integers(0, len(pools.phones), n)],
        "job_title": pools.job_titles[rng.integers(0, len(pools.job_titles), n)],
        "industry": pools.industries[company % len(pools.industries)],
        "company_size": _pick(rng, COMPANY_SIZES, n),
        "website": website,
        "status": status,
        "qualification_score": score,
        "qualification_reasoning": reasoning,
        "qualified_at": qualified_at,
        "created_at": created,
        "updated_at": updated,
    }
    return data, company


def _agent_executions(
    rng: np.random.Generator, leads: TableData, weight: np.ndarray, n: int
) -> TableData:
    lead = _weighted_ids(rng, weight, n)
    status = _pick(rng, AGENT_STATUS, n)
    lead_created = leads["created_at"][lead]
    created = _clip_end(lead_created + _days(rng.exponential(20.0, n)))
    # Work still queued or running is recent: the last few hours of the window.
    live = np.isin(status, ["running", "pending"])
    created = np.where(live, WINDOW_END - _seconds(rng.exponential(3 * 3600, n)), created)
    started = created + _seconds(rng.exponential(2.0, n))
    duration_s = rng.lognormal(math.log(8.0), 0.8, n)
    completed = np.where(live, np.datetime64("NaT"), started + _seconds(duration_s))
    started = np.where(status == "pending", np.datetime64("NaT"), started)
    tokens = np.where(live, np.nan, rng.lognormal(math.log(1500), 0.6, n).round())
    errors = np.array(ERRORS, dtype=object)[rng.integers(0, len(ERRORS), n)]
    return {
        "id": np.arange(1, n + 1),
        "lead_id": leads["id"][lead],
        "agent_type": _pick(rng, AGENT_TYPES, n),
        "status": status,
        "model": _pick(rng, MODELS, n),
        "tokens_used": tokens,
        "latency_ms": np.where(live, np.nan, (duration_s * 1000).round()),
        "cost_usd": np.where(live, np.nan, (tokens * 6e-7).round(6)),
        "error_message": np.where(np.isin(status, ["failed", "timeout"]), errors, None),
        "started_at": started,
        "completed_at": completed,
        "created_at": created,
    }


def _social_activity(
    rng: np.random.Generator, pools: Pools, leads: TableData, weight: np.ndarray, n: int
) -> TableData:
    lead = _weighted_ids(rng, weight, n)
    platform = _pick(rng, PLATFORMS, n)
    posted = WINDOW_START + _days(rng.beta(1.5, 1.0, n) * WINDOW_DAYS)
    # Activity is scraped once the lead exists, a few days after it was posted.
    seen = np.maximum(posted, leads["created_at"][lead])
    scraped = _clip_end(seen + _days(rng.exponential(2.0, n)))
    ids = np.arange(1, n + 1)
    urls = np.array(
        [f"https://{p}.com/p/{i:x}{j:04x}" for p, i, j in
         zip(platform, ids, rng.integers(0, 65536, n), strict=True)],
        dtype=object,
    )
    return {
        "id": ids,
        "lead_id": leads["id"][lead],
        "platform": platform,
        "activity_type": _pick(rng, ACTIVITY_TYPES, n),
        "content": pools.sentences[rng.integers(0, len(pools.sentences), n)],
        "post_url": urls,
        "engagement_count": np.floor(rng.lognormal(2.5, 1.4, n)).astype(np.int64),
        "sentiment": _pick(rng, SENTIMENTS, n),
        "posted_at": posted,
        "scraped_at": scraped,
        "created_at": scraped,
    }


def _contacts(
    rng: np.random.Generator, pools: Pools, leads: TableData, lead_company: np.ndarray, n: int
) -> TableData:
    # Contacts are people at the lead's company, so large companies gather many contacts.
    lead = rng.integers(0, len(leads["id"]), n)
    first, last = _names(rng, pools, n)
    score = (rng.beta(2.0, 5.0, n) * 100).round(2)
    priority = np.select(
        [score >= 70, score >= 45, score >= 20], ["critical", "high", "medium"], "low"
    ).astype(object)
    score_or_null = np.where(rng.random(n) < 0.03, np.nan, score)
    created = _clip_end(leads["created_at"][lead] + _days(rng.exponential(3.0, n)))
    suffix = rng.integers(0, 1 << 24, n)
    has_twitter = rng.random(n) < 0.4
    return {
        "id": np.arange(1, n + 1),
        "lead_id": leads["id"][lead],
        "full_name": first + " " + last,
        "job_title": pools.job_titles[rng.integers(0, len(pools.job_titles), n)],
        "company_name": pools.companies[lead_company[lead]],
        "linkedin_url": np.array(
            [f"https://www.linkedin.com/in/{f.lower()}-{s.lower()}-{x:06x}"
             for f, s, x in zip(first, last, suffix, strict=True)],
            dtype=object,
        ),
        "twitter_handle": np.where(
            has_twitter, np.array([f"@{f.lower()}{x % 10000}" for f, x in
                                   zip(first, suffix, strict=True)], dtype=object), None
        ),
        "decision_maker_score": score_or_null,
        "contact_priority": priority,
        "created_at": created,
        "updated_at": _clip_end(created + _days(rng.exponential(20.0, n))),
    }


def _org_charts(rng: np.random.Generator, leads: TableData, n: int) -> TableData:
    lead = rng.integers(0, len(leads["id"]), n)
    return {
        "id": np.arange(1, n + 1),
        "lead_id": leads["id"][lead],
        "company_name": leads["company_name"][lead],
        "department": np.array(DEPARTMENTS, dtype=object)[rng.integers(0, len(DEPARTMENTS), n)],
        "total_employees": np.floor(rng.lognormal(4.0, 1.5, n)).astype(np.int64) + 1,
        "hierarchy_depth": rng.integers(2, 9, n),
        "source": _pick(rng, ORG_SOURCES, n),
        "created_at": _clip_end(leads["created_at"][lead] + _days(rng.exponential(7.0, n))),
    }


def _voice_sessions(rng: np.random.Generator, pools: Pools, n: int) -> TableData:
    status = _pick(rng, VOICE_STATUS, n)
    created = WINDOW_START + _days(rng.beta(2.0, 1.0, n) * WINDOW_DAYS)
    live = status == "in_progress"
    created = np.where(live, WINDOW_END - _seconds(rng.exponential(600, n)), created)
    duration = np.where(
        status == "completed", rng.lognormal(math.log(180), 0.7, n).round(),
        rng.integers(0, 40, n).astype(float),
    )
    hi, lo = rng.integers(0, 1 << 62, n), rng.integers(0, 1 << 62, n)
    return {
        "id": np.arange(1, n + 1),
        "session_id": np.array([f"CA{a:016x}{b:016x}" for a, b in zip(hi, lo, strict=True)],
                               dtype=object),
        "phone_number": pools.phones[rng.integers(0, len(pools.phones), n)],
        "status": status,
        "direction": np.where(rng.random(n) < 0.85, "outbound", "inbound").astype(object),
        "duration_seconds": np.where(live, np.nan, duration),
        "avg_latency_ms": np.where(live, np.nan, rng.normal(620, 140, n).clip(150).round()),
        "transcript_summary": np.where(
            status == "completed", pools.summaries[rng.integers(0, len(pools.summaries), n)], None
        ),
        "created_at": created,
        "completed_at": np.where(live, np.datetime64("NaT"), created + _seconds(duration)),
    }
