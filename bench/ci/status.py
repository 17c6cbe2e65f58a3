"""The gate's decision as JSON (bench compare --status FILE), for workflows and the history.

A workflow reads `exit_code` and `unconfirmed` (timing that looked worse with one run per side:
measure again, interleaved, to confirm or clear it). The nightly job keeps the status of its A/A
pair (two runs of one commit compared) beside the run in the history as `aa-pair.json`: every
change it reports is a false alarm, and bench trend counts them over time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench.ci.compare import Change, Comparison
from bench.ci.history import AA_PAIR_FILE
from bench.errors import ResultsError
from bench.results.model import RunResults

__all__ = ["AA_PAIR_FILE", "GateStatus", "from_comparison", "load", "save"]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["shape", "write"]
    change_pct: float | None = None  # of the speedup (shape) or cost ratio (write), new vs base
    ci95_pct: tuple[float, float] | None = None
    verdict: str
    reason: str = ""
    noise_pct: float | None = None  # the A/A noise floor it was held against (±%)


class SignalChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    phase: str
    signal: str
    text: str
    worse: bool
    gates: bool


class GateStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status_version: Literal[1] = 1
    base: str
    new: str
    base_commit: str | None = None
    new_commit: str | None = None
    started_at: str = ""  # the newest run's start (ISO 8601)
    scale: float | None = None
    exit_code: int
    regressions: list[str] = Field(default_factory=list)
    unconfirmed: list[str] = Field(default_factory=list)
    timing_confirmed: bool = False
    signals_compared: int = 0  # shapes + write workloads
    signal_changes: list[SignalChange] = Field(default_factory=list)
    timing: list[Item] = Field(default_factory=list)

    @property
    def timing_alarms(self) -> list[Item]:
        """Timing changes the gate reports (faster, slower or unconfirmed)."""
        return [i for i in self.timing if i.verdict in ("faster", "slower", "unconfirmed")]

    @property
    def signal_alarms(self) -> list[SignalChange]:
        return [c for c in self.signal_changes if c.signal != "unstable"]

    @property
    def false_alarm(self) -> bool:
        """For an A/A pair: the gate would have reported a change, or asked for a re-run."""
        return bool(self.timing_alarms or self.signal_alarms or self.exit_code == 1)


def _item(name: str, kind: Literal["shape", "write"], c: Change) -> Item:
    return Item(name=name, kind=kind, change_pct=c.change_pct, ci95_pct=c.ci_pct,
                verdict=c.verdict, reason=c.reason, noise_pct=c.noise_pct)


def from_comparison(cmp: Comparison, base: list[RunResults], new: list[RunResults]) -> GateStatus:
    starts = [r.started_at for r in [*base, *new]]
    return GateStatus(
        base=cmp.base_label, new=cmp.new_label,
        base_commit=base[0].environment.git_commit, new_commit=new[0].environment.git_commit,
        started_at=max(starts), scale=new[0].config.scale, exit_code=cmp.exit_code,
        regressions=cmp.regressions(), unconfirmed=cmp.unconfirmed(),
        timing_confirmed=cmp.confirmed,
        signals_compared=cmp.signals.shapes + cmp.signals.workloads,
        signal_changes=[SignalChange(name=f.name, phase=f.phase, signal=f.signal, text=f.text,
                                     worse=f.worse, gates=f.gates)
                        for f in cmp.signals.findings],
        timing=[_item(q.name, "shape", q.effect) for q in cmp.queries]
        + [_item(w.name, "write", w.effect) for w in cmp.writes],
    )


def save(status: GateStatus, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(status.model_dump_json(indent=2) + "\n")


def load(path: Path) -> GateStatus:
    try:
        return GateStatus.model_validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise ResultsError(f"{path}: not a gate status file ({first})") from None
