"""Progress of a job: one line when a phase starts and one with its time when it ends, and on a
terminal a bar while a long phase works.

The bar (`bar`) is one updating line on stderr, as pytest, pip or hyperfine draw theirs: what
the phase is doing (the shape, workload or index state, round i of n) and an estimate of the
time left; it is cleared when the phase ends. In a log (stderr is no terminal) or with
--no-progress it writes nothing, so a CI log keeps its one line per phase. The phases call
`update` between timed statements, never inside one, and the bar redraws at most every
MIN_INTERVAL_S seconds: drawing it never lands inside a measurement.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from tqdm import tqdm

from bench.errors import raise_if_interrupted

Echo = Callable[[str], None]

MIN_INTERVAL_S = 0.5  # at most two redraws a second
FORMAT = ("{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix} "
          "[{elapsed} elapsed, ~{remaining} left]")


def stderr_echo(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def step(echo: Echo, label: str) -> Iterator[None]:
    raise_if_interrupted()
    start = time.perf_counter()
    echo(f"{label} ...")
    yield
    raise_if_interrupted()
    echo(f"{label}: done in {time.perf_counter() - start:.2f} s")


def on_terminal(wanted: bool) -> bool:
    """Whether to draw bars: asked for (the config's `progress`, off with --no-progress) and
    stderr is a terminal."""
    return wanted and sys.stderr.isatty()


class _Tqdm(tqdm):  # type: ignore[type-arg]
    monitor_interval = 0  # no monitor thread: the bar redraws only when the phase updates it


class Bar:
    """A phase's bar: `update(detail)` after each unit of work (a round of a shape, say)."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self._bar: tqdm[Any] | None = None
        if enabled and sys.stderr.isatty():  # never bar noise in a log
            self._bar = _Tqdm(total=max(total, 1), desc=label, leave=False, file=sys.stderr,
                              mininterval=MIN_INTERVAL_S, miniters=1, bar_format=FORMAT,
                              dynamic_ncols=True)

    def update(self, detail: str = "", n: int = 1) -> None:
        """`n` more units done; `detail` says what was just done (or, with n=0, what the
        phase is doing now: drawn at once)."""
        if self._bar is not None:
            self._bar.set_postfix_str(detail, refresh=not n)
            if n:
                self._bar.update(n)

    def shrink(self, n: int) -> None:
        """`n` units fewer to do (a shape that stopped early): the estimate follows."""
        if self._bar is not None and n:
            self._bar.total = max(self._bar.n, (self._bar.total or 0) - n, 1)

    def echo(self, echo: Echo) -> Echo:
        """`echo` for a line printed while the bar is drawn: the bar steps aside for it."""
        bar = self._bar
        if bar is None:
            return echo

        def around(line: str) -> None:
            bar.clear()
            echo(line)
            bar.refresh()

        return around

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()  # leave=False: the line is cleared
            self._bar = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def bar(total: int, label: str, enabled: bool) -> Bar:
    """A bar of `total` units on stderr, drawn only if `enabled` and stderr is a terminal."""
    return Bar(total, label, enabled)
