"""A --dsn server whose shared_buffers holds one twin but not both: the run says so at the top
of report.md, with the cost it measured; on a server that holds both, it says nothing.

The small server is a second embedded PostgreSQL with its shared_buffers set between one twin's
size and both twins' (found by seeding a probe database first), used through --dsn like any
server the harness does not control.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bench.config import RunConfig
from bench.runner import cache_fit, catalog, round_order
from bench.runner.provision import (
    Target,
    configure_embedded,
    embedded_server,
    scratch_database,
    twin_database,
)
from bench.runner.run.pipeline import run
from bench.runner.seeding import seed_database

SCALE = 0.02


def _cfg(dsn: str, out: Path, aa_rounds: int = 0) -> RunConfig:
    return RunConfig(scale=SCALE, seed=3, rounds=4, aa_rounds=aa_rounds, warmup=0,
                     write_rounds=0, crosscheck_rounds=0, dsn=dsn, out=out, progress=False)


@pytest.fixture(scope="module")
def small_server() -> Iterator[str]:
    """An embedded server whose shared_buffers is 1.5 times one twin at SCALE."""
    with embedded_server() as conninfo:
        with scratch_database(conninfo, "dsn") as probe:
            seed_database(probe, _cfg(conninfo, Path("unused")), echo=lambda _line: None)
            with probe.connect() as conn:
                one = cache_fit.twin_bytes(conn, catalog.app_tables(conn))
        configure_embedded(conninfo, {"shared_buffers": f"{int(1.5 * one / 2**20)}MB"})
        yield conninfo


@pytest.fixture(scope="module")
def alternating_run(small_server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run with its twins alternated round by round (the order before the blocked one)."""
    out = tmp_path_factory.mktemp("alternating") / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(round_order, "choose", lambda _fit: round_order.ALTERNATING)
        run(_cfg(small_server, out), echo=lambda _line: None)
    return out


def _read_blocks(out: Path) -> tuple[float, float]:
    """Blocks read from outside shared_buffers, per round's median summed over shapes and both
    twins: in the run's read phase, and each twin alone."""
    fit = json.loads((out / "results.json").read_text())["cache_fit"]
    return (sum(fit["alternating_read_blocks"].values()),
            sum(fit["alone_read_blocks"].values()))


def test_twins_that_do_not_fit_are_warned_about_with_their_measured_cost(
        alternating_run: Path) -> None:
    out = alternating_run
    doc = json.loads((out / "results.json").read_text())
    fit = doc["cache_fit"]
    assert fit["fits"] is False and fit["order"] == "alternating"
    assert fit["shared_buffers_bytes"] < fit["twins_bytes"] < 2 * fit["shared_buffers_bytes"]
    assert fit["rounds"] == 4  # all the read phase had
    shapes = {q["name"] for q in doc["queries"]}
    for field in ("before_alone_ms", "before_alternating_ms", "after_alone_ms",
                  "after_alternating_ms", "alone_read_blocks", "alternating_read_blocks"):
        assert set(fit[field]) == shapes, field
    # One twin fits, so alone it reads (nearly) nothing from outside shared_buffers; in turns,
    # each evicts the other and the shapes that scan read their tables again.
    in_turns, alone = _read_blocks(out)
    assert in_turns > 10 * (alone + 1)
    head = (out / "report.md").read_text().split("**Reads:")[0]
    assert "⚠️ **The twins do not fit in shared_buffers**" in head
    assert "by running each twin alone on the parameters of its first 4 rounds" in head
    assert "so the speedups below are" in head
    assert "a smaller scale (--scale" in head and "a larger shared_buffers (at least" in head


def test_twins_that_fit_are_sized_up_as_fitting(seeded_db: Target, pg_server: str) -> None:
    with twin_database(seeded_db, suffix="fit") as twin:
        fit = cache_fit.size_up({"A": seeded_db.conninfo, "B": twin.conninfo})
    assert fit.fits and fit.twins_bytes > 0
    with psycopg.connect(pg_server) as conn:
        assert fit.shared_buffers_bytes == cache_fit.shared_buffers_bytes(conn) == 2 * 2**30


def test_twins_that_do_not_fit_are_measured_in_blocks_that_keep_their_pages(
        small_server: str, alternating_run: Path, tmp_path: Path) -> None:
    """The same run in the order chosen for it: blocks of rounds per twin, the A/A control
    too; each block then reads a fraction of what alternating them read from outside
    shared_buffers (block reads are counts, not timings: no quiet host needed)."""
    out = tmp_path / "out"
    lines: list[str] = []
    run(_cfg(small_server, out, aa_rounds=4), echo=lines.append)
    doc = json.loads((out / "results.json").read_text())
    fit = doc["cache_fit"]
    assert fit["fits"] is False
    assert (fit["order"], fit["order_cycles"]) == ("blocked", 2)
    assert "do not fit in shared_buffers" in fit["order_reason"]
    assert any(line.startswith("read order: blocks of rounds per twin") for line in lines)
    assert fit["rounds"] == 4
    in_blocks, alone = _read_blocks(out)
    in_turns, _alone = _read_blocks(alternating_run)
    assert in_blocks < in_turns / 3, (in_blocks, in_turns, alone)
    for q in doc["queries"]:  # every round of both phases, on both twins
        assert q["aa"]["rounds"] == 4, q["name"]
        assert q["before"]["rounds"] == q["after"]["rounds"] == 4, q["name"]
    report = (out / "report.md").read_text()
    head = report.split("**Reads:")[0]
    assert "⚠️ **The twins do not fit in shared_buffers**" in head
    assert "measured them in blocks of rounds per twin, in ABBA order over 2 cycles" in head
    assert "the A/A control, measured in the same order, shows whether it did" in head
    assert "so they were measured in blocks of rounds per twin" in report
