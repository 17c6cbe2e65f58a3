"""Column values for the generic generator, by type and by name.

Each column gets a `Spec` from the catalog (type, NOT NULL, length, enum or CHECK values,
CHECK bounds) and its name's hint (`hint_of`). Two kinds of values:

* `values(spec, rng, n)`: free values for n rows from the block's random stream. Text comes
  from Faker pools (`Pools`), made once per process and sampled by index with NumPy:
  emails, person and company names, cities, countries, urls, phones, titles, long text for
  description/notes/body columns, small skewed vocabularies for status/type/priority-like ones.
  Numbers follow their name (prices log-normal with cents, quantities small, ratings 1-5...),
  kept inside CHECK bounds and the type's range. Timestamps fall in the two years ending
  WINDOW_END, more recent ones more often (Beta(2, 1)).
* `key_values(spec, index, ...)`: values that are a function of a 0-based index alone, distinct
  for distinct indexes (keys, unique columns, and columns other tables reference): integers
  count up from 1 (or the CHECK's lower bound), text is a prefix and the zero-padded number
  (emails and names keep a plausible look and add the number), enum values in order.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import sqlalchemy as sa
from faker import Faker
from sqlalchemy.dialects.postgresql import BYTEA, JSON, JSONB

from bench.data.checks import Bounds
from bench.data.copy_binary import NUMERIC_DEFAULT
from bench.data.fanout import mix64, stream
from bench.data.strings import Pick, Pool, Raw, Text, concat, dec_fixed, dec_plain, hex_fixed

NULL_FRACTION = 0.05  # of a nullable column's values (not of keys and unique columns)
WINDOW_END = np.datetime64("2025-10-01T00:00:00", "ms")
WINDOW_DAYS = 730
WINDOW_START = WINDOW_END - np.timedelta64(WINDOW_DAYS, "D")
_INT_MAX = {"int2": 2**15 - 1, "int4": 2**31 - 1, "int8": 2**63 - 1}
INFINITE = math.inf

Values = np.ndarray | Text


@dataclass(frozen=True)
class Spec:
    table: str
    name: str
    kind: str  # int2 int4 int8 numeric float bool text date timestamp timestamptz time uuid
    #            json jsonb bytea
    nullable: bool
    hint: str
    length: int | None = None  # varchar(n)/char(n)
    fixed: bool = False  # char(n)
    choices: tuple[str, ...] | None = None  # enum labels or a CHECK's list
    bounds: Bounds = field(default_factory=Bounds)
    precision: int | None = None
    scale: int = 0

    @property
    def domain(self) -> float:
        """How many distinct values the column can hold (INFINITE: more than we need)."""
        if self.choices is not None:
            return len(self.choices)
        if self.kind == "bool":
            return 2
        if self.kind in _INT_MAX:
            lo, hi = self.int_range
            return hi - lo + 1 if hi - lo < 10**12 else INFINITE
        return INFINITE

    @property
    def int_range(self) -> tuple[int, int]:
        top = _INT_MAX.get(self.kind, 2**53)
        if self.kind == "numeric" and self.precision:
            top = min(top, 10 ** (self.precision - self.scale) - 1)
        b = self.bounds
        lo = 1 if b.lo is None else math.floor(b.lo) + 1 if b.lo_strict or b.lo % 1 else int(b.lo)
        hi = top if b.hi is None else math.ceil(b.hi) - 1 if b.hi_strict or b.hi % 1 \
            else int(b.hi)
        return lo, min(hi, top)


def kind_of(column: sa.Column[Any]) -> str | None:
    """Our kind for the column's type; None: one the generic generator cannot fill."""
    t = column.type
    checks: list[tuple[type | tuple[type, ...], str]] = [
        (sa.BigInteger, "int8"), (sa.SmallInteger, "int2"), (sa.Integer, "int4"),
        (sa.Boolean, "bool"), (sa.Float, "float"), (sa.Numeric, "numeric"),
        (sa.DateTime, "timestamp"), (sa.Date, "date"), (sa.Uuid, "uuid"), (JSONB, "jsonb"),
        (JSON, "json"), ((BYTEA, sa.LargeBinary), "bytea"), (sa.Enum, "text"),
        (sa.String, "text"),
    ]
    if isinstance(t, sa.Time):
        return None if t.timezone else "time"
    for types, kind in checks:
        if isinstance(t, types):
            if kind == "timestamp" and getattr(t, "timezone", False):
                return "timestamptz"
            return kind
    return None


_PERSON_TABLES = {"user", "users", "customer", "customers", "person", "people", "persons",
                  "member", "members", "employee", "employees", "contact", "contacts",
                  "author", "authors", "attendee", "attendees", "agent", "agents", "staff",
                  "student", "students", "patient", "patients", "client", "clients",
                  "account", "accounts", "guest", "guests", "buyer", "buyers", "seller",
                  "sellers", "speaker", "speakers", "organizer", "organizers", "profile",
                  "profiles", "passenger", "passengers"}
# (pattern on the column's name, hint): the first that matches wins.
_HINTS: list[tuple[str, str]] = [
    (r"e_?mail", "email"), (r"(^|_)(first|given)_?name", "first_name"),
    (r"(^|_)(last|family|sur)_?name|^surname$", "last_name"),
    (r"(^|_)(full|display|contact|customer|person|user|attendee|guest|owner|author|holder|"
     r"passenger|recipient|sender|manager|employee|member|buyer|seller|speaker|driver|"
     r"patient|student)_?name$", "person"),
    (r"user_?name|login|handle|nick", "username"),
    (r"company|organi[sz]ation|employer|vendor|supplier|brand|publisher|carrier", "company"),
    (r"url|website|homepage|link|uri$", "url"), (r"phone|mobile|(^|_)tel|fax", "phone"),
    (r"city|town", "city"), (r"country", "country"), (r"currency", "currency"),
    (r"(^|_)(street|address|addr)", "address"), (r"zip|postal|postcode", "postcode"),
    (r"(^|_)(province|region|county)", "region"), (r"color|colour", "color"),
    (r"timezone|(^|_)tz$", "timezone"), (r"lang|locale", "language"), (r"(^|_)ip", "ip"),
    (r"password|hash|token|secret|digest|api_?key|checksum", "hex"),
    (r"title|subject|headline|heading|caption|summary_line", "title"),
    (r"descr|note|body|content|comment|message|summary|text|bio|details|reason|review|"
     r"remark|instructions", "long"),
    (r"(^|_)(status|state|stage|phase)$", "status"), (r"priority|severity|urgency", "priority"),
    (r"(^|_)role$", "role"), (r"(^|_)(type|kind|category|class|tier|level|plan|channel|"
                             r"source|method|mode|segment|genre|format)$", "category"),
    (r"(^|_)(sku|code|ref|reference|slug|number|no|barcode|serial|key)$", "code"),
    (r"(^|_)name$", "name"),
    # numbers
    (r"price|amount|total|cost|fee|balance|revenue|salary|subtotal|tax|discount|paid|"
     r"refund|budget|value", "money"),
    (r"qty|quantity|count|num_|^n_|seats|tickets|items|units", "quantity"),
    (r"capacity|size|population|employees", "capacity"), (r"(^|_)age$", "age"),
    (r"year", "year"), (r"rating|stars", "rating"), (r"score", "score"),
    (r"percent|pct|ratio|rate$", "percent"), (r"(^|_)lat", "latitude"),
    (r"(^|_)(lon|lng)", "longitude"), (r"(^|_)(row|seat|line|position|rank|sort|order|"
                                       r"sequence|seq|floor|section)", "position"),
    (r"birth|dob", "birth"), (r"updated|modified|changed", "updated"),
    (r"deleted|archived|banned|blocked|is_test", "rare_flag"),
    (r"active|enabled|verified|visible|published|confirmed", "common_flag"),
]


def hint_of(table: str, column: str) -> str:
    name = column.lower()
    for pattern, hint in _HINTS:
        if re.search(pattern, name):
            if hint == "name" and table.lower() in _PERSON_TABLES:
                return "person"
            return hint
    return ""


def spec_of(table: sa.Table, column: sa.Column[Any], kind: str, choices: list[str] | None,
            bounds: Bounds | None) -> Spec:
    t = column.type
    enum = list(t.enums) if isinstance(t, sa.Enum) and t.enums else None
    length = getattr(t, "length", None) if kind == "text" else None
    precision = scale = None
    if kind == "numeric":
        precision = getattr(t, "precision", None)
        scale = getattr(t, "scale", None) or 0
        if precision is None:
            precision, scale = NUMERIC_DEFAULT
    return Spec(table.name, column.name, kind, bool(column.nullable),
                hint_of(table.name, column.name), length,
                isinstance(t, sa.CHAR) and not isinstance(t, sa.VARCHAR),
                tuple(choices or enum or ()) or None, bounds or Bounds(), precision, scale or 0)


class Pools:
    """Faker pools of one seed, each made on first use (in the process that needs it) from its
    own Faker seeded with (seed, hint): any process makes the same values."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._made: dict[tuple[str, int | None], Pool] = {}

    def faker(self, name: str) -> Faker:
        fake = Faker("en_US", use_weighting=False)
        fake.seed_instance(f"{self.seed}-{name}")
        return fake

    def get(self, hint: str, length: int | None = None) -> Pool:
        key = (hint, length)
        if key not in self._made:
            values = [_clean(v) for v in self._values(hint)]
            if length is not None:
                values = [v[:length].rstrip() or v[:length] for v in values]
            self._made[key] = Pool(list(dict.fromkeys(values)))
        return self._made[key]

    def _values(self, hint: str) -> list[str]:
        fake = self.faker(hint)
        many = 2000
        makers: dict[str, Any] = {
            "first_name": fake.first_name, "last_name": fake.last_name, "person": fake.name,
            "username": fake.user_name, "company": fake.company, "city": fake.city,
            "country": fake.country, "address": fake.street_address, "postcode": fake.postcode,
            "region": fake.state, "color": fake.color_name, "timezone": fake.timezone,
            "language": fake.language_code, "ip": fake.ipv4, "phone": fake.phone_number,
            "url": fake.url, "domain": fake.domain_name, "name": fake.catch_phrase,
            "title": lambda: fake.sentence(nb_words=6).rstrip("."),
            "long": lambda: fake.paragraph(nb_sentences=3),
            "word": lambda: fake.sentence(nb_words=3).rstrip("."),
        }
        if hint in ("first_lower", "last_lower"):
            return [v.lower() for v in self.get(hint.split("_")[0] + "_name").values.tolist()]
        if hint == "country_code":
            return [fake.country_code() for _ in range(300)]
        if hint == "currency":
            return [fake.currency_code() for _ in range(300)]
        if hint in _VOCABULARY:
            return list(_VOCABULARY[hint])
        make = makers.get(hint, makers["word"])
        count = 1000 if hint == "long" else many
        return [make() for _ in range(count)]

    @cached_property
    def json(self) -> Pool:
        rng = np.random.default_rng([self.seed, stream("json")])
        sources = ["web", "ios", "android", "api", "import"]
        return Pool([json.dumps({"source": sources[int(rng.integers(5))],
                                 "version": int(rng.integers(1, 6)),
                                 "tags": [f"t{int(x)}" for x in rng.integers(0, 40, 2)]},
                                sort_keys=True) for _ in range(500)])


_VOCABULARY = {
    "status": ("active", "pending", "completed", "cancelled", "failed", "archived"),
    "priority": ("low", "medium", "high", "urgent"),
    "role": ("member", "admin", "viewer", "owner"),
    "category": ("standard", "premium", "basic", "enterprise", "other"),
}


def _clean(value: str) -> str:
    return value.replace("\\", "/").replace("\t", " ").replace("\r", " ").replace("\n", " ")


def skewed(rng: np.random.Generator, k: int, n: int, key: int) -> np.ndarray:
    """Codes 0..k-1, Zipf-like (weights 1/rank) with ranks shuffled per column (seeded)."""
    ranks = np.argsort(mix64(np.arange(k), key))
    cdf = np.cumsum(1.0 / (ranks + 1.0))
    drawn: np.ndarray = np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"),
                                   k - 1)
    return drawn


def _beta_recent(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.random(n) ** 0.5  # Beta(2, 1): more recent, more often


def _days(x: np.ndarray) -> np.ndarray:
    return (x * 86_400_000).astype("timedelta64[ms]")


def values(spec: Spec, rng: np.random.Generator, n: int, pools: Pools, seed: int) -> Values:
    """n free values of the column (NULLs not yet applied)."""
    key = stream(str(seed), spec.table, spec.name)
    if spec.choices is not None:
        return Text((Pick(Pool(list(spec.choices)), skewed(rng, len(spec.choices), n, key)),))
    kind, hint = spec.kind, spec.hint
    if kind in ("timestamp", "timestamptz", "date"):
        if hint == "birth":
            t = np.datetime64("1950-01-01", "ms") + _days(rng.random(n) * 20_000)
        else:
            t = WINDOW_START + _days(_beta_recent(rng, n) * WINDOW_DAYS)
        return t.astype("datetime64[D]") if kind == "date" else t
    if kind == "time":
        return rng.integers(0, 86_400 * 10**6, n)
    if kind == "bool":
        p = {"rare_flag": 0.03, "common_flag": 0.9}.get(hint, 0.5)
        return rng.random(n) < p
    if kind == "uuid":
        return random_uuids(rng, n)
    if kind in ("json", "jsonb"):
        return Text((Pick(pools.json, rng.integers(0, len(pools.json), n)),))
    if kind == "bytea":
        return Text((hex_fixed(rng.integers(0, 2**62, n), 16),))
    if kind == "text":
        return _text(spec, rng, n, pools)
    return _number(spec, rng, n)


def _number(spec: Spec, rng: np.random.Generator, n: int) -> np.ndarray:
    hint = spec.hint
    draws: dict[str, Any] = {
        "money": lambda: rng.lognormal(math.log(40), 1.0, n),
        "quantity": lambda: 1 + rng.geometric(0.45, n) - 1.0,
        "capacity": lambda: rng.lognormal(math.log(300), 1.0, n),
        "age": lambda: rng.integers(18, 90, n).astype(float),
        "year": lambda: rng.integers(1990, 2026, n).astype(float),
        "rating": lambda: rng.integers(1, 6, n).astype(float),
        "score": lambda: rng.beta(2.0, 3.0, n) * 100,
        "percent": lambda: rng.random(n) * 100,
        "latitude": lambda: rng.uniform(-60, 70, n),
        "longitude": lambda: rng.uniform(-180, 180, n),
        "position": lambda: 1 + rng.geometric(0.08, n) - 1.0,
    }
    x: np.ndarray = draws.get(hint, lambda: rng.lognormal(math.log(50), 1.5, n))()
    if spec.kind == "numeric":
        unit = 10.0 ** -spec.scale
        top = 10.0 ** ((spec.precision or 20) - spec.scale) - unit
        b = spec.bounds
        lo_f = b.lo + (unit if b.lo_strict else 0.0) if b.lo is not None else 0.0
        hi_f = min(top, b.hi - (unit if b.hi_strict else 0.0)) if b.hi is not None else top
        x = _inside(rng, x, lo_f, hi_f)
        rounded: np.ndarray = np.round(np.clip(x, lo_f, hi_f), spec.scale)
        return rounded
    if spec.kind in _INT_MAX:
        lo, hi = spec.int_range
        x = _inside(rng, np.floor(x), lo, hi)
        ints: np.ndarray = np.clip(np.floor(x), lo, hi).astype(np.int64)
        return ints
    b = spec.bounds
    return _inside(rng, x, b.lo if b.lo is not None else -np.inf,
                   b.hi if b.hi is not None else np.inf)


def _inside(rng: np.random.Generator, x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """x where it is within [lo, hi]; elsewhere uniform in it (or reflected at a bound)."""
    out = x.copy()
    bad = (out < lo) | (out > hi)
    if not bad.any():
        return out
    if math.isfinite(lo) and math.isfinite(hi):
        out[bad] = rng.uniform(lo, hi, int(bad.sum()))
    elif math.isfinite(lo):
        out[bad] = lo + (lo - out[bad])
    else:
        out[bad] = hi - (out[bad] - hi)
    return out


def _text(spec: Spec, rng: np.random.Generator, n: int, pools: Pools) -> Text:
    hint = spec.hint
    if hint == "email":
        first, last = pools.get("first_lower"), pools.get("last_lower")
        domain = pools.get("domain")
        parts: tuple[Any, ...] = (Pick(first, rng.integers(0, len(first), n)), ".",
                                  Pick(last, rng.integers(0, len(last), n)),
                                  Raw(*_small_numbers(rng, n)), "@",
                                  Pick(domain, rng.integers(0, len(domain), n)))
        if _fits(parts, spec.length):
            return Text(parts)
        hint = "username"
    if hint == "hex":
        width = min(32, spec.length or 32)
        return Text((hex_fixed(rng.integers(0, 2**62, n), min(width, 15)),))
    if hint == "country" and (spec.length or 99) <= 3:
        hint = "country_code"
    if hint == "code":
        width = spec.length or 10
        return Text((_code(rng.integers(0, 10 ** min(width, 12), n), min(width, 12)),))
    if hint in ("status", "priority", "role", "category"):
        pool = pools.get(hint, spec.length)
        return Text((Pick(pool, skewed(rng, len(pool), n, stream(spec.table, spec.name))),))
    if hint in ("", "money", "quantity", "capacity", "age", "year", "rating", "score",
                "percent", "latitude", "longitude", "position", "birth", "updated",
                "rare_flag", "common_flag"):
        hint = "word"
    pool = pools.get(hint, spec.length)
    return Text((Pick(pool, rng.integers(0, len(pool), n)),))


def _small_numbers(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    raw = dec_plain(rng.integers(0, 100, n))
    return raw.values, raw.lengths


def _fits(parts: tuple[Any, ...], length: int | None) -> bool:
    if length is None:
        return True
    longest = 0
    for p in parts:
        longest += len(p) if isinstance(p, str) else int(p.lengths.max()) if isinstance(p, Raw) \
            else int(p.pool.lengths.max())
    return longest <= length


def _code(values: np.ndarray, width: int) -> Raw:
    return dec_fixed(values, width)


def random_uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    halves = rng.integers(0, 2**63, (n, 2), dtype=np.int64).astype(np.uint64) << np.uint64(1)
    halves[:, 1] |= rng.integers(0, 2, n).astype(np.uint64)
    return _v4(halves)


def _v4(halves: np.ndarray) -> np.ndarray:
    """Version 4, variant 1 bits set (never the nil UUID, which stands for NULL)."""
    halves[:, 0] = (halves[:, 0] & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
    halves[:, 1] = (halves[:, 1] & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(1 << 63)
    return halves


def digits(n: int) -> int:
    return len(str(max(1, n)))


def key_values(spec: Spec, index: np.ndarray, rows: int, pools: Pools, seed: int) -> Values:
    """Distinct values for distinct 0-based indexes (< rows), from the index alone."""
    kind = spec.kind
    if spec.choices is not None:
        return Text((Pick(Pool(list(spec.choices)), index),))
    if kind in _INT_MAX:
        return spec.int_range[0] + index.astype(np.int64)
    if kind in ("numeric", "float"):
        return (spec.int_range[0] + index).astype(np.float64)
    if kind == "bool":
        return index.astype(bool)
    if kind == "date":
        return np.datetime64("2000-01-01", "D") + index.astype("timedelta64[D]")
    if kind in ("timestamp", "timestamptz"):
        return WINDOW_START + (index * 1000).astype("timedelta64[ms]")
    if kind == "time":
        return index.astype(np.int64) * 1_000_000
    if kind == "uuid":
        key = stream(str(seed), spec.table, spec.name)
        hi = mix64(index, key)
        return _v4(np.stack([hi, mix64(hi, key + 1) ^ index.astype(np.uint64)], axis=1))
    if kind in ("json", "jsonb", "bytea"):
        return Text(("{\"n\": " if kind != "bytea" else "", dec_plain(index + 1),
                     "}" if kind != "bytea" else ""))
    return _text_key(spec, index, rows, pools, seed)


def _text_key(spec: Spec, index: np.ndarray, rows: int, pools: Pools, seed: int) -> Text:
    number = index.astype(np.int64) + 1
    width = digits(rows)
    length = spec.length
    key = stream(str(seed), spec.table, spec.name)
    picks = mix64(index, key)
    if spec.hint == "email":
        first, last, domain = pools.get("first_lower"), pools.get("last_lower"), \
            pools.get("domain")
        parts: tuple[Any, ...] = (
            Pick(first, (picks % np.uint64(len(first))).astype(np.int64)), ".",
            Pick(last, ((picks >> np.uint64(20)) % np.uint64(len(last))).astype(np.int64)),
            dec_plain(number), "@",
            Pick(domain, ((picks >> np.uint64(40)) % np.uint64(len(domain))).astype(np.int64)))
        if _fits(parts, length):
            return concat(*parts)
    if spec.hint in ("person", "company", "name", "title", "username", "city"):
        pool = pools.get(spec.hint)
        parts = (Pick(pool, (picks % np.uint64(len(pool))).astype(np.int64)), " #",
                 dec_plain(number))
        if _fits(parts, length):
            return concat(*parts)
    if spec.fixed and length is not None and width <= length:
        return Text((dec_fixed(number, length),))
    prefix = re.sub(r"[^A-Z]", "", spec.table.upper())[:3] + "-"
    if length is not None and len(prefix) + width > length:
        prefix = ""
    if length is not None and width > length:
        raise ValueError(f"{spec.table}.{spec.name}: {rows:,} distinct values do not fit "
                         f"in {length} characters")
    return Text((prefix, dec_fixed(number, width)) if prefix else (dec_fixed(number, width),))


def as_number(spec: Spec, x: np.ndarray) -> np.ndarray:
    """Floats as the column's number type: integers rounded into its range, numerics to its
    scale."""
    if spec.kind in ("int2", "int4", "int8"):
        lo, hi = spec.int_range
        ints: np.ndarray = np.clip(np.round(x), lo, hi).astype(np.int64)
        return ints
    if spec.kind == "numeric":
        rounded: np.ndarray = np.round(x, spec.scale)
        return rounded
    return x
