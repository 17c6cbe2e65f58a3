"""The claims made about a migration, from the claims file beside it: one source for them all.

`<migration stem>.claims.toml` (e.g. 007_add_comprehensive_database_indexes.claims.toml) holds
every figure the migration's report claimed: speedups per query shape, write overhead, disk
growth, index counts. A migration without such a file is measured without claims.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bench.errors import ConfigError
from bench.results.model import ClaimedRead, Claims


def claims_file(migration: Path) -> Path:
    return migration.with_name(migration.stem + ".claims.toml")


def load_for(migration: Path) -> Claims | None:
    """The claims beside `migration`, or None when it has no claims file."""
    path = claims_file(migration)
    if not path.is_file():
        return None
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as TOML ({exc})") from None
    try:
        return parse(raw)
    except (ValidationError, KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise ConfigError(f"{path}: not a valid claims file: {_first(exc)}") from None


def parse(raw: dict[str, Any]) -> Claims:
    indexes, writes = raw.get("indexes", {}), raw.get("writes", {})
    reads = {
        name: ClaimedRead(before_ms=float(r["before_ms"]), after_ms=float(r["after_ms"]),
                          factor=float(r["before_ms"]) / float(r["after_ms"]))
        for name, r in raw.get("reads", {}).items()
    }
    return Claims(
        source=str(raw.get("source", "")),
        new_indexes=indexes.get("new"),
        new_indexes_per_table=indexes.get("per_table", {}),
        insert_overhead_pct=writes.get("insert_overhead_pct"),
        update_overhead_pct=writes.get("update_overhead_pct"),
        copy_overhead_pct=writes.get("copy_overhead_pct"),
        disk_growth_pct=raw.get("disk", {}).get("growth_pct"),
        reads=reads,
    )


def _first(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        return f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
    if isinstance(exc, KeyError):
        return f"missing {exc}"
    return str(exc)
