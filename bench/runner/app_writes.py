"""The app's own write workloads: one `.sql` file each in the folder the project file names
(`[writes] folder`), measured beside the workloads derived from the schema (writes.py).

    -- table: orders
    -- rows: SELECT id FROM orders WHERE state = 'open' ORDER BY id
    -- A comment line says what the app does.
    UPDATE orders SET updated_at = clock_timestamp(), attempts = :n WHERE id = :id

`:id` is a row of the busy set: ACTIVE_SET rows drawn (by --seed) from what `rows` returns, the
table's single-column key; `:n` (optional) is a whole number from 1 to 99 drawn per statement.
The name is `update:<table>` (or `-- name:`), as the workload mix and results.json spell it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.runner.shapes import named_parameters

_HEADER = re.compile(r"^--\s*([a-z_]+)\s*:\s*(.+?)\s*$")
PARAMS = {"id", "n"}


@dataclass(frozen=True)
class AppWrite:
    name: str
    table: str
    rows: str  # SQL whose single column is the pool of busy rows' keys
    sql: str  # as written, with :id and :n
    driver_sql: str  # with %(id)s and %(n)s
    description: str
    path: Path | None  # None: derived from the schema (bench/runner/derived_writes.py)
    values: tuple[Any, ...] = ()  # the pool :v is drawn from (derived updates)


def load_app_writes(folder: Path | None) -> list[AppWrite]:
    if folder is None:
        return []
    if not folder.is_dir():
        raise ConfigError(f"write workload folder not found: {folder}")
    writes = [parse_app_write(p) for p in sorted(folder.glob("*.sql"))]
    names = [w.name for w in writes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{folder}: two files name the write workload {', '.join(twice)}; "
                          "give one a `-- name:` line")
    return writes


def parse_app_write(path: Path) -> AppWrite:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    meta: dict[str, str] = {}
    notes: list[str] = []
    body: list[str] = []
    for line in raw.splitlines():
        if not body and line.startswith("--"):
            m = _HEADER.match(line)
            if m:
                meta[m.group(1)] = m.group(2)
            else:
                notes.append(line.lstrip("-").strip())
        elif line.strip() or body:
            body.append(line)
    statement = "\n".join(body).strip().rstrip(";").strip()
    for key in ("table", "rows"):
        if key not in meta:
            raise ConfigError(f"{path}: no '-- {key}: ...' line in the header")
    if not statement:
        raise ConfigError(f"{path}: no statement after the header")
    if ";" in statement:
        raise ConfigError(f"{path}: one statement per write file (found ';' inside it)")
    driver_sql, used = named_parameters(statement, path, ConfigError)
    unknown = sorted(used - PARAMS)
    if unknown:
        raise ConfigError(f"{path}: unknown parameter(s) {', '.join(':' + p for p in unknown)}"
                          "; a write file may use :id (a busy row's key) and :n (1 to 99)")
    if "id" not in used:
        raise ConfigError(f"{path}: the statement must name its row as :id")
    verb = statement.split(None, 1)[0].lower()
    table = meta["table"]
    return AppWrite(name=meta.get("name", f"{verb}:{table}"), table=table, rows=meta["rows"],
                    sql=statement, driver_sql=driver_sql,
                    description=" ".join(n for n in notes if n), path=path)
