"""How busy the rest of the machine was while the harness measured.

The twin design cancels whatever slows both twins alike, but not contention that stretches
long operations more than short ones: on the reference 2-core VM, a busy loop on the other
core doubled the time of a seq scan and left index lookups as they were, so fk_join's speedup
at scale 0.05 went from 34x to 64x. No interval made inside the run can see that, so the run
measures it instead: the CPU time the whole machine spent (/proc/stat) minus what the harness
and the embedded server spent, per measuring phase, in cores. The hypervisor's steal time (CPU
a VM was ready to use but another guest got) is not a process of this machine: it is reported
apart, as steal_cores. On a --dsn server the server's own processes cannot be told apart, so
nothing is measured there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from bench.results.model import MachineLoad

# Cores of other processes' use during a phase from which the report warns.
BUSY_CORES = 0.25


def _tree_seconds(proc: psutil.Process) -> float:
    """CPU seconds of a process, its live children, and the children it has reaped (exited
    backends and loader processes count through their parent)."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.Error:  # exited meanwhile: its parent has counted it
            continue
        total += t.user + t.system
        if p.pid == proc.pid:
            total += t.children_user + t.children_system
    return total


def _machine_seconds() -> tuple[float, float]:
    """CPU seconds the machine's processes have used since boot, and steal seconds."""
    t = psutil.cpu_times()
    busy = t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
    return busy, getattr(t, "steal", 0.0)


def idle_machine_load(seconds: float = 3.0) -> tuple[float, float]:
    """Cores used by processes other than this one, and cores stolen, over `seconds` now: how
    quiet the machine is before something that needs quiet (a test) starts."""
    me = psutil.Process(os.getpid())
    (busy, steal), mine, start = _machine_seconds(), me.cpu_times(), time.perf_counter()
    time.sleep(seconds)
    (busy2, steal2), mine2 = _machine_seconds(), me.cpu_times()
    elapsed = time.perf_counter() - start
    own = (mine2.user + mine2.system) - (mine.user + mine.system)
    return max(busy2 - busy - own, 0.0) / elapsed, max(steal2 - steal, 0.0) / elapsed


class LoadMeter:
    """Other processes' CPU use, in cores, for each phase measured with `phase()`, into
    `record` (None on a --dsn server: nothing is metered)."""

    def __init__(self, data_directory: Path | None) -> None:
        """`data_directory`: the embedded server's."""
        self.data_directory = data_directory
        self.me = psutil.Process(os.getpid())
        self.record = MachineLoad(cores=os.cpu_count(), warn_from=BUSY_CORES) \
            if data_directory else None

    @contextmanager
    def phase(self, label: str) -> Iterator[None]:
        """Meter the block; the server must not restart inside it."""
        server = _postmaster(self.data_directory) if self.data_directory else None
        if server is None or self.record is None:
            yield
            return

        def own() -> float:  # the harness's own process (no child of it measures) and the server
            t = self.me.cpu_times()
            return t.user + t.system + _tree_seconds(server)

        (busy, steal), mine, start = _machine_seconds(), own(), time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        busy_now, steal_now = _machine_seconds()
        other = (busy_now - busy) - (own() - mine)
        if elapsed > 0:
            self.record.other_cores[label] = round(max(other, 0.0) / elapsed, 3)
            self.record.steal_cores[label] = round(max(steal_now - steal, 0.0) / elapsed, 3)


def _postmaster(data_directory: Path) -> psutil.Process | None:
    """The server's main process, from postmaster.pid in its data directory."""
    try:
        return psutil.Process(int((data_directory / "postmaster.pid").read_text().split()[0]))
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
