"""`pg_dump --statistics-only` output read into stats.json's model (bench/results/table_stats.py).

PostgreSQL 18 writes a relation's statistics as calls of
`pg_catalog.pg_restore_relation_stats('version', ..., 'relname', 't', 'relpages', '11'::integer,
...)` and `pg_catalog.pg_restore_attribute_stats(... 'attname', 'c', 'null_frac', '0'::real,
'most_common_vals', '{...}'::text, ...)`: name, value pairs of SQL literals. Only tables of one
schema are read (the only one in the dump, or the one asked for); a relation without column
statistics (an index, or a table never analyzed) is left out.

A dump carries no column types, no constraints and no foreign keys: a column's kind is judged
from its values' form (all numbers, all times, all t/f; else text, which gets stand-ins unless
values are kept, including enum labels a live export would keep), and `foreign_keys` is empty.
"""

from __future__ import annotations

import re

from bench.errors import ConfigError
from bench.results.table_stats import (
    ColumnStats,
    Kind,
    StatsFile,
    TableStats,
    values_of,
    with_stand_ins,
)

_CALL = re.compile(r"pg_catalog\.pg_restore_(relation|attribute)_stats\((.*?)\n\);", re.S)
_LITERAL = re.compile(r"'((?:[^']|'')*)'(?:::([\w ]+(?:\[\])?))?")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(Infinity|NaN)$")
_TIME = re.compile(r"^-?\d{4,}-\d\d-\d\d( \d\d:\d\d(:\d\d(\.\d+)?)?)?([+-]\d\d(:\d\d)?)?"
                   r"( BC)?$|^\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d(:\d\d)?)?$|^-?infinity$")
_VERSION = re.compile(r"^-- Dumped from database version (\S+)", re.M)


def _pairs(args: str) -> dict[str, str]:
    literals = [m.group(1).replace("''", "'") for m in _LITERAL.finditer(args)]
    if len(literals) % 2:
        raise ValueError("an odd number of arguments")
    return dict(zip(literals[::2], literals[1::2], strict=True))


def _kind(values: list[str]) -> Kind:
    if not values:
        return "number"  # nothing to hide either way
    if all(_NUMBER.match(v) for v in values):
        return "number"
    if all(_TIME.match(v) for v in values):
        return "time"
    if all(v in ("t", "f") for v in values):
        return "boolean"
    return "text"


def read(text: str, keep_values: bool = False, schema: str | None = None,
         tables: set[str] | None = None, name: str = "the dump") -> StatsFile:
    """stats.json's model from the text of `pg_dump --statistics-only` output."""
    relations: dict[tuple[str, str], TableStats] = {}
    for n, m in enumerate(_CALL.finditer(text), 1):
        try:
            args = _pairs(m.group(2))
            key = (args["schemaname"], args["relname"])
            if m.group(1) == "relation":
                table = relations.setdefault(key, TableStats(name=key[1], reltuples=-1,
                                                             relpages=0))
                table.reltuples = float(args.get("reltuples", -1))
                table.relpages = int(args.get("relpages", 0))
                continue
            if args.get("inherited") in ("t", "true") or "attname" not in args:
                continue  # a parent's, or an index expression's (by attnum)
            table = relations.setdefault(key, TableStats(name=key[1], reltuples=-1, relpages=0))
            table.columns.append(_column(args, keep_values))
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{name}: statistics call {n} cannot be read: {exc}") from None
    if not relations:
        raise ConfigError(f"{name}: no pg_restore_relation_stats/pg_restore_attribute_stats "
                          f"calls (is it `pg_dump --statistics-only` output of PostgreSQL 18+?)")
    schemas = sorted({s for s, _ in relations})
    if schema is None:
        if len(schemas) > 1:
            raise ConfigError(f"{name}: statistics of several schemas ({', '.join(schemas)}); "
                              f"dump one schema (pg_dump -n NAME)")
        schema = schemas[0]
    chosen = [t for (s, _), t in sorted(relations.items()) if s == schema and t.columns
              and (tables is None or t.name in tables)]
    if tables is not None and (missing := tables - {t.name for t in chosen}):
        raise ConfigError(f"{name}: no statistics for table(s) {', '.join(sorted(missing))} "
                          f"in schema {schema}")
    version = _VERSION.search(text)
    return StatsFile(source="pg_dump", server_version=version.group(1) if version else None,
                     schema_name=schema, values="kept" if keep_values else "stand-ins",
                     tables=chosen)


def _column(args: dict[str, str], keep_values: bool) -> ColumnStats:
    mcv = values_of(args.get("most_common_vals"))
    hist = values_of(args.get("histogram_bounds"))
    kind = _kind((mcv or []) + (hist or []))
    freqs = values_of(args.get("most_common_freqs"))
    column = ColumnStats(
        name=args["attname"], kind=kind, values="kept",
        null_frac=float(args.get("null_frac", 0)), avg_width=int(args.get("avg_width", 0)),
        n_distinct=float(args.get("n_distinct", 0)), most_common_vals=mcv,
        most_common_freqs=[float(f) for f in freqs] if freqs is not None else None,
        histogram_bounds=hist,
        correlation=float(args["correlation"]) if "correlation" in args else None)
    if kind == "text" and not keep_values:
        return with_stand_ins(column)
    return column
