"""Who waits for a lock while a migration runs: pg_locks joined with pg_stat_activity, sampled
every INTERVAL_S by a thread with its own connection to the database under load."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import psycopg

from bench.results.stalls import LockSample, Waiter, Who

INTERVAL_S = 0.05

_WAITING = """
SELECT a.application_name, l.locktype, l.mode, c.relname
FROM pg_locks AS l
JOIN pg_stat_activity AS a ON a.pid = l.pid
LEFT JOIN pg_class AS c ON c.oid = l.relation
WHERE NOT l.granted AND a.datname = current_database() AND a.pid <> pg_backend_pid()
"""


class LockSampler:
    """Samples waiting backends in a thread; `who` is told by their application_name."""

    def __init__(self, conninfo: str, load_app: str, migration_app: str,
                 interval_s: float = INTERVAL_S) -> None:
        self.conninfo, self.load_app, self.migration_app = conninfo, load_app, migration_app
        self.interval_s = interval_s
        self.samples: list[LockSample] = []
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="lock-sampler", daemon=True)

    def __enter__(self) -> LockSampler:
        self._conn = psycopg.connect(self.conninfo, autocommit=True,
                                     application_name="pgib-lock-sampler")
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._conn.close()
        if self._error is not None and exc is None:
            raise self._error

    @property
    def effective_interval_s(self) -> float:
        """The mean time between samples (longer than asked for when the machine is busy)."""
        if len(self.samples) < 2:
            return self.interval_s
        return (self.samples[-1].t_s - self.samples[0].t_s) / (len(self.samples) - 1)

    def _who(self, app: str) -> Who:
        if app == self.load_app:
            return "load"
        return "migration" if app == self.migration_app else "other"

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                t = time.time()
                rows = self._conn.execute(_WAITING).fetchall()
                self.samples.append(LockSample(t, tuple(
                    Waiter(self._who(app), rel, locktype, mode)
                    for app, locktype, mode, rel in rows)))
                self._stop.wait(max(0.0, self.interval_s - (time.time() - t)))
        except BaseException as exc:  # reported in __exit__, not lost in the thread
            self._error = exc
