"""The harness's own exceptions; the command line turns each into one line and exit code 2."""


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
