"""Text columns kept as codes into pools until they are encoded for COPY.

A text column is a `Text`: the concatenation of parts, each a `Pick` (values drawn from a
`Pool` by index), a literal, or `Raw` per-row bytes (hex ids), with an optional NULL mask.
Encoding one for binary COPY then costs a few object references per row (every pool value is
encoded once), instead of formatting and encoding millions of Python strings; `materialize`
turns one into an object array of str (None for NULL) for callers that want plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

NULL_FIELD = b"\xff\xff\xff\xff"  # a NULL field in binary COPY: length -1, no data
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_POWERS_OF_16 = np.uint64(16) ** np.arange(1, 16, dtype=np.uint64)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
_POWERS_OF_10 = np.uint64(10) ** np.arange(1, 20, dtype=np.uint64)


class Pool:
    """A few thousand distinct values (None allowed), each encoded once."""

    def __init__(self, values: Sequence[str | None] | np.ndarray) -> None:
        self.values = np.array(list(values), dtype=object)
        encoded = [b"" if v is None else str(v).encode() for v in self.values.tolist()]
        self.encoded = np.array(encoded, dtype=object)
        self.lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))

    def __len__(self) -> int:
        return len(self.values)

    @cached_property
    def fields(self) -> np.ndarray:
        """Each value as a whole binary-COPY field: 4-byte big-endian length, then the bytes."""
        return np.array(
            [NULL_FIELD if v is None else len(e).to_bytes(4, "big") + e
             for v, e in zip(self.values.tolist(), self.encoded.tolist(), strict=True)],
            dtype=object,
        )

    @cached_property
    def with_null(self) -> Pool:
        """The same pool with None appended (its code is len(self))."""
        return Pool([*self.values.tolist(), None])

    def code_of(self, value: str | None) -> int:
        code: int = self.values.tolist().index(value)
        return code


@dataclass(frozen=True)
class Pick:
    pool: Pool
    codes: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
class Raw:
    """Per-row ASCII bytes (no NUL), with their lengths."""

    values: np.ndarray  # object array of bytes
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.values)


Part = Pick | Raw | str


@dataclass(frozen=True)
class Text:
    """A text column: the concatenation of its parts, NULL where `null` is True."""

    parts: tuple[Part, ...]
    null: np.ndarray | None = field(default=None)

    def __len__(self) -> int:
        return next(len(p) for p in self.parts if not isinstance(p, str))

    def take(self, rows: slice) -> Text:
        parts = tuple(p if isinstance(p, str) else
                      Pick(p.pool, p.codes[rows]) if isinstance(p, Pick) else
                      Raw(p.values[rows], p.lengths[rows]) for p in self.parts)
        return Text(parts, None if self.null is None else self.null[rows])


def pick(pool: Pool, codes: np.ndarray, null: np.ndarray | None = None) -> Text:
    """Values of `pool` by code; NULL where `null` (as the pool's None entry, one piece a row)."""
    if null is None:
        return Text((Pick(pool, codes),))
    return Text((Pick(pool.with_null, np.where(null, len(pool), codes)),))


def concat(*parts: Part, null: np.ndarray | None = None) -> Text:
    return Text(tuple(parts), null)


def hex_fixed(values: np.ndarray, width: int) -> Raw:
    """Lower-case hex of non-negative integers, zero-padded to `width` digits."""
    return Raw(_hex_bytes(values.astype(np.uint64), width),
               np.full(len(values), width, dtype=np.int64))


def hex_plain(values: np.ndarray) -> Raw:
    """Lower-case hex of non-negative integers without leading zeros, as format(v, 'x')."""
    v = values.astype(np.uint64)
    ndigits = 1 + np.searchsorted(_POWERS_OF_16, v, side="right")
    out = np.empty(len(v), dtype=object)
    for width in np.unique(ndigits).tolist():  # a few widths: each a fixed-width pass
        rows = ndigits == width
        out[rows] = _hex_bytes(v[rows], width)
    return Raw(out, ndigits)


def dec_fixed(values: np.ndarray, width: int) -> Raw:
    """Decimal digits of non-negative integers, zero-padded to `width` digits."""
    return Raw(_dec_bytes(values.astype(np.uint64), width),
               np.full(len(values), width, dtype=np.int64))


def dec_plain(values: np.ndarray) -> Raw:
    """Decimal digits of non-negative integers without leading zeros, as str(v)."""
    v = values.astype(np.uint64)
    ndigits = 1 + np.searchsorted(_POWERS_OF_10, v, side="right")
    out = np.empty(len(v), dtype=object)
    for width in np.unique(ndigits).tolist():
        rows = ndigits == width
        out[rows] = _dec_bytes(v[rows], width)
    return Raw(out, ndigits.astype(np.int64))


def _dec_bytes(v: np.ndarray, width: int) -> np.ndarray:
    powers = np.uint64(10) ** np.arange(width - 1, -1, -1, dtype=np.uint64)
    return _rows_as_bytes(_DIGITS[(v[:, None] // powers) % np.uint64(10)])


def _hex_bytes(v: np.ndarray, width: int) -> np.ndarray:
    shifts = np.arange(4 * (width - 1), -1, -4, dtype=np.uint64)
    return _rows_as_bytes(_HEX[(v[:, None] >> shifts) & np.uint64(15)])


def _rows_as_bytes(matrix: np.ndarray) -> np.ndarray:
    """Each row of a uint8 matrix as bytes, trailing NULs dropped (numpy's S dtype does it)."""
    m = np.ascontiguousarray(matrix, dtype=np.uint8)
    return np.array(m.view(f"S{m.shape[1]}").ravel().tolist(), dtype=object)


def materialize(column: Text) -> np.ndarray:
    """The column as an object array of str, None for NULL."""
    n = len(column)
    out = np.full(n, "", dtype=object)
    for part in column.parts:
        if isinstance(part, str):
            values = np.full(n, part, dtype=object)
        elif isinstance(part, Pick):
            values = part.pool.values[part.codes]
        else:
            values = np.array([b.decode() for b in part.values.tolist()], dtype=object)
        out = values.copy() if len(column.parts) == 1 else out + values
    if column.null is not None:
        out[column.null] = None
    return out
