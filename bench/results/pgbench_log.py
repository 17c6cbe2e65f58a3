"""pgbench's per-transaction log (`-l`), parsed: one Txn per line. Pure: no server, no I/O but
reading the files.

A line is `client_id transaction_no time script_no time_epoch time_us [schedule_lag]
[retries]`: `time` is the transaction's latency in microseconds (under `--rate`, counted from
its *scheduled* start, so it includes the schedule lag), `time_epoch`/`time_us` the Unix time
it completed, `schedule_lag` (only with `--rate`) how late it started. A transaction that
failed has `failed` instead of a latency, one skipped by `--latency-limit` has `skipped`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Txn:
    client: int
    script: int  # index of the -f script it ran, in command-line order
    end_s: float  # Unix time it completed
    latency_ms: float | None  # None: failed or skipped
    lag_ms: float = 0.0  # schedule lag (--rate), part of latency_ms

    @property
    def exec_ms(self) -> float | None:
        """Its own time: from the moment it started, not from when it was due."""
        return None if self.latency_ms is None else self.latency_ms - self.lag_ms

    @property
    def start_s(self) -> float:
        """When it started."""
        return self.end_s - (self.exec_ms or 0.0) / 1000

    @property
    def due_s(self) -> float:
        """When it was due (under --rate; without, when it started)."""
        return self.end_s - (self.latency_ms or 0.0) / 1000


class LogFormatError(ValueError):
    """A line that is not a pgbench per-transaction log line."""


def parse_line(line: str) -> Txn:
    parts = line.split()
    if len(parts) < 6:
        raise LogFormatError(f"not a pgbench log line (needs 6 fields or more): {line!r}")
    try:
        client, script, epoch, micros = int(parts[0]), int(parts[3]), int(parts[4]), int(parts[5])
        latency = None if parts[2] in ("failed", "skipped") else float(parts[2]) / 1000
        lag = float(parts[6]) / 1000 if len(parts) > 6 else 0.0
    except ValueError:
        raise LogFormatError(f"not a pgbench log line: {line!r}") from None
    return Txn(client, script, epoch + micros / 1e6, latency, lag)


def parse_lines(lines: Iterable[str]) -> list[Txn]:
    return [parse_line(line) for line in lines if line.strip()]


def read_logs(paths: Iterable[Path]) -> list[Txn]:
    """Every transaction in the log files (one per pgbench thread), in order of completion."""
    txns: list[Txn] = []
    for path in paths:
        with path.open(encoding="ascii") as f:
            txns += parse_lines(f)
    txns.sort(key=lambda t: t.end_s)
    return txns
