"""Row blocks -> PostgreSQL binary COPY, vectorised per column.

Binary COPY spares the server from parsing text (timestamps above all): on this machine it
loads our rows about 1.7x faster than text COPY (issue 15). Each row is built from a few
`bytes` pieces joined once per chunk: one piece holds the field count and every NOT NULL
fixed-width column (a NumPy structured array viewed as bytes), then one piece per nullable
number and one or more per text column (pool values are encoded once; see bench/data/strings.py).
The COPY column list follows that field order (`TableEncoder.columns`).

Field formats (PostgreSQL's send/recv functions): bigint/integer/smallint big-endian;
boolean one byte; real/double precision IEEE big-endian; timestamptz and timestamp
microseconds since 2000-01-01 (UTC for timestamptz) as int64; date days since 2000-01-01 as
int32; time microseconds since midnight as int64; uuid its 16 bytes; numeric as (ndigits,
weight, sign, dscale) and base-10000 digits, with a fixed digit count per column (the server
strips leading and trailing zero digits, so the stored value is the one text COPY would store;
an unconstrained numeric is sent with NUMERIC_DEFAULT's digits); text, varchar, char, enum
labels, json and bytea their bytes; jsonb a version byte 1, then the JSON text.

The values of a block (see bench/data/generator.py): integers, booleans and times as int64 or
bool (float64 with NaN for NULL), floats as float64 (NaN for NULL), timestamps as
datetime64 (NaT for NULL), dates as datetime64[D], uuids as an (n, 2) uint64 array of the high
and low halves (the nil UUID, never a generated one, for NULL), everything else as `Text`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, JSON, JSONB, TIMESTAMP

from bench.data.strings import NULL_FIELD, Pick, Pool, Raw, Text

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
TRAILER = b"\xff\xff"
CHUNK_ROWS = 16_384  # rows per joined buffer: small enough to stay in cache
SMALL_POOL = 64  # text columns drawn from pools this small are sent as one combined piece
MAX_COMBINED = 50_000  # most value combinations in one combined piece
# Length headers of text fields, shared (a row's length header costs no allocation).
_LENGTHS = np.array([n.to_bytes(4, "big") for n in range(4096)], dtype=object)
_EPOCH = np.datetime64("2000-01-01T00:00:00", "us")
_EPOCH_DAY = np.datetime64("2000-01-01", "D")
NUMERIC_DEFAULT = (20, 2)  # (precision, scale) sent for a numeric without a typmod


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str  # a key of _WIRE, or numeric | text | jsonb
    nullable: bool
    precision: int = 0
    scale: int = 0

    @property
    def fixed(self) -> bool:
        return self.kind in _WIRE


def _field(column: sa.Column[Any]) -> _Field:
    t = column.type
    nullable = bool(column.nullable)
    if isinstance(t, sa.BigInteger):
        return _Field(column.name, "int8", nullable)
    if isinstance(t, sa.SmallInteger):
        return _Field(column.name, "int2", nullable)
    if isinstance(t, sa.Integer):
        return _Field(column.name, "int4", nullable)
    if isinstance(t, TIMESTAMP) and t.timezone:
        return _Field(column.name, "timestamptz", nullable)
    if isinstance(t, sa.DateTime):
        return _Field(column.name, "timestamptz" if t.timezone else "timestamp", nullable)
    if isinstance(t, sa.Date):
        return _Field(column.name, "date", nullable)
    if isinstance(t, sa.Time) and not t.timezone:
        return _Field(column.name, "time", nullable)
    if isinstance(t, sa.Boolean):
        return _Field(column.name, "bool", nullable)
    if isinstance(t, sa.Float):  # before Numeric: Float is one
        single = isinstance(t, sa.REAL) or (not isinstance(t, sa.Double) and t.precision
                                            is not None and t.precision <= 24)
        return _Field(column.name, "float4" if single else "float8", nullable)
    if isinstance(t, sa.Numeric) and t.precision is not None:
        return _Field(column.name, "numeric", nullable, t.precision, t.scale or 0)
    if isinstance(t, sa.Numeric):
        return _Field(column.name, "numeric", nullable, *NUMERIC_DEFAULT)
    if isinstance(t, sa.Uuid):
        return _Field(column.name, "uuid", nullable)
    if isinstance(t, JSONB):
        return _Field(column.name, "jsonb", nullable)
    if isinstance(t, (sa.Text, sa.String, JSON, BYTEA, sa.LargeBinary)):  # also varchar,
        return _Field(column.name, "text", nullable)  # char and enum labels
    raise TypeError(f"no binary COPY encoding for {column.table.name}.{column.name}: {t}")


_WIRE: dict[str, Any] = {"int8": ">i8", "int4": ">i4", "timestamptz": ">i8", "int2": ">i2",
                         "bool": "u1", "float4": ">f4", "float8": ">f8", "timestamp": ">i8",
                         "date": ">i4", "time": ">i8", "uuid": (">u8", (2,))}
_SIZE = {"int8": 8, "int4": 4, "timestamptz": 8, "int2": 2, "bool": 1, "float4": 4,
         "float8": 8, "timestamp": 8, "date": 4, "time": 8, "uuid": 16}


def _numbers(field: _Field, values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Integers to send for a fixed-width field, and the NULL mask (None: no NULLs)."""
    if field.kind in ("timestamptz", "timestamp"):
        null = np.isnat(values)
        micros = (values.astype("datetime64[us]") - _EPOCH).astype(np.int64)
        return micros, null if null.any() else None
    if field.kind == "date":
        null = np.isnat(values)
        days = (values.astype("datetime64[D]") - _EPOCH_DAY).astype(np.int64)
        return days, null if null.any() else None
    if field.kind == "uuid":
        nil = np.asarray(~values.any(axis=1))
        return values, nil if nil.any() else None
    if field.kind in ("float4", "float8"):
        null = np.isnan(values)
        return values, null if null.any() else None
    if values.dtype.kind == "f":  # integers stored as float to allow NaN for NULL
        null = np.isnan(values)
        return np.nan_to_num(values).astype(np.int64), null if null.any() else None
    return values, None


def _as_pieces(structured: np.ndarray) -> np.ndarray:
    """Each record of a structured array as one bytes object (an object array)."""
    return np.array(structured.view(f"V{structured.dtype.itemsize}").tolist(), dtype=object)


class TableEncoder:
    """Encodes blocks of one table's columns (as seed.generate makes them) for binary COPY.

    Made from the table's first block, whose columns show which text columns come from small
    pools: those are sent side by side, as one piece from the pool of their combinations.
    """

    def __init__(self, table: sa.Table, first: dict[str, np.ndarray | Text]) -> None:
        fields = [_field(table.c[name]) for name in first]
        self.packed = [f for f in fields if f.fixed and not f.nullable]
        small = [f for f in fields if f.kind != "jsonb" and _small_pool(first[f.name])]
        self.groups: list[list[_Field]] = []
        for f in small:
            size = len(_single_pick(first[f.name]).pool)
            if self.groups and math.prod(len(_single_pick(first[g.name]).pool)
                                         for g in self.groups[-1]) * size <= MAX_COMBINED:
                self.groups[-1].append(f)
            else:
                self.groups.append([f])
        self._combined = [_Combined([_single_pick(first[f.name]).pool for f in group])
                          for group in self.groups]
        grouped = {f.name for group in self.groups for f in group}
        self.rest = [f for f in fields
                     if not (f.fixed and not f.nullable) and f.name not in grouped]
        self.columns = [f.name for f in self.packed] + [f.name for g in self.groups for f in g] \
            + [f.name for f in self.rest]
        self._packed_dtype = np.dtype(
            [("count", ">i2")]
            + [d for f in self.packed for d in ((f"{f.name}_len", ">i4"), (f.name, _WIRE[f.kind]))]
        )

    def encode(self, block: dict[str, np.ndarray | Text]) -> Iterator[bytes]:
        """Buffers of binary COPY rows (no header or trailer), CHUNK_ROWS rows each."""
        n = len(block[self.columns[0]])
        for start in range(0, n, CHUNK_ROWS):
            rows = slice(start, min(start + CHUNK_ROWS, n))
            yield self._chunk(block, rows)

    def _chunk(self, block: dict[str, np.ndarray | Text], rows: slice) -> bytes:
        m = rows.stop - rows.start
        pieces: list[np.ndarray | bytes] = [self._packed(block, rows, m)]
        for group, combined in zip(self.groups, self._combined, strict=True):
            picks = [_single_pick(block[f.name]) for f in group]
            pieces.append(combined.pieces([p.pool for p in picks],
                                          [p.codes[rows] for p in picks]))
        for f in self.rest:
            column = block[f.name]
            if isinstance(column, Text):
                part = column.take(rows)
                if f.kind == "jsonb":  # jsonb's binary format: version 1, then the text
                    part = Text(("\x01", *part.parts), part.null)
                pieces += _text_pieces(part)
            elif f.kind == "numeric":
                pieces.append(_numeric_pieces(f, column[rows]))
            else:
                pieces.append(self._nullable_pieces(f, column[rows]))
        grid = np.empty((m, len(pieces)), dtype=object)
        for j, piece in enumerate(pieces):
            grid[:, j] = piece
        return b"".join(grid.ravel().tolist())

    def _packed(self, block: dict[str, np.ndarray | Text], rows: slice, m: int) -> np.ndarray:
        packed = np.empty(m, dtype=self._packed_dtype)
        packed["count"] = len(self.columns)
        for f in self.packed:
            column = block[f.name]
            assert isinstance(column, np.ndarray), f"{f.name} is not a numeric column"
            values, null = _numbers(f, column[rows])
            if null is not None:
                raise ValueError(f"NULL in the NOT NULL column {f.name}")
            packed[f"{f.name}_len"] = _SIZE[f.kind]
            packed[f.name] = values
        return _as_pieces(packed)

    @staticmethod
    def _nullable_pieces(f: _Field, values: np.ndarray) -> np.ndarray:
        numbers, null = _numbers(f, values)
        packed = np.empty(len(values), dtype=[("len", ">i4"), ("value", _WIRE[f.kind])])
        packed["len"] = _SIZE[f.kind]
        packed["value"] = numbers
        out = _as_pieces(packed)
        if null is not None:
            out[null] = NULL_FIELD
        return out


def _single_pick(column: np.ndarray | Text) -> Pick:
    assert isinstance(column, Text) and isinstance(column.parts[0], Pick)
    return column.parts[0]


def _small_pool(column: np.ndarray | Text) -> bool:
    return (isinstance(column, Text) and column.null is None and len(column.parts) == 1
            and isinstance(column.parts[0], Pick) and len(column.parts[0].pool) <= SMALL_POOL)


class _Combined:
    """Every combination of a few small pools' fields, joined: one piece for several columns."""

    def __init__(self, pools: list[Pool]) -> None:
        self.pools = pools
        self.fields = np.array([b"".join(c) for c in itertools.product(
            *(p.fields.tolist() for p in pools))], dtype=object)
        self.radix = [math.prod(len(p) for p in pools[i + 1:]) for i in range(len(pools))]

    def pieces(self, pools: list[Pool], codes: list[np.ndarray]) -> np.ndarray:
        if any(a is not b for a, b in zip(pools, self.pools, strict=True)):
            raise ValueError("a block draws a text column from another pool than the first")
        index = sum(c.astype(np.int64) * r for c, r in zip(codes, self.radix, strict=True))
        return self.fields[index]


def _numeric_pieces(f: _Field, values: np.ndarray) -> np.ndarray:
    """numeric(p, s) from floats that have at most s decimals (the generator rounds them):
    then the nearest integer number of 10^-s units is exact, as text COPY would store it."""
    null = np.isnan(values)
    units = np.floor(np.abs(np.nan_to_num(values)) * 10.0 ** f.scale + 0.5).astype(np.int64)
    frac_groups = -(-f.scale // 4)
    int_groups = max(1, -(-(f.precision - f.scale) // 4))
    scaled = units * 10 ** (4 * frac_groups - f.scale)
    ndigits = int_groups + frac_groups
    packed = np.empty(len(values), dtype=[
        ("len", ">i4"), ("ndigits", ">i2"), ("weight", ">i2"), ("sign", ">i2"),
        ("dscale", ">i2"), ("digits", ">i2", (ndigits,))])
    packed["len"] = 8 + 2 * ndigits
    packed["ndigits"] = ndigits
    packed["weight"] = int_groups - 1
    packed["sign"] = np.where(np.nan_to_num(values) < 0, 0x4000, 0)
    packed["dscale"] = f.scale
    for i in range(ndigits):
        packed["digits"][:, ndigits - 1 - i] = (scaled // 10_000 ** i) % 10_000
    out = _as_pieces(packed)
    out[null] = NULL_FIELD
    return out


def _text_pieces(column: Text) -> list[np.ndarray | bytes]:
    parts = column.parts
    if len(parts) == 1 and isinstance(parts[0], Pick) and column.null is None:
        return [parts[0].pool.fields[parts[0].codes]]  # length and value in one piece
    lengths = np.zeros(len(column), dtype=np.int64)
    pieces: list[np.ndarray | bytes] = []
    for part in parts:
        if isinstance(part, str):
            data = part.encode()
            lengths += len(data)
            pieces.append(data)
        elif isinstance(part, Pick):
            lengths += part.pool.lengths[part.codes]
            pieces.append(part.pool.encoded[part.codes])
        else:
            assert isinstance(part, Raw)
            lengths += part.lengths
            pieces.append(part.values)
    if lengths.max(initial=0) < len(_LENGTHS):
        prefix = _LENGTHS[lengths]
    else:
        packed = np.empty(len(column), dtype=[("len", ">i4")])
        packed["len"] = lengths
        prefix = _as_pieces(packed)
    if column.null is not None:
        prefix[column.null] = NULL_FIELD
        pieces = [np.where(column.null, b"", p) if isinstance(p, np.ndarray)
                  else np.where(column.null, b"", np.array(p, dtype=object)) for p in pieces]
    return [prefix, *pieces]
