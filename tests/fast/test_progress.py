"""The progress bar's API (bench.runner.progress): silent in a log, one updating line on a
terminal, drawn at most a few times a second, cleared at the end."""

from __future__ import annotations

import io
import sys
import time

import pytest

from bench.runner import progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _use(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


def _exercise(enabled: bool) -> list[str]:
    echoed: list[str] = []
    with progress.bar(4, "reads", enabled) as shown:
        say = shown.echo(echoed.append)
        shown.update("q1, warm-up")
        shown.update("q1, round 1 of 3", 0)
        say("a line in the middle")
        shown.shrink(1)
        shown.update("q1, round 2 of 3", 2)
    return echoed


def test_no_terminal_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for but stderr is a log: nothing is written, lines still get through."""
    err = _use(io.StringIO(), monkeypatch)
    assert not progress.on_terminal(True)
    assert _exercise(enabled=True) == ["a line in the middle"]
    assert err.getvalue() == ""


def test_no_progress_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    """--no-progress on a terminal: nothing either."""
    err = _use(Terminal(), monkeypatch)
    assert not progress.on_terminal(False)
    assert progress.on_terminal(True)
    assert _exercise(enabled=False) == ["a line in the middle"]
    assert err.getvalue() == ""


def test_terminal_one_updating_line_then_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _use(Terminal(), monkeypatch)
    monkeypatch.setattr(progress, "MIN_INTERVAL_S", 0.0)
    with progress.bar(3, "reads", True) as shown:
        for i in range(3):
            shown.update(f"q1, round {i + 1} of 3")
            time.sleep(0.01)
        drawn = err.getvalue()
    out = err.getvalue()
    assert "\n" not in out  # one line, redrawn in place
    assert drawn.count("\r") >= 2
    assert "reads:" in drawn and "round 1 of 3" in drawn
    assert "left]" in drawn  # the estimate of the time left
    assert out.endswith("\r")  # cleared (leave=False): blanks, back to the line's start
    assert out.rsplit("\r", 2)[-2].strip() == ""


def test_terminal_redraws_at_most_a_few_times_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _use(Terminal(), monkeypatch)
    start = time.perf_counter()
    with progress.bar(2000, "writes", True) as shown:
        for i in range(2000):
            shown.update(f"insert:t, round {i + 1} of 2000")
    seconds = time.perf_counter() - start
    frames = err.getvalue().count("\r") - 2  # less the first frame and the clearing
    assert frames <= 1 + seconds / progress.MIN_INTERVAL_S


def test_shrink_keeps_the_estimate_honest(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(Terminal(), monkeypatch)
    shown = progress.bar(10, "reads", True)
    shown.update("q1, round 1 of 10", 4)
    shown.shrink(4)  # a shape stopped early
    assert shown._bar is not None and shown._bar.total == 6
    shown.shrink(100)  # never below what is done
    assert shown._bar.total == 4
    shown.close()
    shown.close()  # idempotent
    assert shown._bar is None
