"""Synthetic rows for the six tables, deterministic for (seed, scale).

The distributions below decide what an index can do, so they are documented in README.md
("The data") and chosen to look like a sales-agent backend:

* leads arrive faster over time (Beta(2,1) over a two-year window ending 2025-10-01);
* companies are Pareto-sized: a few large companies own many leads and contacts;
* lead "activity" is Pareto-skewed: a few leads own most social-media activity;
* rare statuses are rare (agent runs fail ~6% of the time, 2.5% are still running);
* timestamps are ordered (created <= started <= completed; posted <= scraped).

Rows are made in blocks of BLOCK_ROWS, each from its own random stream keyed by (seed, table,
block), so a table can be generated and loaded block by block, tables in any order and on any
number of connections, with the same result. What the child tables need to know about the
leads (company, creation time, activity weight) is drawn first, once, in a `Context`.

Numbers are NumPy arrays (int64, float64 with NaN for NULL, datetime64[ms] in UTC with NaT for
NULL); text columns are `bench.data.strings.Text` (codes into pools) until `generate` materializes
them into object arrays of str.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from bench.data.strings import Pick, Pool, Text, concat, hex_fixed, hex_plain, materialize, pick
from seed.pools import Pools, make_pools

Column = np.ndarray | Text
Block = dict[str, Column]
TableData = dict[str, np.ndarray]

WINDOW_END = np.datetime64("2025-10-01T00:00:00", "ms")
WINDOW_DAYS = 730
WINDOW_START = WINDOW_END - np.timedelta64(WINDOW_DAYS, "D")
BLOCK_ROWS = 65_536  # rows per random stream; part of what a seed means, keep it fixed

# Rows per table at --scale 1.0 (about two million rows in all).
ROWS_AT_SCALE_1: Mapping[str, int] = {
    "leads": 100_000,
    "agent_executions": 400_000,
    "social_media_activity": 1_000_000,
    "contact_social_profiles": 300_000,
    "organization_charts": 60_000,
    "voice_session_logs": 140_000,
}
_STREAM = {name: i + 1 for i, name in enumerate(ROWS_AT_SCALE_1)}  # stream 0: the Context

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
PRIORITIES = ["critical", "high", "medium", "low"]


class Choice:
    """A categorical distribution: draws codes into its pool of values."""

    def __init__(self, dist: Mapping[str, float] | Mapping[str | None, float]) -> None:
        self.pool = Pool(list(dist))
        p = np.array(list(dist.values()), dtype=float)
        self.cdf = np.cumsum(p / p.sum())

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cdf, rng.random(n), side="right"),
                          len(self.cdf) - 1)

    def codes(self, *values: str) -> list[int]:
        return [self.pool.code_of(v) for v in values]


_LEAD_STATUS, _AGENT_TYPES, _AGENT_STATUS = Choice(LEAD_STATUS), Choice(AGENT_TYPES), \
    Choice(AGENT_STATUS)
_MODELS, _PLATFORMS, _ACTIVITY = Choice(MODELS), Choice(PLATFORMS), Choice(ACTIVITY_TYPES)
_SENTIMENTS, _ORG_SOURCES, _VOICE_STATUS = Choice(SENTIMENTS), Choice(ORG_SOURCES), \
    Choice(VOICE_STATUS)
_COMPANY_SIZES = Choice(COMPANY_SIZES)
_ERRORS, _DEPARTMENTS, _PRIORITIES = Pool(ERRORS), Pool(DEPARTMENTS), Pool(PRIORITIES)
_DIRECTIONS = Pool(["outbound", "inbound"])
_NUMBERS = Pool([str(i) for i in range(10_000)])
_URL_PREFIXES = Pool([f"https://{p}.com/p/" for p in PLATFORMS])


def row_counts(scale: float) -> dict[str, int]:
    return {name: max(10, round(n * scale)) for name, n in ROWS_AT_SCALE_1.items()}


def _days(x: np.ndarray) -> np.ndarray:
    return (x * 86_400_000).astype("timedelta64[ms]")


def _seconds(x: np.ndarray) -> np.ndarray:
    return (x * 1000).astype("timedelta64[ms]")


def _beta_a1(rng: np.random.Generator, a: float, n: int) -> np.ndarray:
    """Beta(a, 1) by inverse transform (its CDF is x**a): the same law as rng.beta(a, 1.0),
    five times faster."""
    beta: np.ndarray = rng.random(n) ** (1.0 / a)
    return beta


def _array(values: np.ndarray | Text) -> np.ndarray:
    return materialize(values) if isinstance(values, Text) else values


def _clip_end(t: np.ndarray) -> np.ndarray:
    clipped: np.ndarray = np.minimum(t, WINDOW_END)
    return clipped


class Weighted:
    """Draws indexes 0..len(weights)-1 with probability proportional to their weights.

    The same draws as searchsorted(cdf, u) (inverse transform), found faster with a guide
    table: for most u the bucket of width 1/2^k it falls in holds no step of the cdf, so the
    answer is the bucket's; only the rest are searched.
    """

    def __init__(self, weights: np.ndarray) -> None:
        self.cdf = np.cumsum(weights / weights.sum())
        self.buckets = 1 << max(10, int(np.ceil(np.log2(len(weights)))) + 2)
        edges = np.arange(self.buckets + 1) / self.buckets
        self.guide = np.minimum(np.searchsorted(self.cdf, edges, side="right"),
                                len(self.cdf) - 1)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        u = rng.random(n)
        bucket = (u * self.buckets).astype(np.int64)  # exact: a power of two
        out = self.guide[bucket]
        unsure = out != self.guide[bucket + 1]
        out[unsure] = np.minimum(np.searchsorted(self.cdf, u[unsure], side="right"),
                                 len(self.cdf) - 1)
        return out


@dataclass(frozen=True)
class Context:
    """Everything drawn once for a (seed, scale): pools and what the leads look like."""

    seed: int
    scale: float
    counts: dict[str, int]
    pools: Pools
    lead_company: np.ndarray  # company index of each lead
    lead_created: np.ndarray  # datetime64[ms]
    activity: Weighted  # social activity per lead: Pareto(1.16), "80/20"
    agent_runs: Weighted  # agent runs per lead: the square root of that


def make_context(seed: int, scale: float) -> Context:
    counts = row_counts(scale)
    rng = np.random.default_rng([seed, 0])
    n_companies = max(20, round(6_000 * math.sqrt(scale)))
    pools = make_pools(seed, n_companies)  # made lazily, by the processes that use them
    n_leads = counts["leads"]
    company_weight = rng.pareto(1.5, n_companies) + 1.0
    lead_company = Weighted(company_weight).draw(rng, n_leads)
    lead_created = WINDOW_START + _days(_beta_a1(rng, 2.0, n_leads) * WINDOW_DAYS)
    # Pareto(1.16) is the 80/20 rule: a fifth of the leads own most of the activity.
    activity = rng.pareto(1.16, n_leads) + 1.0
    return Context(seed, scale, counts, pools, lead_company, lead_created, Weighted(activity),
                   Weighted(np.sqrt(activity)))


def blocks(ctx: Context, table: str) -> Iterator[Block]:
    """The table's rows, BLOCK_ROWS at a time, in id order."""
    make = _TABLES[table]
    n = ctx.counts[table]
    for number, start in enumerate(range(0, n, BLOCK_ROWS)):
        rng = np.random.default_rng([ctx.seed, _STREAM[table], number])
        yield make(ctx, rng, np.arange(start + 1, min(start + BLOCK_ROWS, n) + 1))


@dataclass(frozen=True)
class Dataset:
    seed: int
    scale: float
    tables: dict[str, TableData]


def generate(seed: int, scale: float) -> Dataset:
    """The whole dataset in memory, text as object arrays of str (None for NULL)."""
    ctx = make_context(seed, scale)
    tables: dict[str, TableData] = {}
    for table in ROWS_AT_SCALE_1:
        parts = list(blocks(ctx, table))
        tables[table] = {
            column: np.concatenate([_array(b[column]) for b in parts])
            for column in parts[0]
        }
    return Dataset(seed=seed, scale=scale, tables=tables)


def _leads(ctx: Context, rng: np.random.Generator, ids: np.ndarray) -> Block:
    n, p = len(ids), ctx.pools
    company = ctx.lead_company[ids - 1]
    created = ctx.lead_created[ids - 1]
    first = rng.integers(0, len(p.first_names), n)
    last = rng.integers(0, len(p.last_names), n)
    status = _LEAD_STATUS.draw(rng, n)
    scored = np.isin(status, _LEAD_STATUS.codes("qualified", "disqualified", "converted"))
    score = np.where(scored, np.clip(rng.normal(62, 18, n), 0, 100).round(2), np.nan)
    qualified_at = np.where(
        scored, _clip_end(created + _days(rng.exponential(3.0, n))), np.datetime64("NaT")
    )
    last_touch = np.where(scored, qualified_at, created)
    updated = _clip_end(last_touch + _days(rng.exponential(10.0, n)))
    return {
        "id": ids,
        "company_name": pick(p.companies, company),
        "contact_name": concat(_at(p.first_names, first), " ", _at(p.last_names, last)),
        "email": concat(_at(p.first_lower, first), ".", _at(p.last_lower, last),
                        _at(_NUMBERS, ids % 97), "@", _at(p.domains, company)),
        "phone": pick(p.phones, rng.integers(0, len(p.phones), n)),
        "job_title": pick(p.job_titles, rng.integers(0, len(p.job_titles), n)),
        "industry": pick(p.industries, company % len(p.industries)),
        "company_size": pick(_COMPANY_SIZES.pool, _COMPANY_SIZES.draw(rng, n)),
        "website": pick(p.websites, company),
        "status": pick(_LEAD_STATUS.pool, status),
        "qualification_score": score,
        "qualification_reasoning": pick(
            p.summaries, rng.integers(0, len(p.summaries), n), null=~scored),
        "qualified_at": qualified_at,
        "created_at": created,
        "updated_at": updated,
    }


def _at(pool: Pool, codes: np.ndarray) -> Pick:
    """Pool values by code, as one part of a concatenation."""
    return Pick(pool, codes)


def _agent_executions(ctx: Context, rng: np.random.Generator, ids: np.ndarray) -> Block:
    n = len(ids)
    lead = ctx.agent_runs.draw(rng, n)
    status = _AGENT_STATUS.draw(rng, n)
    created = _clip_end(ctx.lead_created[lead] + _days(rng.exponential(20.0, n)))
    # Work still queued or running is recent: the last few hours of the window.
    live = np.isin(status, _AGENT_STATUS.codes("running", "pending"))
    created = np.where(live, WINDOW_END - _seconds(rng.exponential(3 * 3600, n)), created)
    started = created + _seconds(rng.exponential(2.0, n))
    duration_s = rng.lognormal(math.log(8.0), 0.8, n)
    completed = np.where(live, np.datetime64("NaT"), started + _seconds(duration_s))
    started = np.where(status == _AGENT_STATUS.codes("pending")[0], np.datetime64("NaT"),
                       started)
    tokens = np.where(live, np.nan, rng.lognormal(math.log(1500), 0.6, n).round())
    failed = np.isin(status, _AGENT_STATUS.codes("failed", "timeout"))
    return {
        "id": ids,
        "lead_id": lead + 1,
        "agent_type": pick(_AGENT_TYPES.pool, _AGENT_TYPES.draw(rng, n)),
        "status": pick(_AGENT_STATUS.pool, status),
        "model": pick(_MODELS.pool, _MODELS.draw(rng, n)),
        "tokens_used": tokens,
        "latency_ms": np.where(live, np.nan, (duration_s * 1000).round()),
        "cost_usd": np.where(live, np.nan, (tokens * 6e-7).round(6)),
        "error_message": pick(_ERRORS, rng.integers(0, len(_ERRORS), n), null=~failed),
        "started_at": started,
        "completed_at": completed,
        "created_at": created,
    }


def _social_activity(ctx: Context, rng: np.random.Generator, ids: np.ndarray) -> Block:
    n, p = len(ids), ctx.pools
    lead = ctx.activity.draw(rng, n)
    platform = _PLATFORMS.draw(rng, n)
    posted = WINDOW_START + _days(_beta_a1(rng, 1.5, n) * WINDOW_DAYS)
    # Activity is scraped once the lead exists, a few days after it was posted.
    seen = np.maximum(posted, ctx.lead_created[lead])
    scraped = _clip_end(seen + _days(rng.exponential(2.0, n)))
    return {
        "id": ids,
        "lead_id": lead + 1,
        "platform": pick(_PLATFORMS.pool, platform),
        "activity_type": pick(_ACTIVITY.pool, _ACTIVITY.draw(rng, n)),
        "content": pick(p.sentences, rng.integers(0, len(p.sentences), n)),
        # f"{id:x}{j:04x}": the id, then four random hex digits, in one number.
        "post_url": concat(_at(_URL_PREFIXES, platform),
                           hex_plain((ids << 16) | rng.integers(0, 65536, n))),
        "engagement_count": np.floor(rng.lognormal(2.5, 1.4, n)).astype(np.int64),
        "sentiment": pick(_SENTIMENTS.pool, _SENTIMENTS.draw(rng, n)),
        "posted_at": posted,
        "scraped_at": scraped,
        "created_at": scraped,
    }


def _contacts(ctx: Context, rng: np.random.Generator, ids: np.ndarray) -> Block:
    # Contacts are people at the lead's company, so large companies gather many contacts.
    n, p = len(ids), ctx.pools
    lead = rng.integers(0, ctx.counts["leads"], n)
    first = rng.integers(0, len(p.first_names), n)
    last = rng.integers(0, len(p.last_names), n)
    score = (rng.beta(2.0, 5.0, n) * 100).round(2)
    priority = np.select([score >= 70, score >= 45, score >= 20], [0, 1, 2], 3)
    score_or_null = np.where(rng.random(n) < 0.03, np.nan, score)
    created = _clip_end(ctx.lead_created[lead] + _days(rng.exponential(3.0, n)))
    suffix = rng.integers(0, 1 << 24, n)
    has_twitter = rng.random(n) < 0.4
    return {
        "id": ids,
        "lead_id": lead + 1,
        "full_name": concat(_at(p.first_names, first), " ", _at(p.last_names, last)),
        "job_title": pick(p.job_titles, rng.integers(0, len(p.job_titles), n)),
        "company_name": pick(p.companies, ctx.lead_company[lead]),
        "linkedin_url": concat("https://www.linkedin.com/in/", _at(p.first_lower, first),
                               "-", _at(p.last_lower, last), "-", hex_fixed(suffix, 6)),
        "twitter_handle": concat("@", _at(p.first_lower, first),
                                 _at(_NUMBERS, suffix % 10_000), null=~has_twitter),
        "decision_maker_score": score_or_null,
        "contact_priority": pick(_PRIORITIES, priority),
        "created_at": created,
        "updated_at": _clip_end(created + _days(rng.exponential(20.0, n))),
    }


def _org_charts(ctx: Context, rng: np.random.Generator, ids: np.ndarray) -> Block:
    n = len(ids)
    lead = rng.integers(0, ctx.counts["leads"], n)
    return {
        "id": ids,
        "lead_id": lead + 1,
        "company_name": pick(ctx.pools.companies, ctx.lead_company[lead]),
        "department": pick(_DEPARTMENTS, rng.integers(0, len(_DEPARTMENTS), n)),
        "total_employees": np.floor(rng.lognormal(4.0, 1.5, n)).astype(np.int64) + 1,
        "hierarchy_depth": rng.integers(2, 9, n),
        "source": pick(_ORG_SOURCES.pool, _ORG_SOURCES.draw(rng, n)),
        "created_at": _clip_end(ctx.lead_created[lead] + _days(rng.exponential(7.0, n))),
    }


def _voice_sessions(ctx: Context, rng: np.random.Generator, ids: np.ndarray) -> Block:
    n, p = len(ids), ctx.pools
    status = _VOICE_STATUS.draw(rng, n)
    done = status == _VOICE_STATUS.codes("completed")[0]
    live = status == _VOICE_STATUS.codes("in_progress")[0]
    created = WINDOW_START + _days(_beta_a1(rng, 2.0, n) * WINDOW_DAYS)
    created = np.where(live, WINDOW_END - _seconds(rng.exponential(600, n)), created)
    duration = np.where(done, rng.lognormal(math.log(180), 0.7, n).round(),
                        rng.integers(0, 40, n).astype(float))
    hi, lo = rng.integers(0, 1 << 62, n), rng.integers(0, 1 << 62, n)
    return {
        "id": ids,
        "session_id": concat("CA", hex_fixed(hi, 16), hex_fixed(lo, 16)),
        "phone_number": pick(p.phones, rng.integers(0, len(p.phones), n)),
        "status": pick(_VOICE_STATUS.pool, status),
        "direction": pick(_DIRECTIONS, (rng.random(n) >= 0.85).astype(np.int64)),
        "duration_seconds": np.where(live, np.nan, duration),
        "avg_latency_ms": np.where(live, np.nan, rng.normal(620, 140, n).clip(150).round()),
        "transcript_summary": pick(
            p.summaries, rng.integers(0, len(p.summaries), n), null=~done),
        "created_at": created,
        "completed_at": np.where(live, np.datetime64("NaT"), created + _seconds(duration)),
    }


_TABLES: dict[str, Callable[[Context, np.random.Generator, np.ndarray], Block]] = {
    "leads": _leads,
    "agent_executions": _agent_executions,
    "social_media_activity": _social_activity,
    "contact_social_profiles": _contacts,
    "organization_charts": _org_charts,
    "voice_session_logs": _voice_sessions,
}
