"""Cache state before measuring: warm (pg_prewarm every table and index) or cold."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from bench.errors import first_line
from bench.results.model import CacheState
from bench.runner.provision import data_directory, restart_embedded

_RELATIONS = """
    SELECT c.oid::regclass::text, pg_relation_size(c.oid) / 8192 FROM pg_class AS c
    WHERE c.oid = ANY(SELECT t::regclass FROM unnest(%s::text[]) AS t)
       OR c.oid IN (SELECT indexrelid FROM pg_index
                    WHERE indrelid = ANY(SELECT t::regclass FROM unnest(%s::text[]) AS t))
    ORDER BY pg_relation_size(c.oid)
"""


def prewarm(conninfo: str, tables: list[str]) -> CacheState:
    """Load the tables and all their indexes into shared buffers with pg_prewarm.

    Returns what was done; when the extension cannot be created (no privilege on a foreign
    server), the warm-up rounds alone warm the cache and the record says so.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        except psycopg.Error as exc:
            return CacheState(mode="warm", pg_prewarm=False, reason=first_line(exc))
        blocks = 0
        relations = conn.execute(_RELATIONS, (tables, tables)).fetchall()
        for rel, _blocks in relations:
            blocks += conn.execute(sql.SQL("SELECT pg_prewarm({})").format(sql.Literal(rel))
                                   ).fetchone()[0]  # type: ignore[index]
    return CacheState(mode="warm", pg_prewarm=True, relations=len(relations), blocks=blocks)


PREWARM_CHUNK = 64  # blocks (512 kB) per pg_prewarm call when two databases share the buffers


def prewarm_pair(conninfos: list[str], tables: list[str]) -> list[CacheState]:
    """Prewarm two twins into shared buffers in turns of PREWARM_CHUNK blocks of each relation,
    so both twins' pages are spread over the same stretches of the buffer pool.

    Where a page sits in memory changes how fast it is scanned (cache and TLB sets, and on a
    VM how the host backs that memory); loading one twin after the other gave the A/A control
    of the seq-scan shapes a bias of up to 15% that held for a whole run.
    """
    states: list[CacheState] = []
    with contextlib.ExitStack() as stack:
        conns: dict[int, psycopg.Connection] = {}
        sizes: dict[int, dict[str, int]] = {}
        for side, info in enumerate(conninfos):
            conn = stack.enter_context(psycopg.connect(info, autocommit=True))
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            except psycopg.Error as exc:
                return [CacheState(mode="warm", pg_prewarm=False, reason=first_line(exc))
                        for _ in conninfos]
            conns[side] = conn
            sizes[side] = dict(conn.execute(_RELATIONS, (tables, tables)).fetchall())
        blocks = dict.fromkeys(conns, 0)
        longest = max((n for s in sizes.values() for n in s.values()), default=0)
        for first in range(0, longest, PREWARM_CHUNK):
            for side, conn in conns.items():
                for rel, n in sizes[side].items():
                    if first < n:
                        blocks[side] += conn.execute(
                            "SELECT pg_prewarm(%s::regclass, 'buffer', 'main', %s, %s)",
                            (rel, first, min(first + PREWARM_CHUNK, n) - 1)).fetchone()[0]  # type: ignore[index]
        for side in conns:
            states.append(CacheState(mode="warm", pg_prewarm=True, relations=len(sizes[side]),
                                     blocks=blocks[side]))
    return states


def cold_restarter(conninfo: str) -> tuple[Callable[[], None], str]:
    """A function that restarts the (embedded) server and drops the OS page cache.

    Returns it with a sentence saying what it can and cannot make cold.
    """
    pgdata = data_directory(conninfo)
    os_cache = _drop_os_cache()
    note = ("cold cache: PostgreSQL restarted before every measured round (empty shared "
            "buffers)" + ("; OS page cache dropped before every round" if os_cache is True else
                          f"; the OS page cache could NOT be dropped ({os_cache}), so reads "
                          "may still come from memory") +
            "; CPU caches and the disk's own cache are not controlled")

    def restart() -> None:
        restart_embedded(pgdata)
        _drop_os_cache()

    return restart, note


def _drop_os_cache() -> bool | str:
    """Drop Linux's page cache (needs root); True, or why not."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return True
    except OSError as exc:
        return f"{exc.strerror or exc}: needs root on Linux"
