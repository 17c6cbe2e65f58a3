"""Pools of realistic values drawn once from Faker, then sampled by index with NumPy.

Faker costs tens of microseconds per value; two million rows of it would take minutes. A few
thousand values per pool, combined and sampled, look just as real to the planner and to a reader.

Pools are built in well under a second (issue 15: with Faker's own weighted draws they took 2.3 s,
a third of the seeding budget): people's names are drawn with NumPy from Faker's own weighted
name lists (Smith stays common), and company names come from a Faker that picks surnames
uniformly (`use_weighting=False`), which is twenty times faster and reads just as real.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from faker import Faker


def _clean(value: str) -> str:
    # Keep values printable in COPY text, CSV and reports: no tabs, newlines or backslashes.
    return value.replace("\\", "/").replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _unique(make: Callable[[], str], n: int) -> np.ndarray:
    seen: dict[str, None] = {}
    tries = 0
    while len(seen) < n and tries < n * 3:
        seen.setdefault(_clean(make()), None)
        tries += 1
    return np.array(list(seen), dtype=object)


def _weighted_unique(rng: np.random.Generator, weights: Mapping[str, float], draws: int
                     ) -> np.ndarray:
    """Distinct names in order of first appearance among `draws` weighted draws."""
    names = list(weights)
    p = np.array([weights[k] for k in names], dtype=float)
    drawn = rng.choice(len(names), size=draws, p=p / p.sum())
    _, first = np.unique(drawn, return_index=True)
    return np.array([_clean(names[i]) for i in drawn[np.sort(first)]], dtype=object)


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
    uniform = Faker("en_US", use_weighting=False)
    uniform.seed_instance(seed)
    rng = np.random.default_rng([seed, 0x9001])
    person = fake.provider("faker.providers.person")
    companies = _unique(uniform.company, n_companies)
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
        first_names=_weighted_unique(rng, person.first_names, 3000),  # type: ignore[attr-defined]
        last_names=_weighted_unique(rng, person.last_names, 2100),  # type: ignore[attr-defined]
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
