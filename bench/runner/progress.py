"""Progress lines of a job: one line when a phase starts and one with its time when it ends."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bench.errors import raise_if_interrupted

Echo = Callable[[str], None]


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
