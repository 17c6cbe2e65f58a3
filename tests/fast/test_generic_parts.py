"""The generic generator's pure parts: CHECK parsing, row counts and fan-out, value makers,
and whole tables from in-memory metadata (no PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from bench.data import checks, fanout
from bench.data.columns import Pools, Spec, key_values, values
from bench.data.generic import GenericGenerator
from bench.data.strings import Text, materialize
from bench.errors import ConfigError


def test_checks_as_postgresql_prints_them() -> None:
    cols = {"status", "qty", "tier", "price", "ends_at", "starts_at", "kind"}
    got = checks.parse([
        "((status)::text = ANY ((ARRAY['a'::character varying, 'b''c'::character varying])"
        "::text[]))",
        "(qty > 0)", "((tier >= 1) AND (tier <= 6))", "(price >= (0)::numeric)",
        "(ends_at > starts_at)", "kind IN ('x', 'y')", "((qty > 5) OR (qty < 0))",
    ], cols)
    assert got.values == {"status": ["a", "b'c"], "kind": ["x", "y"]}
    assert (got.bounds["qty"].lo, got.bounds["qty"].lo_strict) == (0, True)
    assert (got.bounds["tier"].lo, got.bounds["tier"].hi) == (1, 6)
    assert got.bounds["price"].lo == 0 and not got.bounds["price"].lo_strict
    assert got.order == [("ends_at", ">", "starts_at")]


def test_rows_follow_the_foreign_key_levels() -> None:
    parents = {"a": set(), "b": {"a"}, "c": {"b", "a"}, "d": {"d"}}
    assert fanout.levels(parents) == {"a": 0, "b": 1, "c": 2, "d": 0}
    rows = fanout.split_rows(parents, {}, 22_000)
    assert rows["b"] == 4 * rows["a"] and rows["c"] == 16 * rows["a"] == 16 * rows["d"]
    assert fanout.split_rows(parents, {"a": 7}, 1000)["a"] == 7
    cyclic = {"x": {"y"}, "y": {"x"}}
    assert set(fanout.levels(cyclic).values()) == {0, 1}


def test_allocation_is_exact_capped_and_skewed() -> None:
    rng = np.random.default_rng(1)
    w = fanout.pareto_weights(rng, 10_000)
    counts = fanout.allocate(100_000, w, 50)
    assert counts.sum() == 100_000 and counts.max() <= 50
    free = fanout.allocate(100_000, w, float("inf"))
    assert free.sum() == 100_000 and fanout.top_share(free) > 0.4
    drawn = np.bincount(fanout.Weighted(w).draw(rng, 200_000), minlength=len(w))
    assert fanout.top_share(drawn) > 0.4  # the top 10% of parents hold well over 10%


def _spec(**kw: object) -> Spec:
    base: dict[str, object] = {"table": "t", "name": "c", "kind": "text", "nullable": False,
                               "hint": ""}
    return Spec(**{**base, **kw})  # type: ignore[arg-type]


def test_values_respect_lengths_choices_and_bounds() -> None:
    rng, pools = np.random.default_rng(3), Pools(3)
    for hint in ("long", "email", "company", "person", "url", "code", "status", "country"):
        column = values(_spec(hint=hint, length=8), rng, 2000, pools, 3)
        assert isinstance(column, Text)
        assert max(len(v) for v in materialize(column)) <= 8, hint
    chosen = materialize(values(_spec(choices=("x", "y", "z")), rng, 5000, pools, 3))  # type: ignore[arg-type]
    counts = {v: int((chosen == v).sum()) for v in "xyz"}
    assert set(chosen) == {"x", "y", "z"} and max(counts.values()) > 2 * min(counts.values())
    b = checks.Bounds(lo=0, hi=5, lo_strict=True)
    ints = values(_spec(kind="int2", bounds=b), rng, 5000, pools, 3)
    assert isinstance(ints, np.ndarray) and ints.min() >= 1 and ints.max() <= 5
    money = values(_spec(kind="numeric", hint="money", precision=5, scale=2), rng, 5000,
                   pools, 3)
    assert isinstance(money, np.ndarray)
    assert money.min() >= 0 and money.max() < 1000 and np.allclose(money, money.round(2))


def test_key_values_are_distinct_and_fit() -> None:
    pools, index = Pools(1), np.arange(50_000)
    for spec in (_spec(hint="email", length=60), _spec(length=10), _spec(length=5, fixed=True),
                 _spec(kind="uuid"), _spec(kind="int8"), _spec(hint="company")):
        column = key_values(spec, index, 50_000, pools, 1)
        got = materialize(column) if isinstance(column, Text) else column
        flat = [tuple(r) for r in got] if got.ndim == 2 else got.tolist()
        assert len(set(flat)) == 50_000, spec
        if spec.length:
            assert max(len(v) for v in flat) <= spec.length
    with pytest.raises(ValueError, match="do not fit"):
        key_values(_spec(length=3), index, 50_000, pools, 1)


def _shop() -> list[sa.Table]:
    m = sa.MetaData()
    status = pg.ENUM("new", "paid", "sent", name="order_status", create_type=False)
    sa.Table("customers", m, sa.Column("id", sa.BigInteger, primary_key=True),
             sa.Column("email", sa.String(80), nullable=False, unique=True),
             sa.Column("referrer_id", sa.BigInteger, sa.ForeignKey("customers.id")))
    sa.Table("products", m, sa.Column("sku", sa.String(12), primary_key=True),
             sa.Column("price", sa.Numeric(8, 2), sa.CheckConstraint("price >= 0")))
    sa.Table("orders", m, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("customer_id", sa.BigInteger, sa.ForeignKey("customers.id"),
                       nullable=False),
             sa.Column("status", status, nullable=False),
             sa.Column("ref", pg.UUID, nullable=False, unique=True),
             sa.Column("placed_at", pg.TIMESTAMP(timezone=True), nullable=False))
    sa.Table("lines", m,
             sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), primary_key=True),
             sa.Column("line_no", sa.SmallInteger, primary_key=True),
             sa.Column("sku", sa.String(12), sa.ForeignKey("products.sku"), nullable=False),
             sa.CheckConstraint("line_no BETWEEN 1 AND 20"))
    sa.Table("line_notes", m, sa.Column("order_id", sa.Integer), sa.Column("line_no",
             sa.SmallInteger), sa.Column("note", sa.Text),
             sa.ForeignKeyConstraint(["order_id", "line_no"], ["lines.order_id",
                                                               "lines.line_no"]))
    return list(m.tables.values())


def _rows(gen: GenericGenerator, seed: int) -> dict[str, dict[str, list[object]]]:
    ctx = gen.make_context(seed, 1.0)
    out: dict[str, dict[str, list[object]]] = {}
    for table in gen.row_counts(1.0):
        blocks = list(gen.blocks(ctx, table))
        out[table] = {c: [x for b in blocks for x in _plain(b[c])] for c in blocks[0]}
    return out


def _plain(column: object) -> list[object]:
    if isinstance(column, Text):
        return list(materialize(column))
    assert isinstance(column, np.ndarray)
    if column.ndim == 2:
        return [tuple(r) for r in column.tolist()]
    return [None if (isinstance(v, float) and np.isnan(v)) else v for v in column.tolist()]


def test_a_schema_filled_in_memory_keeps_its_keys() -> None:
    gen = GenericGenerator(_shop(), table_rows={"products": 300}, total_rows=100_000)
    counts = gen.row_counts(1.0)
    assert counts["products"] == 300 and counts["lines"] > counts["orders"] > counts["customers"]
    rows = _rows(gen, 5)
    assert _rows(gen, 5) == rows  # deterministic
    assert _rows(gen, 6)["orders"]["customer_id"] != rows["orders"]["customer_id"]
    for table, n in counts.items():
        assert all(len(v) == n for v in rows[table].values()), table
    c, o, ln = rows["customers"], rows["orders"], rows["lines"]
    assert len(set(c["email"])) == len(c["email"]) and len(set(o["ref"])) == len(o["ref"])
    assert set(o["customer_id"]) <= set(c["id"]) and set(o["status"]) <= {"new", "paid", "sent"}
    assert {r for r in c["referrer_id"] if r is not None} <= set(c["id"])
    keys = list(zip(ln["order_id"], ln["line_no"], strict=True))
    assert len(set(keys)) == len(keys) and set(ln["order_id"]) <= set(o["id"])
    assert min(ln["line_no"]) >= 1 and max(ln["line_no"]) <= 20  # type: ignore[type-var]
    assert set(ln["sku"]) <= set(rows["products"]["sku"])
    notes = rows["line_notes"]
    assert {k for k in zip(notes["order_id"], notes["line_no"], strict=True)
            if k[0] is not None} <= set(keys)
    per_customer = np.bincount(np.array(o["customer_id"]))
    assert fanout.top_share(per_customer[1:]) > 0.3


def test_a_type_it_cannot_fill_is_one_line() -> None:
    m = sa.MetaData()
    t = sa.Table("gadgets", m, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("span", pg.INT4RANGE))
    with pytest.raises(ConfigError) as err:
        GenericGenerator([t], table_rows={}, total_rows=None)
    message = str(err.value)
    assert "\n" not in message and message.startswith("gadgets.span: ")
    assert '[data] generator = "package.module"' in message
