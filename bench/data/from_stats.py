"""Column values drawn to match one column of stats.json (bench/results/table_stats.py).

The start of data generated from production's statistics: per column, the null fraction, the
most common values with their frequencies and the histogram's quantiles are reproduced (what
PostgreSQL's ANALYZE would see again, up to sampling). draw() makes a whole column at once;
the generic generator (bench/data/generic.py) uses the models below instead, block by block,
which also keep the distinct count, the correlation with physical order and foreign keys'
fan-out.

How: of n rows, round(n * null_frac) are NULL; the rest are shared out to the most common
values by their frequencies (largest remainder, so the shares are exact to a row) and the
remaining rows fall into the histogram's buckets, each bucket holding the same share (that is
what a PostgreSQL histogram is): numbers and times uniformly inside their bucket, text as the
bucket's lower bound. Rows come out shuffled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from itertools import pairwise

import numpy as np

from bench.data.strings import Pick, Pool, Text
from bench.results.table_stats import ColumnStats, ForeignKeyFanout


@dataclass(frozen=True)
class Drawn:
    """n values (object array: float, datetime or str) and where they are NULL."""

    values: np.ndarray
    nulls: np.ndarray  # bool


def _shares(weights: list[float], total: int) -> np.ndarray:
    """`total` rows shared out by `weights`, exact to a row (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=int)
    raw = w / w.sum() * total
    out: np.ndarray = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out), kind="stable")[: total - out.sum()]:
        out[i] += 1
    return out


def _parse(kind: str, values: list[str]) -> list[object]:
    if kind == "number":
        return [float(v) for v in values]
    if kind == "time":
        return [datetime.fromisoformat(v) for v in values]
    return list(values)


def draw(column: ColumnStats, rng: np.random.Generator, n: int) -> Drawn:
    nulls_n = round(n * column.null_frac)
    mcv = _parse(column.kind, column.most_common_vals or [])
    freqs = list(column.most_common_freqs or [])[: len(mcv)]
    bounds = _parse(column.kind, column.histogram_bounds or [])
    rest = max(0.0, 1.0 - column.null_frac - sum(freqs))
    weights = [*freqs, rest] if len(bounds) >= 2 else freqs
    counts = _shares(weights, n - nulls_n)
    parts: list[np.ndarray] = []
    for value, count in zip(mcv, counts, strict=False):
        part = np.empty(count, dtype=object)
        part[:] = [value] * count
        parts.append(part)
    if len(bounds) >= 2:
        parts.append(_from_histogram(column.kind, bounds, int(counts[-1]), rng))
    values = np.empty(n, dtype=object)
    filled = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    values[: filled.size] = filled
    nulls = np.zeros(n, dtype=bool)
    nulls[filled.size:] = True  # the null rows (and any rounding short of n)
    order = rng.permutation(n)
    return Drawn(values[order], nulls[order])


def _from_histogram(kind: str, bounds: list[object], count: int,
                    rng: np.random.Generator) -> np.ndarray:
    buckets = len(bounds) - 1
    which = np.repeat(np.arange(buckets), _shares([1.0] * buckets, count))
    out = np.empty(count, dtype=object)
    if kind == "number":
        lo = np.array(bounds[:-1], dtype=float)[which]
        hi = np.array(bounds[1:], dtype=float)[which]
        out[:] = list(lo + rng.random(count) * (hi - lo))
    elif kind == "time":
        starts = [b.timestamp() for b in bounds]  # type: ignore[attr-defined]
        lo = np.array(starts[:-1])[which]
        hi = np.array(starts[1:])[which]
        tz = bounds[0].tzinfo  # type: ignore[attr-defined]
        out[:] = [datetime.fromtimestamp(t, tz) for t in lo + rng.random(count) * (hi - lo)]
    else:
        out[:] = [bounds[i] for i in which]
    return out


# --- the generator's columns and foreign keys from stats.json ---------------------------------
#
# A column is a quantile function Q over its non-null values: its most common values are atoms
# (a step of the frequency's width), the rest is the histogram's buckets, each of an equal share
# of what the atoms leave, placed among the atoms in value order. A row's value is Q(u): u is
# uniform for most rows and the row's own position in the table (row / rows) for a share of
# them (the "sorted share"), which is how the correlation with physical order is reproduced:
# rows whose value follows their position raise PostgreSQL's correlation (the rank of the value
# against the rank of the position) in proportion. The share for a target correlation is found
# by root finding on a simulation of ANALYZE's own arithmetic (ties, such as a most common value,
# ranked in physical order, as compute_scalar_stats does), so columns with few values get the
# share that gives their correlation, not just |correlation|.
#
# The distinct count: the histogram's share is cut into G equal cells per bucket, one value a
# cell (numbers and times at the cell's middle, text the bucket's lower bound and, past the
# first cell, a numbered suffix: bound0001 sorts after bound and before the next bound unless
# the next bound starts with this one), G chosen so that the expected number of cells hit by the
# rows (G(1 - exp(-rows/G))) is the target distinct count (n_distinct, or -n_distinct * rows).
# A text value is sent as its piece's label and its cell's suffix, each from a pool encoded
# once (TextLabels): up to 10,000 values a bucket are never made as strings one by one.

_SIM_ROWS = 20_000
_MAX_STEPS = 12  # root finding: at most this many simulations past the two ends
_SHARE_TOLERANCE = 1 / 4096
_CORRELATION_TOLERANCE = 1e-4  # ANALYZE's own sample moves correlation by ~1e-2
_GUIDE = 1 << 14  # cells of the guide table that finds a u's piece
_LOOKUP_SLOTS = 50_000_000  # child rows up to which a slot -> parent table is kept (4 B each)


@dataclass(frozen=True)
class ColumnModel:
    """How one column's values are made from its statistics at a given table size."""

    kind: str  # number, time, text, boolean
    null_frac: float
    ends: np.ndarray  # cumulative mass at the end of each piece, the last 1.0
    atom: np.ndarray  # bool: the piece is one value
    lo: np.ndarray  # float: number, epoch ms, or for text the index of its first label
    hi: np.ndarray
    cells: np.ndarray  # int: distinct values a bucket holds (1 for an atom)
    # text: each piece's value (a most common value, or a bucket's lower bound); a bucket's
    # cell k > 0 is that value with k as a zero-padded suffix of `suffix_width` digits
    piece_labels: tuple[str, ...] = ()
    sorted_share: float = 0.0
    descending: bool = False
    suffix_width: int = 1

    @cached_property
    def labels(self) -> tuple[str, ...]:
        """text: every value a row can get, in value order (what numbers() indexes). Only
        for inspection: the generator builds a row's value from its piece and cell, so a
        column of a million values never makes a million strings."""
        out: list[str] = []
        for label, c in zip(self.piece_labels, self.cells.tolist(), strict=True):
            out += [label, *(f"{label}{j:0{self.suffix_width}d}" for j in range(1, c))]
        return tuple(out)

    @cached_property
    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
        """Per piece: its start, 1/width, cells and span; and whether every piece is an atom."""
        starts = np.concatenate([[0.0], self.ends[:-1]])
        widths = self.ends - starts
        inverse = np.where(widths > 0, 1.0 / np.where(widths > 0, widths, 1.0), 0.0)
        return starts, inverse, self.cells.astype(float), self.hi - self.lo, bool(self.atom.all())

    @cached_property
    def _guide(self) -> np.ndarray:
        edges = np.arange(_GUIDE + 1) / _GUIDE
        guide: np.ndarray = np.minimum(np.searchsorted(self.ends, edges, side="right"),
                                       len(self.ends) - 1)
        return guide

    def _piece(self, u: np.ndarray) -> np.ndarray:
        """The piece each u falls in: searchsorted, through a guide table (most u share their
        guide cell with no piece boundary, so only the rest are searched)."""
        guide = self._guide
        cell = np.minimum((u * _GUIDE).astype(np.int64), _GUIDE - 1)
        piece = guide[cell]
        unsure = piece != guide[cell + 1]
        if unsure.any():
            piece[unsure] = np.minimum(np.searchsorted(self.ends, u[unsure], side="right"),
                                       len(self.ends) - 1)
        return piece

    def numbers(self, u: np.ndarray) -> np.ndarray:
        """Q(u) as a float: a number, epoch ms, or for text the index of the label. An atom's
        span is 0, so the same arithmetic gives its value; a bucket's value is the middle of
        the cell u falls in (with 2^40 cells, as good as u's own place)."""
        piece, cell = self.piece_cell(u)
        if cell is None:
            values: np.ndarray = self.lo[piece]
            return values
        if self.kind == "text":
            labels: np.ndarray = self.lo[piece] + cell
            return labels
        _, _, cells, span, _ = self._tables
        out: np.ndarray = self.lo[piece] + (cell + 0.5) / cells[piece] * span[piece]
        return out

    def piece_cell(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The piece each u falls in, and the cell inside it (as floats; None: every piece is
        an atom, so every cell is 0)."""
        starts, inverse, cells, _, atoms_only = self._tables
        piece = self._piece(u)
        if atoms_only:
            return piece, None
        frac = np.clip((u - starts[piece]) * inverse[piece], 0.0, 1.0 - 1e-12)
        cell: np.ndarray = np.floor(frac * cells[piece])
        return piece, cell

    def uniforms(self, rng: np.random.Generator, rows: np.ndarray, total: int) -> np.ndarray:
        """u per row (1-based row numbers of a table of `total` rows): one uniform v per row;
        below the sorted share the row's position, else (v - share) / (1 - share), uniform."""
        v = rng.random(len(rows))
        if self.sorted_share <= 0:
            return v
        return _sorted_in(v, _positions(rows, total, self.descending), self.sorted_share)


def _positions(rows: np.ndarray, total: int, descending: bool) -> np.ndarray:
    position: np.ndarray = (rows - 0.5) / max(1, total)
    return 1.0 - position if descending else position


def _sorted_in(v: np.ndarray, position: np.ndarray, share: float) -> np.ndarray:
    """u: the row's position where v < share, else v stretched back to a uniform."""
    rest = (v - share) / (1.0 - share) if share < 1 else v
    out: np.ndarray = np.where(v < share, position, rest)
    return out



@dataclass(frozen=True)
class TextLabels:
    """A text column's values as the generator sends them: each piece's label from one pool,
    then, for a bucket's cell k > 0, k's zero-padded digits from another (cut where
    varchar(n) cuts the whole value). Both pools are encoded once, so a row costs two
    lookups, however many values the column has. A column of few values for its rows has
    them all in one pool instead (`every`): one lookup and one piece of COPY data a row."""

    pool: Pool  # a label per piece
    suffixes: Pool | None  # per (room, cell): "" for cell 0, else the cell's digits
    offset: np.ndarray  # per piece: where its room's suffixes start in `suffixes`
    every: Pool | None = None  # every value, in value order (what numbers() indexes)
    first: np.ndarray | None = None  # per piece: the index of its first value in `every`

    def text(self, piece: np.ndarray, cell: np.ndarray | None) -> Text:
        codes = piece.astype(np.int64)
        if cell is None or self.suffixes is None:
            return Text((Pick(self.pool, codes),))
        if self.every is not None and self.first is not None:
            return Text((Pick(self.every, self.first[codes] + cell.astype(np.int64)),))
        return Text((Pick(self.pool, codes),
                     Pick(self.suffixes, self.offset[codes] + cell.astype(np.int64))))


# A column with at most this many values per row of its table gets them all in one pool:
# made once (a few microseconds a value), it saves a lookup and a COPY piece on every row.
_EVERY_PER_ROW = 1 / 16
_EVERY_MAX = 1 << 16


def text_labels(model: ColumnModel, length: int | None, rows: int = 0) -> TextLabels:
    """The labels of a text column's model, cut to `length` characters (varchar(n)), for a
    table of `rows` rows."""
    full = list(model.piece_labels)
    width = model.suffix_width
    labels = [v[:length] for v in full] if length else full
    per_piece = int(model.cells.max(initial=1))
    if per_piece <= 1:
        return TextLabels(Pool(labels), None, np.zeros(len(full), dtype=np.int64))
    room = [min(width, max(0, length - len(v))) if length else width for v in full]
    rooms = sorted(set(room))
    digits = [f"{c:0{width}d}" for c in range(per_piece)]
    suffixes = [("" if c == 0 else digits[c][:r]) for r in rooms for c in range(per_piece)]
    where = {r: i * per_piece for i, r in enumerate(rooms)}
    every = first = None
    values = int(model.cells.sum())
    if values <= min(_EVERY_MAX, rows * _EVERY_PER_ROW):
        every = Pool([v[:length] for v in model.labels] if length else list(model.labels))
        first = model.lo.astype(np.int64)
    return TextLabels(Pool(labels), Pool(suffixes),
                      np.array([where[r] for r in room], dtype=np.int64), every, first)

Modelled = tuple[ColumnModel, TextLabels | None]


class LazyModels(MutableMapping[tuple[str, str], Modelled]):
    """(table, column) -> its model, each made on first use: a table's models are then made
    by the loading process that generates that table (in parallel with the other's, and not
    at all for a table nothing generates), instead of all of them before the first COPY. A
    model set from outside (a data spec's) replaces the recipe."""

    def __init__(self, recipes: dict[tuple[str, str], Callable[[], Modelled | None]]) -> None:
        self._recipes = recipes
        self._made: dict[tuple[str, str], Modelled | None] = {}

    def _make(self, key: tuple[str, str]) -> Modelled | None:
        if key not in self._made:
            self._made[key] = self._recipes[key]()
        return self._made[key]

    def __getitem__(self, key: tuple[str, str]) -> Modelled:
        found = self._make(key) if key in self._recipes or key in self._made else None
        if found is None:
            raise KeyError(key)
        return found

    def __setitem__(self, key: tuple[str, str], value: Modelled) -> None:
        self._made[key] = value

    def __delitem__(self, key: tuple[str, str]) -> None:
        self[key]  # KeyError if it has none
        self._made[key] = None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        keys = dict.fromkeys([*self._recipes, *self._made])
        return (k for k in keys if self._make(k) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

_CONTINUOUS = 1 << 40  # cells: as good as every value distinct


def _parse_number(kind: str, text: str) -> float | None:
    try:
        if kind == "number":
            v = float(text)
        elif kind == "time":
            t = datetime.fromisoformat(text.strip())
            if t.tzinfo is not None:
                t = t.astimezone(UTC).replace(tzinfo=None)
            v = (t - datetime(1970, 1, 1)).total_seconds() * 1000.0
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


def cells_for(distinct: float, rows: float) -> float:
    """Cells G such that `rows` uniform draws hit about `distinct` of them:
    G (1 - exp(-rows / G)) = distinct (past rows * 0.95: every value distinct)."""
    if rows <= 0 or distinct <= 0:
        return 1.0
    if distinct >= 0.95 * rows:
        return float(_CONTINUOUS)
    lo, hi = distinct, distinct * 50
    for _ in range(60):
        mid = (lo + hi) / 2
        if mid * (1 - math.exp(-rows / mid)) < distinct:
            lo = mid
        else:
            hi = mid
    return hi


def column_model(stats: ColumnStats, rows: int, kind: str, *,
                 choices: tuple[str, ...] | None = None) -> ColumnModel | None:
    """The model of a column with these statistics in a table of `rows` rows, for a column the
    generator calls `kind` (bench/data/columns.py); None where the statistics cannot say (values
    withheld, a type they do not describe)."""
    want = {"int2": "number", "int4": "number", "int8": "number", "numeric": "number",
            "float": "number", "date": "time", "timestamp": "time", "timestamptz": "time",
            "text": "text", "bool": "boolean"}.get(kind)
    have = "text" if stats.kind == "enum" else stats.kind
    if want is None or want != have or stats.values == "withheld":
        return None
    mcv = list(stats.most_common_vals or [])
    freqs = list(stats.most_common_freqs or [])[: len(mcv)]
    mcv = mcv[: len(freqs)]
    bounds = list(stats.histogram_bounds or [])
    if choices is not None:
        keep = [i for i, v in enumerate(mcv) if v in choices]
        mcv, freqs = [mcv[i] for i in keep], [freqs[i] for i in keep]
        bounds = [b for b in bounds if b in choices]
    if want == "boolean":
        mcv = ["1" if v.lower() in ("t", "true") else "0" for v in mcv]
        bounds = []
    non_null = max(0.0, 1.0 - stats.null_frac)
    if not mcv and len(bounds) < 2:
        return None
    rest = max(0.0, non_null - sum(freqs)) if len(bounds) >= 2 else 0.0
    distinct = min(stats.distinct_count(rows), rows * non_null)
    hist_rows = rows * rest
    pieces: list[tuple[float, bool, object, object]] = []  # (mass, atom, lo, hi) in value order
    if want in ("number", "time", "boolean"):
        def parse(v: str) -> float | None:
            return float(v) if want == "boolean" else _parse_number(want, v)

        parsed = [(parse(v), f) for v, f in zip(mcv, freqs, strict=True)]
        atoms = [(v, f) for v, f in parsed if v is not None]
        edges = [x for x in (parse(b) for b in bounds) if x is not None] if want != "boolean" \
            else []
        buckets = len(edges) - 1
        for v, f in atoms:
            pieces.append((f, True, v, v))
        inside = sorted(v for v, _ in atoms)
        for k in range(max(0, buckets)):  # split at the atoms inside: Q stays monotone
            lo_k, hi_k = edges[k], edges[k + 1]
            cuts = [lo_k, *(v for v in inside if lo_k < v < hi_k), hi_k]
            for x0, x1 in pairwise(cuts):
                part = (x1 - x0) / (hi_k - lo_k) if hi_k > lo_k else 1.0
                pieces.append((rest / buckets * part, False, x0, x1))
        pieces.sort(key=lambda p: (float(p[2]), not p[1]))  # type: ignore[arg-type]
        labels: tuple[str, ...] = ()
        width = 1
    else:
        buckets = len(bounds) - 1
        cells_h = cells_for(max(1.0, distinct - len(mcv)), hist_rows) if buckets > 0 else 1.0
        per_bucket = max(1, min(10_000, math.ceil(cells_h / max(1, buckets))))
        width = len(str(per_bucket - 1))
        entries: list[tuple[str, float, bool, int]] = []  # (label, mass, atom, its values)
        for label, f in zip(mcv, freqs, strict=True):
            entries.append((label, f, True, 1))
        for k in range(max(0, buckets)):
            entries.append((bounds[k], rest / buckets, False, per_bucket))
        entries.sort(key=lambda e: (e[0], not e[2]))
        first = 0  # the index of the piece's first value among all the column's values
        for _, f, is_atom, count in entries:
            pieces.append((f, is_atom, float(first), float(first)))
            first += count
        labels = tuple(e[0] for e in entries)
    masses = np.array([p[0] for p in pieces], dtype=float)
    if masses.sum() <= 0:
        return None
    ends = np.cumsum(masses / masses.sum())
    ends[-1] = 1.0
    atom = np.array([p[1] for p in pieces], dtype=bool)
    lo = np.array([float(p[2]) for p in pieces])  # type: ignore[arg-type]
    hi = np.array([float(p[3]) for p in pieces])  # type: ignore[arg-type]
    if want == "text":
        cells = np.where(atom, 1, per_bucket).astype(np.int64)
    else:
        g = cells_for(max(1.0, distinct - int(atom.sum())), hist_rows)  # over the histogram
        share = masses / max(1e-300, masses[~atom].sum())
        cells = np.where(atom, 1, np.clip(np.round(g * share), 1, _CONTINUOUS)).astype(np.int64)
        if want == "number" and kind in ("int2", "int4", "int8"):
            cells = np.where(atom, 1, np.minimum(cells, np.maximum(1, (hi - lo).astype(np.int64)
                                                                  + 1)))
    model = ColumnModel(want, stats.null_frac, ends, atom, lo, hi, cells, labels,
                        suffix_width=width)
    target = stats.correlation
    if target is None or not math.isfinite(target):
        return model
    share, descending = sorted_share(model, target)
    return replace(model, sorted_share=share, descending=descending)


def pg_correlation(keys: np.ndarray) -> float:
    """ANALYZE's correlation of values in physical order: the rank of each value (ties in
    physical order) against its position."""
    n = len(keys)
    if n < 2:
        return 0.0
    # Ties ranked in physical order, as a stable sort would, at a fraction of its time: a
    # quick sort, and only where values repeat a stable one of their dense ranks (a radix
    # sort while they fit in 16 bits).
    order = np.argsort(keys)
    ordered = keys[order]
    first = np.empty(n, dtype=bool)
    first[0] = True
    first[1:] = ordered[1:] != ordered[:-1]
    if not first.all():
        dense = np.empty(n, dtype=np.int64)
        dense[order] = np.cumsum(first) - 1
        order = np.argsort(dense.astype(np.uint16) if n <= 1 << 16 else dense, kind="stable")
    rank = np.empty(n)
    rank[order] = np.arange(n)
    pos = np.arange(n, dtype=float)
    c = np.corrcoef(pos, rank)[0, 1]
    return float(c) if math.isfinite(c) else 0.0


def sorted_share(model: ColumnModel, target: float) -> tuple[float, bool]:
    """The share of rows whose u is their position that gives `target` correlation: the root
    of the simulated correlation (_SIM_ROWS rows, a fixed stream: the same answer in every
    process) minus the target, by regula falsi with the Illinois step inside [0, 1], to
    within _SHARE_TOLERANCE of the share or _CORRELATION_TOLERANCE of the correlation (the
    curve is smooth: a handful of simulations where bisection took 13)."""
    descending = target < 0
    # What uniforms() would draw from this stream, made once for all the steps.
    v = np.random.default_rng(7).random(_SIM_ROWS)
    position = _positions(np.arange(1, _SIM_ROWS + 1), _SIM_ROWS, descending)
    goal = abs(target)

    def miss(share: float) -> float:
        got = pg_correlation(model.numbers(_sorted_in(v, position, share) if share > 0 else v))
        return (-got if descending else got) - goal

    lo, f_lo = 0.0, miss(0.0)
    if f_lo >= 0:  # ties or chance give it already
        return 0.0, descending
    # All rows sorted: ascending, Q(u) follows the position and ties rank in physical order,
    # so the correlation is 1 without simulating it; descending, ties can pull it from -1.
    hi, f_hi = 1.0, (miss(1.0) if descending else 1.0 - goal)
    if f_hi <= 0:  # not even sorted: as close as it gets
        return 1.0, descending
    side = 0
    for _ in range(_MAX_STEPS):
        share = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        if not lo < share < hi:
            share = (lo + hi) / 2
        got = miss(share)
        if abs(got) <= _CORRELATION_TOLERANCE:
            return share, descending
        if got < 0:
            lo, f_lo = share, got
            if side < 0:  # the same end moved twice: halve the other's weight (Illinois)
                f_hi /= 2
            side = -1
        else:
            hi, f_hi = share, got
            if side > 0:
                f_lo /= 2
            side = 1
        if hi - lo <= _SHARE_TOLERANCE:
            break
    return (lo + hi) / 2, descending


def children_counts(fanout: ForeignKeyFanout, parents: int, children: int) -> np.ndarray:
    """Children per parent (for `parents` parents, `children` child rows in all), shaped like
    the fan-out's quantiles of children per parent with children and its share of parents with
    any: the parents with children get counts at evenly spaced quantiles of a curve through
    (0, 1), (0.5, p50), (0.9, p90), (0.99, p99), the heaviest parents' counts and (1, max),
    scaled to sum to `children`; the rest none. Sorted, heaviest last."""
    q = fanout.children_per_parent
    share = 1.0
    if fanout.distinct_parents and fanout.parent_rows > 0:
        share = min(1.0, fanout.distinct_parents / fanout.parent_rows)
    k = max(1, min(children, parents, round(parents * share)))
    if children <= 0:
        return np.zeros(parents, dtype=np.int64)
    if q is None:
        weights = np.ones(k)
    else:
        points = [(0.0, 1.0), (0.5, q.p50), (0.9, q.p90), (0.99, q.p99), (1.0, q.max)]
        with_children = fanout.distinct_parents or k
        for j, top in enumerate(sorted(fanout.top_children, reverse=True)):
            p = 1.0 - (j + 0.5) / max(1.0, with_children)
            if p > 0.99:
                points.append((p, top))
        points.sort()
        xs = np.array([p for p, _ in points])
        ys = np.maximum.accumulate(np.array([max(1.0, v) for _, v in points]))
        weights = np.interp((np.arange(k) + 0.5) / k, xs, ys)
    from bench.data.fanout import allocate

    extra = allocate(children - k, weights - 1.0 + 1e-9, math.inf) if children > k \
        else np.zeros(k, dtype=np.int64)
    counts = np.zeros(parents, dtype=np.int64)
    counts[parents - k:] = 1 + np.sort(extra)
    return counts


@dataclass(frozen=True)
class FanoutSlots:
    """Child rows dealt to parents by exact counts: child row i takes slot i (the sorted share)
    or slot (i * step + offset) mod n (the rest: a bijection that spreads one parent's children
    over the table), and a slot belongs to the parent whose range of slots holds it."""

    ends: np.ndarray  # cumulative children per parent row (parent row p owns ends[p-1]..ends[p])
    n: int
    step: int
    offset: int
    sorted_share: float

    @cached_property
    def owner(self) -> np.ndarray | None:
        """Each slot's parent (0-based), where that table is small enough to keep."""
        if self.n > _LOOKUP_SLOTS:
            return None
        counts = np.diff(np.concatenate([[0], self.ends]))
        return np.repeat(np.arange(len(self.ends), dtype=np.int32), counts)

    def parents(self, rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
        """1-based parent rows of the child rows `rows` (1-based)."""
        i = rows.astype(np.int64) - 1
        slot = (i * self.step + self.offset) % self.n
        if self.sorted_share > 0:
            slot = np.where(rng.random(len(rows)) < self.sorted_share, i, slot)
        owner = self.owner
        if owner is not None:
            found: np.ndarray = owner[slot].astype(np.int64) + 1
            return found
        parent: np.ndarray = np.minimum(np.searchsorted(self.ends, slot, side="right") + 1,
                                        len(self.ends))
        return parent


def fanout_slots(fanout: ForeignKeyFanout, parents: int, children: int, seed: int,
                 key: int, correlation: float | None) -> FanoutSlots:
    counts = children_counts(fanout, parents, children)
    rng = np.random.default_rng([seed, 1, key])
    shuffled = counts[rng.permutation(parents)]
    n = max(1, children)
    step = max(1, round(n * 0.6180339887))
    while math.gcd(step, n) != 1:
        step += 1
    share = max(0.0, correlation or 0.0) if (correlation or 0.0) >= 0.3 else 0.0
    return FanoutSlots(np.cumsum(shuffled), n, step, int(rng.integers(0, n)), share)
