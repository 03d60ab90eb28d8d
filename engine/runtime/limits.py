"""A bound on the time diagram code may run.

Every condition, script and timer expression runs under `time_bound`: a watchdog thread
raises `ScriptTooLong` in the running thread once the deadline has passed, and again every
`REPEAT_SECONDS` until the code stops — catching it inside the script does not help (it is
not an `Exception`, and a bare `except:` is refused at deployment). Long calls into C code
are interrupted when they return. Memory is bounded by construction rather than measured:
`range` is limited and scripts import nothing (see `engine.runtime.expressions`).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SCRIPT_FILENAME = "<expression Relais>"  # the file name diagram code is compiled under
SCRIPT_SECONDS = 2.0
REPEAT_SECONDS = 0.05


class ScriptTooLong(BaseException):
    """Diagram code ran past its time bound (a BaseException: `except Exception` in a
    script cannot swallow it)."""

    def __str__(self) -> str:
        return f"le code du diagramme dépasse la durée maximale de {SCRIPT_SECONDS:g} s"


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None)


@contextmanager
def time_bound(seconds: float | None = None) -> Iterator[None]:
    """Run the block with diagram code limited to `seconds` (default SCRIPT_SECONDS)."""
    limit = SCRIPT_SECONDS if seconds is None else seconds
    target, done = threading.get_ident(), threading.Event()

    def watchdog() -> None:
        if done.wait(limit):
            return
        while not done.is_set():
            _raise_in(target, ScriptTooLong)
            done.wait(REPEAT_SECONDS)

    thread = threading.Thread(target=watchdog, name="relais-script-watchdog", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        _raise_in(target, None)  # drop an interruption that arrived too late to matter
