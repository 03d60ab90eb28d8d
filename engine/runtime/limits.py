"""Bounds on the time and memory diagram code may use.

Every condition, script and timer expression runs under `time_bound`: a watchdog thread
raises `ScriptTooLong` in the running thread once the deadline has passed, or
`ScriptTooLarge` once the process's resident memory has grown by more than
`SCRIPT_MEMORY_BYTES` since the code started (looked at every `POLL_SECONDS`), and again
every `REPEAT_SECONDS` until the code stops — catching either inside the script does not
help (they are not `Exception`s, and a bare `except:` is refused at deployment).
Long calls into C code are interrupted when they return; no single call can allocate much,
because every operation that multiplies a size is checked before it runs
(`engine.runtime.sizes`). Without `/proc` (not Linux) only the size checks apply.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

SCRIPT_FILENAME = "<expression Relais>"  # the file name diagram code is compiled under
SCRIPT_SECONDS = 2.0
SCRIPT_MEMORY_BYTES = 256 * 1024 * 1024
POLL_SECONDS = 0.01
REPEAT_SECONDS = 0.05
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class ScriptTooLong(BaseException):
    """Diagram code ran past its time bound (a BaseException: `except Exception` in a
    script cannot swallow it)."""

    def __str__(self) -> str:
        return f"le code du diagramme dépasse la durée maximale de {SCRIPT_SECONDS:g} s"


class ScriptTooLarge(BaseException):
    """Diagram code made the process grow past its memory bound."""

    def __str__(self) -> str:
        return (f"le code du diagramme dépasse la mémoire autorisée "
                f"({SCRIPT_MEMORY_BYTES // (1024 * 1024)} Mo)")


def resident_bytes() -> int | None:
    """The process's resident memory, or None where /proc is not available."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None)


@contextmanager
def time_bound(seconds: float | None = None) -> Iterator[None]:
    """Run the block with diagram code limited to `seconds` (default SCRIPT_SECONDS)."""
    limit = SCRIPT_SECONDS if seconds is None else seconds
    target, done = threading.get_ident(), threading.Event()

    def watchdog() -> None:
        start, deadline = resident_bytes(), time.monotonic() + limit
        while not done.wait(POLL_SECONDS):
            if time.monotonic() >= deadline:
                interruption: type[BaseException] = ScriptTooLong
            elif start is not None and (resident_bytes() or 0) - start > SCRIPT_MEMORY_BYTES:
                interruption = ScriptTooLarge
            else:
                continue
            while not done.is_set():
                _raise_in(target, interruption)
                done.wait(REPEAT_SECONDS)
            return

    thread = threading.Thread(target=watchdog, name="relais-script-watchdog", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        _raise_in(target, None)  # drop an interruption that arrived too late to matter
