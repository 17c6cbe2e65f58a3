"""Parameter values for the query shapes, drawn from the seeded data.

Each parameter's pool comes from its shape file's pool query; the draw is seeded by the run's
--seed and the shape's name, so it is the same before and after the migration and on every run.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import psycopg

from bench.errors import ShapeError, first_line
from bench.runner.shapes import Shape


def fetch_pool(conn: psycopg.Connection, shape: Shape, name: str) -> list[Any]:
    try:
        rows = conn.execute(shape.params[name]).fetchall()
    except psycopg.Error as exc:
        conn.rollback()
        raise ShapeError(
            f"{shape.path}: pool query for :{name} failed: {first_line(exc)}"
        ) from None
    if not rows:
        raise ShapeError(f"{shape.path}: pool query for :{name} returned no rows")
    return [row[0] for row in rows]


def draw(pools: dict[str, list[Any]], seed: int, shape_name: str, n: int) -> list[dict[str, Any]]:
    """n parameter sets, each value drawn uniformly (with replacement) from its pool."""
    rng = np.random.default_rng([seed, zlib.crc32(shape_name.encode())])
    picks = {name: rng.integers(0, len(pool), n) for name, pool in sorted(pools.items())}
    return [{name: pools[name][int(picks[name][i])] for name in pools} for i in range(n)]


def parameter_sets(
    conn: psycopg.Connection, shape: Shape, seed: int, n: int
) -> list[dict[str, Any]]:
    pools = {name: fetch_pool(conn, shape, name) for name in shape.params}
    return draw(pools, seed, shape.name, n)

