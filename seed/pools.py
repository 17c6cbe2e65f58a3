"""Pools of realistic values drawn once from Faker, then sampled by index with NumPy.

Faker costs tens of microseconds per value; two million rows of it would take minutes. A few
thousand values per pool, combined and sampled, look just as real to the planner and to a reader.

Each pool is made on first use from its own Faker seeded with (seed, pool name), so a loading
process makes only the pools its tables need, in any order, and gets the same values. People's
names are drawn with NumPy from Faker's own weighted name lists (Smith stays common); company
names come from a Faker that picks surnames uniformly (`use_weighting=False`): with Faker's
weighted draws, 6,000 company names alone took about a second (issue 15).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from functools import cached_property

import numpy as np
from faker import Faker

from bench.data.strings import Pool

INDUSTRIES = [
    "Software", "Financial Services", "Healthcare", "Manufacturing", "Retail", "Logistics",
    "Real Estate", "Education", "Energy", "Telecommunications", "Insurance", "Media",
    "Construction", "Hospitality", "Legal Services",
]


def _clean(value: str) -> str:
    # Keep values printable in COPY text, CSV and reports: no tabs, newlines or backslashes.
    return value.replace("\\", "/").replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _unique(make: Callable[[], str], n: int) -> list[str]:
    seen: dict[str, None] = {}
    tries = 0
    while len(seen) < n and tries < n * 3:
        seen.setdefault(_clean(make()), None)
        tries += 1
    return list(seen)


def _weighted_unique(rng: np.random.Generator, weights: Mapping[str, float], draws: int
                     ) -> list[str]:
    """Distinct names in order of first appearance among `draws` weighted draws."""
    names = list(weights)
    p = np.array([weights[k] for k in names], dtype=float)
    drawn = rng.choice(len(names), size=draws, p=p / p.sum())
    _, first = np.unique(drawn, return_index=True)
    return [_clean(names[i]) for i in drawn[np.sort(first)]]


class Pools:
    """The value pools of one seed, each made when first asked for."""

    def __init__(self, seed: int, n_companies: int) -> None:
        self.seed, self.n_companies = seed, n_companies

    def _faker(self, name: str, *, weighted: bool = True) -> Faker:
        fake = Faker("en_US", use_weighting=weighted)
        fake.seed_instance(f"{self.seed}-{name}")
        return fake

    def _rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    @cached_property
    def companies(self) -> Pool:
        names = _unique(self._faker("companies", weighted=False).company, self.n_companies)
        for i in range(self.n_companies - len(names)):  # exactly n_companies: leads index it
            names.append(f"{names[i]} {i // len(names) + 2}")
        return Pool(names)

    @cached_property
    def domains(self) -> Pool:
        fake = self._faker("domains")
        return Pool([
            "".join(ch for ch in name.lower() if ch.isalnum())[:24] + "." + fake.tld()
            for name in self.companies.values.tolist()
        ])

    @cached_property
    def websites(self) -> Pool:
        return Pool(["https://www." + d for d in self.domains.values.tolist()])

    @cached_property
    def first_names(self) -> Pool:
        person = self._faker("names").provider("faker.providers.person")
        return Pool(_weighted_unique(self._rng("first_names"), person.first_names, 3000))

    @cached_property
    def last_names(self) -> Pool:
        person = self._faker("names").provider("faker.providers.person")
        return Pool(_weighted_unique(self._rng("last_names"), person.last_names, 2100))

    @cached_property
    def first_lower(self) -> Pool:
        return Pool([v.lower() for v in self.first_names.values.tolist()])

    @cached_property
    def last_lower(self) -> Pool:
        return Pool([v.lower() for v in self.last_names.values.tolist()])

    @cached_property
    def job_titles(self) -> Pool:
        return Pool(_unique(self._faker("job_titles").job, 600))

    @cached_property
    def phones(self) -> Pool:
        fake = self._faker("phones")
        return Pool([_clean(fake.phone_number()) for _ in range(3000)])

    @cached_property
    def sentences(self) -> Pool:
        fake = self._faker("sentences")
        return Pool([_clean(fake.paragraph(nb_sentences=3)) for _ in range(3000)])

    @cached_property
    def summaries(self) -> Pool:
        fake = self._faker("summaries")
        return Pool([_clean(fake.sentence(nb_words=18)) for _ in range(1500)])

    @cached_property
    def industries(self) -> Pool:
        return Pool(INDUSTRIES)


def make_pools(seed: int, n_companies: int) -> Pools:
    return Pools(seed, n_companies)
