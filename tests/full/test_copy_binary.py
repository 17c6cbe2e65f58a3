"""Binary COPY: the encoder stores exactly what text COPY stores, on a real server."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.dialects.postgresql import TIMESTAMP

from bench.data.copy_binary import HEADER, TRAILER, TableEncoder
from bench.data.copy_text import copy_chunks
from bench.data.strings import Pool, concat, hex_fixed, hex_plain, materialize, pick
from bench.runner.provision import Target

_META = sa.MetaData()
PROBE = sa.Table(
    "probe", _META,
    sa.Column("id", sa.BigInteger, primary_key=True, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("maybe_n", sa.Integer),
    sa.Column("score", sa.Numeric(5, 2)),
    sa.Column("cost", sa.Numeric(10, 6)),
    sa.Column("at", TIMESTAMP(timezone=True), nullable=False),
    sa.Column("maybe_at", TIMESTAMP(timezone=True)),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("url", sa.Text),
)


def _columns(n: int):
    rng = np.random.default_rng(5)
    ids = np.arange(1, n + 1)
    at = np.datetime64("1999-12-31T23:59:59.999", "ms") + (
        rng.integers(-10**12, 10**12, n)).astype("timedelta64[ms]")
    kinds = Pool(["a", "bé", "c ☃"])
    score = np.round(rng.uniform(-100, 100, n), 2)
    score[:6] = [0.0, 100.0, -0.01, 99.99, -99.99, np.nan]
    cost = np.round(rng.uniform(0, 9999, n), 6)
    cost[:4] = [0.000001, 0.0, 1234.5, np.nan]
    return {
        "id": ids,
        "n": rng.integers(-2**31, 2**31, n),
        "maybe_n": np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 10**6, n)),
        "score": score,
        "cost": cost,
        "at": at,
        "maybe_at": np.where(rng.random(n) < 0.3, np.datetime64("NaT"), at),
        "kind": pick(kinds, rng.integers(0, 3, n)),
        "label": pick(Pool(["x", "y"]), rng.integers(0, 2, n), null=rng.random(n) < 0.5),
        "url": concat("https://", pick(kinds, rng.integers(0, 3, n)).parts[0], "/",
                      hex_plain(rng.integers(0, 2**40, n)), "-", hex_fixed(ids, 3),
                      null=rng.random(n) < 0.2),
    }


def _digest(conn, table: str) -> str:
    return conn.execute(sql.SQL("SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM {} t")
                        .format(sql.Identifier(table))).fetchone()[0]


def test_binary_copy_stores_what_text_copy_stores(scratch_db: Target) -> None:
    block = _columns(3000)
    plain = {k: materialize(v) if not isinstance(v, np.ndarray) else v for k, v in block.items()}
    encoder = TableEncoder(PROBE, block)
    with scratch_db.connect(autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        for name in ("probe", "probe_text"):
            conn.execute(str(sa.schema.CreateTable(PROBE.to_metadata(sa.MetaData(), name=name))
                             .compile(dialect=sa.dialects.postgresql.dialect())))
        stmt = sql.SQL("COPY probe ({}) FROM STDIN WITH (FORMAT binary)").format(
            sql.SQL(", ").join(map(sql.Identifier, encoder.columns)))
        with conn.cursor().copy(stmt) as copy:
            copy.write(HEADER)
            for data in encoder.encode(block):
                copy.write(data)
            copy.write(TRAILER)
        stmt = sql.SQL("COPY probe_text ({}) FROM STDIN").format(
            sql.SQL(", ").join(map(sql.Identifier, plain)))
        with conn.cursor().copy(stmt) as copy:
            for _, text in copy_chunks(list(plain.values())):
                copy.write(text)
        for column in plain:
            assert conn.execute(sql.SQL(
                "SELECT count(*) FROM probe a JOIN probe_text b USING (id) "
                "WHERE a.{c} IS DISTINCT FROM b.{c}").format(c=sql.Identifier(column))
            ).fetchone()[0] == 0, column
        assert _digest(conn, "probe") == _digest(conn, "probe_text")
        nulls = conn.execute("SELECT count(*) FILTER (WHERE label IS NULL), "
                             "count(*) FILTER (WHERE maybe_at IS NULL) FROM probe").fetchone()
        assert 0 < nulls[0] < 3000 and 0 < nulls[1] < 3000


def test_hex_helpers_match_python_formatting() -> None:
    v = np.array([0, 1, 15, 16, 255, 256, 4095, 4096, 2**40 - 1, 2**40, 123456789, 2**62])
    assert [b.decode() for b in hex_plain(v).values] == [format(int(x), "x") for x in v]
    assert hex_plain(v).lengths.tolist() == [len(format(int(x), "x")) for x in v]
    assert [b.decode() for b in hex_fixed(v % 2**48, 12).values] == [
        format(int(x) % 2**48, "012x") for x in v]


def test_materialize_concatenates_parts_and_nulls() -> None:
    names = Pool(["Ann", "Bo"])
    column = concat(pick(names, np.array([0, 1, 1])).parts[0], ".", hex_fixed(np.arange(3), 2),
                    null=np.array([False, True, False]))
    assert materialize(column).tolist() == ["Ann.00", None, "Bo.02"]
    assert materialize(pick(names, np.array([1, 0]), null=np.array([True, False]))).tolist() \
        == [None, "Ann"]
