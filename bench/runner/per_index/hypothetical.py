"""HypoPG's estimate of each index beside the real index's (run --per-index, where the server
has HypoPG).

For each index and each shape that reads its table, on the attribution session: the state
"none" (the migration's indexes on the shape's tables dropped under a savepoint), a HypoPG
hypothetical index made from the real one's definition, plain EXPLAIN of the rounds' parameter
sets, and hypopg_relation_size(); then hypopg_reset() and ROLLBACK. CREATE EXTENSION runs inside
the same transaction, so the database keeps no extension it did not have. It runs after every
timing, so no measurement plans with HypoPG's hooks loaded.

A server without HypoPG (the embedded one) records why it was skipped and nothing else.
"""

from __future__ import annotations

from typing import Any

import psycopg

from bench.errors import first_line
from bench.results import advisor
from bench.results.per_index import PerIndexSection
from bench.runner import plans
from bench.runner.per_index.attribute import Attribution
from bench.runner.per_index.index_reads import param_key
from bench.runner.per_index.index_states import entered, missing

NOT_AVAILABLE = ("this server has no HypoPG (pg_available_extensions lists no hypopg): the "
                 "estimates are the real indexes' only")


def version(conn: psycopg.Connection[Any]) -> str | None:
    """HypoPG's version this server offers, or None."""
    row = conn.execute("SELECT coalesce(installed_version, default_version) "
                       "FROM pg_available_extensions WHERE name = 'hypopg'").fetchone()
    return str(row[0]) if row else None


def attach(conn: psycopg.Connection[Any], a: Attribution, section: PerIndexSection,
           definitions: dict[str, str]) -> None:
    """HypoPG's size and add-one cost of every index into the section's records, or the
    reason there are none (section.hypopg_note)."""
    found = version(conn)
    if found is None:
        section.hypopg_note = NOT_AVAILABLE
        return
    section.hypopg_version = found
    failures: list[str] = []
    for rec in section.indexes:
        definition = definitions.get(rec.name) or rec.definition
        for effect in rec.add_one:
            b = a.blocks[effect.shape]
            try:
                size, costs = _explain(conn, a, b.shape.name, definition)
            except psycopg.Error as exc:
                failures.append(f"{rec.name} on {effect.shape}: {first_line(exc)}")
                continue
            if size is not None:
                rec.hypo_size_bytes = size
            if effect.estimate is not None:
                advisor.add_hypothetical(effect.estimate, a.costs(b, a.none), costs)
    if failures:
        section.hypopg_note = "HypoPG failed for " + "; ".join(failures[:3]) + (
            f" and {len(failures) - 3} more" if len(failures) > 3 else "")


def _explain(conn: psycopg.Connection[Any], a: Attribution, shape: str, definition: str
             ) -> tuple[int | None, list[float]]:
    """(HypoPG's size of the index, the total cost of each round's parameter set) with the
    hypothetical index in place of the real one, the rest of the migration absent."""
    b = a.blocks[shape]
    drop = missing(a.none, a.universe, b.tables)
    conn.execute("BEGIN")
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
        try:
            with entered(conn, drop):
                row = conn.execute("SELECT indexrelid FROM hypopg_create_index(%s)",
                                   (definition,)).fetchone()
                assert row is not None
                size_row = conn.execute("SELECT hypopg_relation_size(%s)", (row[0],)).fetchone()
                by_params: dict[str, float] = {}
                costs = []
                for p in b.params:
                    key = param_key(p)
                    if key not in by_params:
                        doc = plans.explain_document(conn.execute(
                            "EXPLAIN (FORMAT JSON) " + b.shape.driver_sql, p,
                            prepare=False).fetchone())
                        by_params[key] = float(doc["Plan"]["Total Cost"])
                    costs.append(by_params[key])
        finally:
            conn.execute("SELECT hypopg_reset()")
    finally:
        conn.execute("ROLLBACK")
    size = int(size_row[0]) if size_row and size_row[0] is not None else None
    return size, costs
