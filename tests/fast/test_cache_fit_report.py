"""The report's warning when a --dsn server's shared_buffers cannot hold both twins."""

from __future__ import annotations

from pathlib import Path

from bench.report.markdown import render
from bench.results import store
from bench.results.model import CacheFit, CacheState, RunResults

MB = 2**20
FIXTURE = Path(__file__).parent / "fixtures" / "gate-a.results.json"


def results_doc(scale: float = 0.2) -> RunResults:
    run = store.load(FIXTURE)
    run.config.scale = scale
    return run


def _unfit() -> CacheFit:
    return CacheFit(twins_bytes=290 * MB, shared_buffers_bytes=128 * MB, fits=False, rounds=8,
                    before_alone_ms={"fk_join": 100.0, "simple_where": 20.0},
                    before_alternating_ms={"fk_join": 130.0, "simple_where": 22.0},
                    after_alone_ms={"fk_join": 0.1, "simple_where": 10.0},
                    after_alternating_ms={"fk_join": 0.2, "simple_where": 11.0},
                    alone_read_blocks={"fk_join": 0, "simple_where": 0},
                    alternating_read_blocks={"fk_join": 1200, "simple_where": 300})


def test_twins_larger_than_shared_buffers_get_a_warning_with_its_measured_cost() -> None:
    run = results_doc(scale=0.3)
    run.cache = CacheState(mode="warm", pg_prewarm=True, relations=38, blocks=37000)
    run.cache_fit = _unfit()
    assert run.disk is not None
    run.disk.new_index_bytes = 90 * MB
    text = render(run, [])
    head = text.split("**Reads:")[0]
    assert "⚠️ **The twins do not fit in shared_buffers**" in head
    assert ("hold 290 MB of tables and indexes, 380 MB with the migration's indexes, the "
            "server's shared_buffers is 128 MB") in head
    assert "on the parameters of its first 8 rounds" in head
    # before 1.3x and 1.1x (median 1.2x), after 2x and 1.1x (median 1.55x); speedups 0.65x
    # and 1x of each twin alone
    assert ("the before-times were 1.20x (1.10x for `simple_where` to 1.30x for `fk_join`) "
            "and the after-times 1.55x (1.10x for `simple_where` to 2.00x for `fk_join`)") in head
    assert ("the speedups below are 0.82x (0.65x for `fk_join` to 1.00x for `simple_where`) "
            "of what each twin alone gives") in head
    assert "summed over the shapes and both twins: 0 alone, 1,500 alternating" in head
    # 0.3 * 0.8 * 128 / 290 = 0.106: rounded down; 1.25 * 290 MB = 362.5 MB: in whole 128 MB
    assert "--scale 0.1 or less fits" in head and "at least 384 MB" in head
    assert "they do not all fit in shared_buffers" in text


def test_no_warning_when_they_fit_or_were_not_checked() -> None:
    run = results_doc()
    assert "do not fit" not in render(run, [])
    run.cache_fit = CacheFit(twins_bytes=20 * MB, shared_buffers_bytes=2048 * MB, fits=True)
    assert "do not fit" not in render(run, [])


def test_a_cost_that_could_not_be_measured_is_said_so() -> None:
    run = results_doc(scale=2)
    run.cache_fit = CacheFit(twins_bytes=4096 * MB, shared_buffers_bytes=128 * MB, fits=False)
    text = render(run, [])
    assert "Its cost was not measured" in text and "--scale 0.05 or less" in text


def test_the_record_round_trips_through_results_json(tmp_path: Path) -> None:
    run = results_doc()
    run.cache_fit = _unfit()
    store.save_results(run, tmp_path)
    assert store.load(tmp_path / "results.json").cache_fit == _unfit()
