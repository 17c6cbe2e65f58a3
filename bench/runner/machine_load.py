"""How busy the rest of the machine was while the harness measured.

The twin design cancels whatever slows both twins alike, but not contention that stretches
long operations more than short ones: on the reference 2-core VM, a busy loop on the other
core doubled the time of a seq scan and left index lookups as they were, so fk_join's speedup
at scale 0.05 went from 34x to 64x. No interval made inside the run can see that, so the run
measures it instead: the CPU time the whole machine spent (/proc/stat) minus what the harness
and the embedded server spent, per measuring phase, in cores. On a --dsn server the server's
own processes cannot be told apart, so nothing is measured there.
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


def _machine_busy_seconds() -> float:
    t = psutil.cpu_times()
    return (t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
            + getattr(t, "steal", 0.0))


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

        busy, mine, start = _machine_busy_seconds(), own(), time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        other = (_machine_busy_seconds() - busy) - (own() - mine)
        if elapsed > 0:
            self.record.other_cores[label] = round(max(other, 0.0) / elapsed, 3)


def _postmaster(data_directory: Path) -> psutil.Process | None:
    """The server's main process, from postmaster.pid in its data directory."""
    try:
        return psutil.Process(int((data_directory / "postmaster.pid").read_text().split()[0]))
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
