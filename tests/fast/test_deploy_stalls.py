"""Pure parts of `bench deploy`: pgbench's log, the stall arithmetic, fits (no database).

The logs in fixtures/pgbench/ are real: pgbench_stall.log is pgbench at --rate 200 over 4
connections (script 0 an INSERT into `items`, script 1 a read) while another session held
`LOCK TABLE items IN SHARE MODE` for 0.5 s (its start and end in pgbench_stall.json), which is
what a plain CREATE INDEX does to writers; pgbench_plain.log is a run without --rate.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.results import stalls
from bench.results.deploy import SLOW_MS
from bench.results.pgbench_log import LogFormatError, Txn, parse_line, read_logs
from bench.results.stalls import LockSample, Waiter

FIXTURES = Path(__file__).parent / "fixtures" / "pgbench"


def _stall_fixture() -> tuple[list[Txn], float, float]:
    window = json.loads((FIXTURES / "pgbench_stall.json").read_text())
    return read_logs([FIXTURES / "pgbench_stall.log"]), window["lock_start"], window["lock_end"]


def test_a_line_with_schedule_lag() -> None:
    t = parse_line("0 3 2347 1 1795687367 601564 491")
    assert (t.client, t.script) == (0, 1)
    assert t.latency_ms == pytest.approx(2.347)
    assert t.lag_ms == pytest.approx(0.491)
    assert t.exec_ms == pytest.approx(1.856)
    assert t.end_s == pytest.approx(1795687367.601564)
    assert t.start_s == pytest.approx(t.end_s - 0.001856)
    assert t.due_s == pytest.approx(t.end_s - 0.002347)


def test_a_line_without_rate_and_failed_ones() -> None:
    t = parse_line("0 1 5669 0 1795687370 186105")
    assert t.lag_ms == 0 and t.exec_ms == t.latency_ms == pytest.approx(5.669)
    failed = parse_line("3 17 failed 0 1795687370 186105 12")
    assert failed.latency_ms is None and failed.exec_ms is None
    assert parse_line("1 2 skipped 1 1795687370 5 9").latency_ms is None


@pytest.mark.parametrize("line", ["", "0 1 2 3", "a b c d e f", "0 1 12.5x 0 17 5"])
def test_a_line_that_is_not_pgbench_is_refused(line: str) -> None:
    with pytest.raises(LogFormatError):
        parse_line(line)


def test_the_real_logs_parse_in_order() -> None:
    plain = read_logs([FIXTURES / "pgbench_plain.log"])
    assert len(plain) == 40 and all(t.lag_ms == 0 for t in plain)
    txns, _, _ = _stall_fixture()
    assert len(txns) == 488
    assert [t.end_s for t in txns] == sorted(t.end_s for t in txns)


def test_a_half_second_share_lock_shows_as_a_half_second_write_stall() -> None:
    txns, start, end = _stall_fixture()
    (items,) = stalls.table_stalls(txns, {0: "items"}, start, end)
    held = (end - start) * 1000
    assert items.longest_lock_wait_ms == pytest.approx(held, abs=60)
    assert items.longest_stall_ms is not None and items.longest_stall_ms >= held * 0.95
    assert items.outside.max_ms is not None and items.outside.max_ms < SLOW_MS
    assert items.slow_during > 20 and items.slow_outside == 0
    # Four connections, all stuck behind the lock for about its length.
    assert items.blocked_client_s == pytest.approx(4 * held / 1000, rel=0.25)


def test_reads_are_not_blocked_but_wait_for_a_connection() -> None:
    txns, start, end = _stall_fixture()
    (read,) = stalls.shape_latencies(txns, {1: "read"}, start, end)
    assert read.during_exec.max_ms is not None and read.during_exec.max_ms < 10
    assert read.during.max_ms is not None and read.during.max_ms > 300


def _txn(due: float, start: float, end: float, script: int = 0) -> Txn:
    return Txn(client=0, script=script, end_s=end, latency_ms=(end - due) * 1000,
               lag_ms=(start - due) * 1000)


def test_during_means_due_before_the_end_and_done_after_the_start() -> None:
    window = (10.0, 12.0)
    cases = {
        "before": _txn(8.0, 8.0, 9.9),
        "into": _txn(9.5, 9.5, 10.5),
        "inside": _txn(10.5, 10.5, 11.0),
        "queued across": _txn(11.9, 12.3, 12.4),
        "after": _txn(12.1, 12.1, 12.2),
    }
    during, outside = stalls.split(cases.values(), *window)
    names = {id(t): n for n, t in cases.items()}
    assert [names[id(t)] for t in during] == ["into", "inside", "queued across"]
    assert [names[id(t)] for t in outside] == ["before", "after"]


def test_blocked_time_is_own_time_beyond_the_usual() -> None:
    usual = [_txn(s, s, s + 0.002) for s in (1.0, 2.0, 3.0)]  # 2 ms each, outside
    held = [_txn(10.0, 10.0, 10.5), _txn(10.1, 10.2, 10.5)]  # 500 ms and 300 ms own time
    (t,) = stalls.table_stalls(usual + held, {0: "t"}, 10.0, 10.5)
    assert t.blocked_client_s == pytest.approx((0.498 + 0.298), abs=1e-6)
    assert t.longest_stall_ms == pytest.approx(500) and t.longest_lock_wait_ms == pytest.approx(500)
    assert t.during.n == 2 and t.outside.n == 3 and t.slow_during == 2


def test_sampled_lock_waits_per_table() -> None:
    load = Waiter("load", "items", "relation", "RowExclusiveLock")
    mig = Waiter("migration", None, "virtualxid", "ShareLock")
    samples = [LockSample(0.0, (load, load)), LockSample(0.05, (load, mig)),
               LockSample(0.1, ())]
    (t,) = stalls.table_stalls([], {0: "items"}, 0, 1, samples, 0.05)
    assert t.lock_wait_client_s == pytest.approx(0.15) and t.max_waiting == 2
    waits = stalls.lock_waits(samples, 0.05)
    assert [(w.who, w.table, w.samples) for w in waits] == [("load", "items", 3),
                                                            ("migration", None, 1)]
    line = stalls.timeline([], {0: "items"}, 0.0, samples)
    assert line.waiting == [2, 1, 0]


def test_latency_stats() -> None:
    s = stalls.latency_stats(range(1, 101))
    assert (s.n, s.p50_ms, s.max_ms) == (100, 50.5, 100)
    assert s.p99_ms == pytest.approx(99.01)
    assert stalls.latency_stats([]).n == 0


def test_tps_of_a_run_is_over_its_own_span() -> None:
    run = [_txn(float(i), float(i), i + 1.0) for i in range(10)]  # 10 in 10 s
    assert stalls.run_tps(run) == pytest.approx(1.0)
    tps, per_run, lat, failed = stalls.throughput([run, run[:5]])
    assert per_run == [1.0, 1.0] and tps == pytest.approx(1.0)
    assert lat.n == 15 and failed == 0


def test_fit_power() -> None:
    xs = [1e5, 3e5, 1e6]
    fit = stalls.fit_power(xs, [2e-5 * x ** 1.1 for x in xs])
    assert fit is not None
    assert fit[0] == pytest.approx(2e-5, rel=1e-6) and fit[1] == pytest.approx(1.1)
    assert stalls.fit_power([1e5], [3.0]) is None
    assert stalls.fit_power([1e5, 1e5], [3.0, 4.0]) is None
    zero_dropped = stalls.fit_power([1.0, 2.0, 4.0], [0.0, 2.0, 4.0])  # no log of 0
    assert zero_dropped is not None and math.isclose(zero_dropped[1], 1.0)
