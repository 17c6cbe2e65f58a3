"""The harness's own exceptions; the command line turns each into one line and exit code 2."""


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
