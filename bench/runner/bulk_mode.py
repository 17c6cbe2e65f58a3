"""Bulk-load settings for the embedded server while seeding, and back afterwards.

PostgreSQL's "Populating a Database" advice: with `wal_level = minimal` (and no WAL senders) a
COPY into a table created in the same transaction, and an index built in it, write no WAL at
all; the files are synced at commit instead. Without it, seeding a fresh embedded server at
scale 1 writes 430 MB of WAL into 27 new, zero-filled segments. Measured on this 2-core machine
(issue 15, `python -m bench seed`, 5 runs each, alternating): 4.8-5.6 s (median 5.1) with it,
the two restarts (0.24 s each) included, against 4.5-6.6 s (median 5.4) without: a little
faster, and much less at the mercy of other programs' disk writes.

Only for a server the harness owns (the embedded one): the measurements then run with the
settings the server had before, which `bulk_load_mode` checks after the restart. A --dsn server
is never restarted or reconfigured; it gets the same load with its own settings.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from bench.runner.provision import data_directory, restart_embedded

BULK_SETTINGS = {"wal_level": "minimal", "max_wal_senders": "0"}


def _restart(conninfo: str) -> float:
    """Restart the server (fast shutdown); seconds taken."""
    pgdata = data_directory(conninfo)
    start = time.perf_counter()
    restart_embedded(pgdata)
    return time.perf_counter() - start


def _settings(conninfo: str) -> dict[str, str]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return {name: str(row[0]) for name in BULK_SETTINGS
                if (row := conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name)))
                    .fetchone()) is not None}


def _alter_system(conninfo: str, values: dict[str, str] | None) -> None:
    """ALTER SYSTEM SET the bulk settings (values) or RESET them (None)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for name in BULK_SETTINGS:
            if values is None:
                conn.execute(sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(name)))
            else:
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
                    sql.Identifier(name), sql.Literal(values[name])))


@contextmanager
def bulk_load_mode(conninfo: str) -> Iterator[dict[str, Any]]:
    """Restart the (embedded) server with BULK_SETTINGS for the block, then restart it with
    its own settings again. Yields a record for results.json, completed on exit.

    Connections open across the block are cut by the restarts: open them inside.
    """
    before = _settings(conninfo)
    record: dict[str, Any] = {"during_load": dict(BULK_SETTINGS), "after_load": before}
    _alter_system(conninfo, BULK_SETTINGS)
    try:
        record["restart_seconds"] = [_restart(conninfo)]
        yield record
    except BaseException:
        # Put the settings back if the server still answers; but Ctrl-C at a terminal reaches
        # the embedded server too (one process group), which is then shutting down: the
        # interruption, not that failure, is what the user must see. The server is thrown
        # away after an error anyway.
        with contextlib.suppress(Exception):
            _alter_system(conninfo, None)
        raise
    _alter_system(conninfo, None)
    record.setdefault("restart_seconds", []).append(_restart(conninfo))
    after = _settings(conninfo)
    if after != before:
        raise RuntimeError(f"the server's settings after loading are {after}, not {before}")


def bulk_mode_summary(record: dict[str, Any]) -> str:
    """One line for the console: what the server ran with while loading, and after."""
    during = ", ".join(f"{k}={v}" for k, v in record["during_load"].items())
    after = ", ".join(f"{k}={v}" for k, v in record["after_load"].items())
    return (f"loaded with {during}, then restarted with {after} "
            f"(2 restarts, {sum(record.get('restart_seconds', [])):.1f} s)")
