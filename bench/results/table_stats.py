"""stats.json: what PostgreSQL's planner knows about a database's tables, fit to leave it.

Written by `python -m bench stats export` (bench/runner/stats_export.py, from a live server, or
bench/results/stats_dump.py, from `pg_dump --statistics-only` output); read by whatever makes
data shaped like it. Pure: no database, no runner.

Per table the planner's row and page counts (pg_class), per column what `pg_stats` holds (null
fraction, average width, distinct count, most common values with their frequencies, histogram
bounds, correlation with the physical order), and per foreign key the fan-out: how many parents
have children and how many children a parent has.

Values are PostgreSQL's text forms, as `pg_stats` gives them. `values` says per column what
became of them: `kept` (numbers, times, booleans, or every column with --keep-values),
`schema` (labels the schema itself fixes: an enum type, a CHECK (col = ANY (ARRAY[...])) list),
`stand-ins` (text: each value replaced by a pseudo-word of the same length, the same for one
value wherever it appears in the column, ordered like the originals so a histogram stays a
histogram; frequencies untouched), `withheld` (types whose values are neither text nor a number
nor a time, such as uuid or json: frequencies kept, values dropped).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

STATS_SCHEMA_VERSION: Literal[1] = 1

Kind = Literal["number", "time", "boolean", "text", "enum", "other"]
Handling = Literal["kept", "schema", "stand-ins", "withheld"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColumnStats(_Record):
    name: str
    type: str | None = Field(None, description="format_type() of the column (None from a dump)")
    kind: Kind
    values: Handling
    null_frac: float
    avg_width: int
    n_distinct: float = Field(description="as pg_stats: > 0 a count, < 0 minus the fraction of "
                                          "rows (-1: all distinct)")
    most_common_vals: list[str] | None = None
    most_common_freqs: list[float] | None = None
    histogram_bounds: list[str] | None = None
    correlation: float | None = None

    def distinct_count(self, rows: float) -> float:
        """The number of distinct non-null values in a table of `rows` rows."""
        return self.n_distinct if self.n_distinct >= 0 else -self.n_distinct * rows


class TableStats(_Record):
    name: str
    reltuples: float = Field(description="pg_class.reltuples: the planner's row count "
                                         "(-1: never analyzed)")
    relpages: int
    columns: list[ColumnStats] = []

    def column(self, name: str) -> ColumnStats | None:
        return next((c for c in self.columns if c.name == name), None)


class Quantiles(_Record):
    mean: float
    p50: float
    p90: float
    p99: float
    max: float


class ForeignKeyFanout(_Record):
    """Children per parent through one foreign key (child.columns -> parent.parent_columns)."""

    name: str
    table: str
    columns: list[str]
    parent_table: str
    parent_columns: list[str]
    parent_rows: float
    distinct_parents: float | None = Field(
        description="parents with at least one child (from pg_stats n_distinct of the child "
                    "column; from the sample for a multi-column key)")
    children_per_parent: Quantiles | None = Field(
        None, description="over the parents with children; from the sample, counts scaled by "
                          "1/sample_fraction (a sampled parent with few children is seen less "
                          "often, so below 1 the low quantiles are rough)")
    top_children: list[float] = Field(
        [], description="children of the parents with the most, from pg_stats most common "
                        "values (frequency times rows; the parents' keys are not kept)")
    sample_rows: int = 0
    sample_fraction: float = 1.0
    sample_method: Literal["full", "tablesample system", "none"] = "none"


class StatsFile(_Record):
    """stats.json of pg-index-bench."""

    schema_version: Literal[1] = STATS_SCHEMA_VERSION
    source: Literal["server", "pg_dump"]
    server_version: str | None = None
    schema_name: str
    values: Literal["stand-ins", "kept"]
    tables: list[TableStats] = []
    foreign_keys: list[ForeignKeyFanout] = []

    def table(self, name: str) -> TableStats | None:
        return next((t for t in self.tables if t.name == name), None)


# --- PostgreSQL's array text form --------------------------------------------------------------


def parse_array(text: str) -> list[str | None]:
    """The elements of a one-dimensional array literal (`{a,"b c",NULL}`), as text.

    An element that is itself an array (the values of an array column) stays its literal.
    """
    s = text.strip()
    if s.startswith("["):  # explicit bounds: [0:2]={...}
        s = s[s.index("=") + 1:]
    if not (s.startswith("{") and s.endswith("}")):
        raise ValueError(f"not an array literal: {text[:40]!r}")
    body, out, i = s[1:-1], [], 0
    if not body.strip():
        return []
    while i <= len(body):
        buf: list[str] = []
        quoted = False
        while i < len(body) and body[i] == " ":
            i += 1
        if i < len(body) and body[i] == '"':
            quoted, i = True, i + 1
            while body[i] != '"':
                if body[i] == "\\":
                    i += 1
                buf.append(body[i])
                i += 1
            i += 1
        else:
            depth = 0
            while i < len(body) and (body[i] != "," or depth):
                if body[i] == "\\":
                    i += 1
                depth += {"{": 1, "}": -1}.get(body[i], 0)
                buf.append(body[i])
                i += 1
        word = "".join(buf) if quoted else "".join(buf).strip()
        out.append(None if not quoted and word.upper() == "NULL" else word)
        while i < len(body) and body[i] != ",":
            i += 1
        i += 1
    return out


def values_of(text: str | None) -> list[str] | None:
    """An array literal from pg_stats as a list of text values (None stays None)."""
    if text is None:
        return None
    return [v for v in parse_array(text) if v is not None]


# --- stand-ins ---------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _fraction_word(x: float, length: int) -> str:
    """`x` in [0, 1) written in base 26 with `length` letters: words so made sort like x."""
    out = []
    for _ in range(length):
        x *= 26
        digit = min(int(x), 25)
        out.append(_LETTERS[digit])
        x -= digit
    return "".join(out)


def _successor(prev: str, length: int) -> str:
    """The least word of `length` letters (or, where none is left, longer) above `prev`."""
    while True:
        if length > len(prev):
            return prev + "a" * (length - len(prev))
        chars = list(prev[:length])
        for pos in range(length - 1, -1, -1):
            if chars[pos] != "z":
                chars[pos] = _LETTERS[_LETTERS.index(chars[pos]) + 1]
                return "".join(chars[:pos + 1]) + "a" * (length - pos - 1)
            chars[pos] = "a"
        length += 1  # every word of this length is taken: one letter more


def stand_ins(ordered: Sequence[str]) -> dict[str, str]:
    """A stand-in for each of `ordered` (distinct values in the column's sort order).

    Lower-case letters only, the length of the original (in characters), strictly increasing
    in `ordered`'s order (letters sort alike in every collation), spread over the alphabet by
    rank. They carry the values' lengths and order, nothing else.
    """
    out: dict[str, str] = {}
    prev: str | None = None
    n = len(ordered)
    for rank, value in enumerate(ordered):
        word = _fraction_word((rank + 1) / (n + 1), len(value))
        if prev is not None and word <= prev:
            word = _successor(prev, len(value))
        out[value] = word
        prev = word
    return out


def column_values(column: ColumnStats) -> list[str]:
    """The distinct literal values a column's statistics name."""
    seen: dict[str, None] = {}
    for v in (column.most_common_vals or []) + (column.histogram_bounds or []):
        seen.setdefault(v, None)
    return list(seen)


def with_stand_ins(column: ColumnStats, ordered: Iterable[str] | None = None) -> ColumnStats:
    """`column` with its text values replaced by stand-ins (see stand_ins).

    `ordered` gives the values in the column's collation order (the server sorts them); without
    it, histogram bounds keep their order and the rest are placed by code point.
    """
    order = list(ordered) if ordered is not None else _merged_order(column)
    words = stand_ins(order)
    return column.model_copy(update={
        "values": "stand-ins",
        "most_common_vals": [words[v] for v in column.most_common_vals]
        if column.most_common_vals is not None else None,
        "histogram_bounds": [words[v] for v in column.histogram_bounds]
        if column.histogram_bounds is not None else None,
    })


def _merged_order(column: ColumnStats) -> list[str]:
    """The values in an order that keeps the histogram's: its bounds as given, each most common
    value placed before the first bound above it by code point."""
    bounds = list(dict.fromkeys(column.histogram_bounds or []))
    others = sorted(set(column.most_common_vals or []) - set(bounds))
    out: list[str] = []
    j = 0
    for b in bounds:
        while j < len(others) and others[j] < b:
            out.append(others[j])
            j += 1
        out.append(b)
    return out + others[j:]


def withheld(column: ColumnStats) -> ColumnStats:
    """`column` without its values (frequencies and counts stay)."""
    return column.model_copy(update={"values": "withheld", "most_common_vals": None,
                                      "histogram_bounds": None})


def kind_of_category(category: str, is_enum: bool = False) -> Kind:
    """The kind of a column from pg_type.typcategory."""
    if is_enum or category == "E":
        return "enum"
    kinds: dict[str, Kind] = {"N": "number", "D": "time", "T": "time", "B": "boolean",
                              "S": "text"}
    return kinds.get(category, "other")
