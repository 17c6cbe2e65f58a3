"""What a table's CHECK constraints allow, read from their text as the catalog gives it.

Understood (what PostgreSQL makes of the usual spellings): value lists
`col = ANY (ARRAY['a'::text, ...])` (also from `col IN (...)`, and `(col)::text = ANY
((ARRAY[...])::text[])` for varchar), numeric bounds `col >= 0`, `col > 0`, `col <= 100`
(also `BETWEEN`, which becomes two of them joined by AND, and `0 <= col`), and comparisons of
two columns `ends_at > starts_at`. A CHECK with OR, or any other form, is not understood: the
generator ignores it, and the load then fails on the server if the rows break it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

_IDENT = r'"?([A-Za-z_][A-Za-z0-9_$]*)"?'
_CAST = r"(?:::[A-Za-z_ ]+(?:\[\])?)?"
_LIST = re.compile(rf"\(*{_IDENT}\)?{_CAST}\s*=\s*ANY\s*\(+ARRAY\[(.*?)\]", re.S)
_IN = re.compile(rf"\(*{_IDENT}\)?{_CAST}\s+IN\s*\((.*?)\)", re.S | re.I)
_STRING = re.compile(r"'((?:[^']|'')*)'")
_NUMBER = r"\(*'?(-?\d+(?:\.\d+)?)'?\)?" + _CAST
_CMP = re.compile(rf"^\(*{_IDENT}\)?{_CAST}\s*(>=|<=|>|<)\s*{_NUMBER}\)*$")
_CMP_REVERSED = re.compile(rf"^\(*{_NUMBER}\s*(>=|<=|>|<)\s*\(*{_IDENT}\)?{_CAST}\)*$")
_COLUMNS = re.compile(rf"^\(*{_IDENT}\)?{_CAST}\s*(>=|<=|>|<)\s*\(*{_IDENT}\)?{_CAST}\)*$")
_BETWEEN = re.compile(rf"^\(*{_IDENT}\)?{_CAST}\s+BETWEEN\s+{_NUMBER}\s+AND\s+{_NUMBER}\)*$",
                      re.I)
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


@dataclass
class Bounds:
    lo: float | None = None
    hi: float | None = None
    lo_strict: bool = False
    hi_strict: bool = False

    def add(self, op: str, value: float) -> None:
        if op in (">", ">=") and (self.lo is None or value >= self.lo):
            self.lo, self.lo_strict = value, op == ">"
        elif op in ("<", "<=") and (self.hi is None or value <= self.hi):
            self.hi, self.hi_strict = value, op == "<"


@dataclass
class Checks:
    values: dict[str, list[str]] = field(default_factory=dict)  # column -> allowed values
    bounds: dict[str, Bounds] = field(default_factory=dict)
    order: list[tuple[str, str, str]] = field(default_factory=list)  # (left, op, right)


def constraint_texts(table: sa.Table) -> list[str]:
    return [str(c.sqltext) for c in table.constraints if isinstance(c, sa.CheckConstraint)]


def parse(texts: list[str], columns: set[str]) -> Checks:
    out = Checks()
    for text in texts:
        parse_one(text, columns, out)
    return out


def parse_one(text: str, columns: set[str], out: Checks) -> None:
    flat = " ".join(text.split())
    if re.search(r"\bOR\b", flat, re.I):
        return
    for pattern in (_LIST, _IN):
        m = pattern.search(flat)
        if m and m.group(1) in columns:
            out.values[m.group(1)] = [v.replace("''", "'") for v in _STRING.findall(m.group(2))]
            return
    if (m := _BETWEEN.match(_strip(flat))) and m.group(1) in columns:
        bounds = out.bounds.setdefault(m.group(1), Bounds())
        bounds.add(">=", float(m.group(2)))
        bounds.add("<=", float(m.group(3)))
        return
    for part in re.split(r"\s+AND\s+", _strip(flat), flags=re.I):
        part = _strip(part)
        if m := _CMP.match(part):
            if m.group(1) in columns:
                out.bounds.setdefault(m.group(1), Bounds()).add(m.group(2), float(m.group(3)))
        elif m := _CMP_REVERSED.match(part):
            if m.group(3) in columns:
                out.bounds.setdefault(m.group(3), Bounds()).add(_FLIP[m.group(2)],
                                                                float(m.group(1)))
        elif (m := _COLUMNS.match(part)) and m.group(1) in columns and m.group(3) in columns:
            out.order.append((m.group(1), m.group(2), m.group(3)))


def _strip(text: str) -> str:
    """Outer parentheses that wrap the whole text, removed."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0
