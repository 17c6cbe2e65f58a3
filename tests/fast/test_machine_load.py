"""The load meter tells the hypervisor's steal time apart from other processes' CPU."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator

import pytest
from results_factory import results_doc

from bench.report.markdown import _load_text
from bench.results.model import MachineLoad
from bench.runner import machine_load

Times = namedtuple("Times", "user nice system idle irq softirq steal")


def test_steal_time_is_not_counted_as_other_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Between the two readings: 0.1 s of processes, 5 s of steal (a neighbour guest's).
    readings: Iterator[Times] = iter([Times(10.0, 0, 5.0, 0, 0, 0, 1.0),
                                      Times(10.1, 0, 5.0, 0, 0, 0, 6.0)])
    monkeypatch.setattr("bench.runner.machine_load.psutil.cpu_times", lambda: next(readings))
    monkeypatch.setattr("bench.runner.machine_load.time.sleep", lambda _s: None)
    clock = iter([0.0, 10.0])
    monkeypatch.setattr("bench.runner.machine_load.time.perf_counter", lambda: next(clock))
    other, steal = machine_load.idle_machine_load(10.0)
    assert other < 0.011  # 0.1 s over 10 s, less this process's own CPU
    assert steal == pytest.approx(0.5)


def test_the_report_gives_steal_apart_and_only_when_there_was_some() -> None:
    results = results_doc()
    results.machine_load = MachineLoad(cores=2, other_cores={"reads": 0.05},
                                       steal_cores={"reads": 0.31})
    assert _load_text(results) == (" Other processes' CPU while measuring, in cores: reads 0.05."
                                   " Hypervisor steal time (another guest's), in cores: reads "
                                   "0.31.")
    assert results.machine_load is not None
    results.machine_load.steal_cores = {"reads": 0.0}
    assert "steal" not in _load_text(results)
