"""Import what a job needs only later (the statistics, the charts: about a second) on a thread,
while the main one waits for the server to start and load."""

from __future__ import annotations

import importlib
import threading
from contextlib import suppress


def prefetch(modules: tuple[str, ...]) -> threading.Thread:
    """Import `modules` in a thread, and return it. Not a daemon: an interpreter that exits
    mid-import can crash, so an early exit waits for it (a second at most). A job joins it on
    the way out, so that its one error line comes after anything the imports log (--debug)."""
    def load() -> None:
        for name in modules:
            with suppress(ImportError):  # the main thread's own import will say what failed
                importlib.import_module(name)

    thread = threading.Thread(target=load, name="prefetch")
    thread.start()
    return thread
