"""The generic generator: rows for any schema from its catalog alone (being written)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from bench.data.generator import Block
from bench.errors import ConfigError


class GenericGenerator:
    def __init__(self, tables: Sequence[sa.Table], *, table_rows: Mapping[str, int],
                 total_rows: int | None) -> None:
        raise ConfigError("this project names no data generator ([data] generator = ...), and "
                          "the generic generator is not available yet")

    def row_counts(self, scale: float) -> Mapping[str, int]:
        return {}

    def make_context(self, seed: int, scale: float) -> Any:
        return None

    def blocks(self, context: Any, table: str) -> Iterator[Block]:
        return iter(())
