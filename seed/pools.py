"""Pools of realistic values drawn once from Faker, then sampled by index with NumPy.

Faker costs tens of microseconds per value; two million rows of it would take minutes. A few
thousand values per pool, combined and sampled, look just as real to the planner and to a reader.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faker import Faker


def _clean(value: str) -> str:
    # COPY's text format treats tab, newline and backslash specially; Faker sometimes emits them.
    return value.replace("\\", "/").replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _unique(make, n: int) -> np.ndarray:
    seen: dict[str, None] = {}
    tries = 0
    while len(seen) < n and tries < n * 3:
        seen.setdefault(_clean(make()), None)
        tries += 1
    return np.array(list(seen), dtype=object)


@dataclass(frozen=True)
class Pools:
    companies: np.ndarray
    domains: np.ndarray
    first_names: np.ndarray
    last_names: np.ndarray
    job_titles: np.ndarray
    phones: np.ndarray
    sentences: np.ndarray
    summaries: np.ndarray
    industries: np.ndarray


def make_pools(seed: int, n_companies: int) -> Pools:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    companies = _unique(fake.company, n_companies)
    domains = np.array(
        [
            "".join(ch for ch in name.lower() if ch.isalnum())[:24] + "." + tld
            for name, tld in zip(
                companies, (fake.tld() for _ in range(len(companies))), strict=True
            )
        ],
        dtype=object,
    )
    return Pools(
        companies=companies,
        domains=domains,
        first_names=_unique(fake.first_name, 1000),
        last_names=_unique(fake.last_name, 700),
        job_titles=_unique(fake.job, 600),
        phones=np.array([_clean(fake.phone_number()) for _ in range(3000)], dtype=object),
        sentences=np.array(
            [_clean(fake.paragraph(nb_sentences=3)) for _ in range(3000)], dtype=object
        ),
        summaries=np.array(
            [_clean(fake.sentence(nb_words=18)) for _ in range(1500)], dtype=object
        ),
        industries=np.array(
            [
                "Software", "Financial Services", "Healthcare", "Manufacturing", "Retail",
                "Logistics", "Real Estate", "Education", "Energy", "Telecommunications",
                "Insurance", "Media", "Construction", "Hospitality", "Legal Services",
            ],
            dtype=object,
        ),
    )
