"""Query shapes: one `.sql` file each, a header of `-- key: value` lines, then the query.

Header keys (see queries/README.md):
  report_row      the row of the report's table this shape measures
  report_order    position of that row in the report's table (shapes are listed in this order)
  expects_index   the migration-007 index the shape should use afterwards
  param NAME      SQL returning the pool of values NAME is drawn from (ordered, one column)
The query names its parameters as `:name`. What a report claimed for a shape lives in the
migration's claims file, not here (bench.results.claims).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.exc import ArgumentError

from bench.errors import ShapeError

_HEADER = re.compile(r"^--\s*(param\s+\w+|[a-z_]+)\s*:\s*(.+?)\s*$")
@dataclass(frozen=True)
class Shape:
    name: str
    path: Path
    sql: str  # the query as written, with :name parameters
    driver_sql: str  # the same with psycopg %(name)s placeholders
    params: dict[str, str]  # parameter name -> pool query
    report_row: str = ""
    expects_index: str | None = None
    description: str = ""
    order: int = 1000


def named_parameters(query: str, path: Path, error: type[Exception] = ShapeError
                     ) -> tuple[str, set[str]]:
    """The query with psycopg's %(name)s placeholders for its :name parameters, and their
    names; casts (':day::date') stay casts."""
    try:
        # Escape casts so ':day::date' still binds :day (text() reads a backslash-colon as ':').
        dialect = pg_psycopg.dialect()  # type: ignore[no-untyped-call]
        compiled = text(query.replace("::", r"\:\:")).compile(dialect=dialect)
    except ArgumentError as exc:
        raise error(f"{path}: {exc}") from None
    return str(compiled), set(compiled.params)


def parse_shape(path: Path) -> Shape:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ShapeError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    meta: dict[str, str] = {}
    params: dict[str, str] = {}
    description: list[str] = []
    body: list[str] = []
    in_header = True
    for line in raw.splitlines():
        if in_header and line.startswith("--"):
            m = _HEADER.match(line)
            if m and m.group(1).startswith("param"):
                params[m.group(1).split()[1]] = m.group(2)
            elif m:
                meta[m.group(1)] = m.group(2)
            else:
                description.append(line.lstrip("-").strip())
            continue
        if in_header and not line.strip():
            continue
        in_header = False
        body.append(line)
    query = "\n".join(body).strip().rstrip(";").strip()
    if not query:
        raise ShapeError(f"{path}: no query after the header")
    if ";" in query:
        raise ShapeError(f"{path}: one statement per shape file (found ';' inside the query)")
    driver_sql, used = named_parameters(query, path, ShapeError)
    undeclared = sorted(used - params.keys())
    if undeclared:
        raise ShapeError(
            f"{path}: parameter(s) {', '.join(':' + p for p in undeclared)} have no "
            f"'-- param NAME: <pool query>' line"
        )
    unused = sorted(params.keys() - used)
    if unused:
        raise ShapeError(f"{path}: declared parameter(s) {', '.join(unused)} not used in the query")
    if "claimed" in meta:
        raise ShapeError(f"{path}: a shape file no longer carries 'claimed'; put the claim in "
                         "the migration's claims file (<migration>.claims.toml, [reads.<shape>])")
    return Shape(
        name=path.stem,
        path=path,
        sql=query,
        driver_sql=driver_sql,
        params=params,
        report_row=meta.get("report_row", ""),
        expects_index=meta.get("expects_index"),
        description=" ".join(d for d in description if d).strip(),
        order=_int(meta.get("report_order", "1000"), path, "report_order"),
    )


def _int(value: str, path: Path, key: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ShapeError(f"{path}: '{key}' must be a whole number (got {value!r})") from None


def load_shapes(folder: Path, names: tuple[str, ...] = ()) -> list[Shape]:
    files = sorted(folder.glob("*.sql"))
    available = {f.stem: f for f in files}
    if not files:
        raise ShapeError(f"no .sql query shapes in {folder}")
    if names:
        unknown = [n for n in names if n not in available]
        if unknown:
            raise ShapeError(
                f"unknown shape(s) {', '.join(unknown)}; available: {', '.join(available)}"
            )
        files = [available[n] for n in names]
    return sorted((parse_shape(f) for f in files), key=lambda s: (s.order, s.name))
