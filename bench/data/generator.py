"""What a data generator is to the harness, and which one an app gets.

A generator is any object (a module will do) with three functions:

* `row_counts(scale) -> {table: rows}`: the rows of every table it fills at that scale;
* `make_context(seed, scale) -> context`: whatever is drawn once (pools, parent attributes);
  made in the harness's process before the loading processes fork, so they share it;
* `blocks(context, table) -> iterator of blocks`: the table's rows in order, a block being a
  dict of column name -> NumPy array (int64; float64 with NaN for NULL; datetime64 with NaT)
  or `bench.data.strings.Text` (codes into pools), all of one length. A block must not depend
  on which process makes it or in which order tables are made.

The app names its own in the project file (`[data] generator = "package.module"`), e.g. the
hand-tuned generator of the 007 app (seed/generate.py); otherwise the generic generator
(bench/data/generic.py) fills the tables from the catalog alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import numpy as np
import sqlalchemy as sa

from bench.data.strings import Text, materialize
from bench.errors import ConfigError

Block = dict[str, "np.ndarray | Text"]


class Generator(Protocol):
    def row_counts(self, scale: float) -> Mapping[str, int]: ...

    def make_context(self, seed: int, scale: float) -> Any: ...

    def blocks(self, context: Any, table: str) -> Iterator[Block]: ...


def check(generator: Any, spec: str) -> Generator:
    missing = [f for f in ("row_counts", "make_context", "blocks")
               if not callable(getattr(generator, f, None))]
    if missing:
        raise ConfigError(f"data generator {spec!r} lacks {', '.join(missing)}(): see "
                          "bench/data/generator.py for what a generator provides")
    return generator  # type: ignore[no-any-return]


def for_app(generator_spec: str | None, root: Any, tables: list[sa.Table],
            table_rows: Mapping[str, int], rows: int | None,
            stats: Any = None, spec: Any = None) -> Generator:
    """The app's own generator if its project file names one, else the generic one (shaped
    like `stats`, a stats.json path, and like `spec`, the project file's data spec, where
    given)."""
    if generator_spec and stats is not None:
        raise ConfigError(f"--stats (or [data] from_stats) shapes the generic generator's data, "
                          f"but the project file names its own generator {generator_spec!r}")
    if generator_spec and spec is not None:
        raise ConfigError(f"{spec.source}: [data.spec] shapes the generic generator's data, "
                          f"but the project file names its own generator {generator_spec!r}")
    if generator_spec:
        from bench.project.hooks import load_object

        loaded: Any = load_object(generator_spec, root, "data generator")
        return check(loaded, generator_spec)
    from bench.data.generic import GenericGenerator

    return GenericGenerator(tables, table_rows=table_rows, total_rows=rows,
                            stats=read_stats_file(stats) if stats is not None else None,
                            spec=spec)


def read_stats_file(path: Any) -> Any:
    """stats.json (bench/results/table_stats.py), or one line saying why it cannot be read."""
    from pydantic import ValidationError

    from bench.results.table_stats import StatsFile

    try:
        return StatsFile.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--stats {path}: cannot be read ({exc})") from None
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"])
        raise ConfigError(f"--stats {path}: not a stats.json of `python -m bench stats export` "
                          f"({where}: {e['msg']})") from None


def sample(generator: Generator, seed: int, scale: float, tables: list[str]
           ) -> dict[str, dict[str, np.ndarray]]:
    """The first block of each table at (seed, scale), text materialized: rows to insert."""
    ctx = generator.make_context(seed, scale)
    filled = generator.row_counts(scale)
    out: dict[str, dict[str, np.ndarray]] = {}
    for table in tables:
        if table not in filled:
            continue
        parts = list(generator.blocks(ctx, table))
        out[table] = {c: np.concatenate([_array(b[c]) for b in parts]) for c in parts[0]}
    return out


def _array(column: np.ndarray | Text) -> np.ndarray:
    return materialize(column) if isinstance(column, Text) else np.asarray(column)
