"""The harness's own exceptions and its exit codes, by kind.

The command line turns a BenchError into one line on stderr and exit code 2; anything else
that escapes is a bug in the harness (exit code 3, with --debug for the traceback), which CI
must not mistake for a regression (exit code 1, from `compare` only).
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    REGRESSION = 1  # `compare` found a significant regression; nothing else exits 1
    BAD_INPUT = 2  # bad input or an unusable environment (a BenchError)
    INTERNAL_ERROR = 3  # a bug in the harness: an exception it did not expect
    INTERRUPTED = 130  # Ctrl-C or SIGTERM (128 + SIGINT)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (server errors carry DETAIL/HINT lines)."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


class BenchError(Exception):
    """Something the user can fix: bad input or an unusable environment."""


class ConfigError(BenchError):
    """An option value is invalid."""


class ServerError(BenchError):
    """PostgreSQL could not be started, reached or used."""


class ShapeError(BenchError):
    """A query shape file is malformed or fails to run."""


class MigrationError(BenchError):
    """The index migration failed or did not leave the expected indexes."""


class ResultsError(BenchError):
    """A results file is missing, malformed, or not a results.json of this harness."""


# Set by the harness's signal handler. Python ignores an exception raised inside a weakref or
# __del__ callback (SQLAlchemy's garbage-collected event registries are such callbacks), so a
# Ctrl-C that lands there would be lost: each phase boundary raises it again (progress.step).
interrupted = False


def raise_if_interrupted() -> None:
    if interrupted:
        raise KeyboardInterrupt
