"""Per query shape, the planner on production against the planner on the data made from its
statistics (`--stats-dsn URL` with `--stats`): plain `EXPLAIN (FORMAT JSON)` of each shape with
the run's own first parameter set, on the source through a read-only connection and on the
seeded database; bench/results/fidelity.py pairs the plans' nodes.

On the source everything runs in one READ ONLY transaction with a short statement_timeout
(stats_export.read_only: nothing is written, no transaction id assigned); each shape in a
savepoint, so one that fails there (a table it lacks) is named and left out. Both sides plan
with the run's session settings (parallel workers, JIT off, UTC).
"""

from __future__ import annotations

from typing import Any

import psycopg

from bench.config import RunConfig
from bench.errors import ShapeError, first_line
from bench.results.fidelity import headline, shape_fidelity, with_shapes
from bench.results.model import SeedRecord, ShapeFidelity
from bench.runner import reads
from bench.runner.params import parameter_sets
from bench.runner.progress import Echo
from bench.runner.provision import Target
from bench.runner.shapes import Shape
from bench.runner.stats_export import read_only

EXPLAIN = "EXPLAIN (FORMAT JSON) "

Params = dict[str, list[dict[str, Any]]]


def _settings(cfg: RunConfig) -> reads.SessionSettings:
    return reads.SessionSettings(cfg.parallel_workers, cfg.statement_timeout_s)


def first_parameters(target: Target, cfg: RunConfig, shapes: list[Shape]) -> Params:
    """The parameter sets a run would draw (for `seed`, which draws none of its own)."""
    with reads.open_session(target.conninfo, _settings(cfg)) as conn:
        return {s.name: parameter_sets(conn, s, cfg.seed, cfg.param_rounds) for s in shapes}


def _explain(conn: psycopg.Connection, shape: Shape, params: dict[str, Any]) -> Any:
    row = conn.execute(EXPLAIN + shape.driver_sql, params, prepare=False).fetchone()
    return row[0] if row else None


def compare_shapes(stats_dsn: str, target: Target, cfg: RunConfig, shapes: list[Shape],
                   params: Params, echo: Echo) -> list[ShapeFidelity]:
    """Each shape's plan on the source against its plan here, with its first parameter set."""
    here: dict[str, Any] = {}
    with reads.open_session(target.conninfo, _settings(cfg)) as conn:
        for shape in shapes:
            try:
                here[shape.name] = _explain(conn, shape, params[shape.name][0])
            except psycopg.Error as exc:
                raise ShapeError(f"{shape.path}: {first_line(exc)}") from None
    out: list[ShapeFidelity] = []
    with read_only(stats_dsn) as source:
        for stmt in _settings(cfg).statements():
            if not stmt.startswith("SET statement_timeout"):  # read_only's own, shorter one
                source.execute(stmt.replace("SET ", "SET LOCAL ", 1))
        for shape in shapes:
            try:
                with source.transaction():  # a savepoint: a failing shape leaves the rest
                    there = _explain(source, shape, params[shape.name][0])
            except psycopg.Error as exc:
                echo(f"seed: query shape {shape.name} cannot be planned on the source: "
                     f"{first_line(exc)}")
                continue
            if there is not None and here.get(shape.name) is not None:
                out.append(shape_fidelity(shape.name, there, here[shape.name]))
    return out


def add_shapes(record: SeedRecord, stats_dsn: str, target: Target, cfg: RunConfig,
               shapes: list[Shape], params: Params, echo: Echo) -> None:
    """Put the shapes' fidelity into the seed record's (data from a stats file) and say it."""
    if record.fidelity is None:
        return
    found = compare_shapes(stats_dsn, target, cfg, shapes, params, echo)
    record.fidelity = with_shapes(record.fidelity, found)
    echo(f"seed: {headline(record.fidelity)}")
    for s in found:
        q = f"{s.max_q_error:.2f}" if s.max_q_error is not None else "-"
        echo(f"seed:   {s.shape}: {'same plan' if s.same_plan else 'plan differs'}, "
             f"base-table q-error {q}" + ("" if s.same_plan else
                                          f" (source {s.source_plan}; here {s.synthetic_plan})"))
