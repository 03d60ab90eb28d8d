"""The test-only connector `relais/echo`: registered by the tests, never by production code.

`tests/conftest.py` imports this module, so every test process knows it; a `relais worker`
started by a test imports it too (see `worker_command`). It does no I/O and returns a copy of
its parameters; `pause_seconds` lets a test stop a worker while a connector runs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.runtime.connectors import Connector, Parameter, register

ECHO_MAX_PAUSE_SECONDS = 30


def _run_echo(params: Mapping[str, Any]) -> dict[str, Any]:
    """Harmless by design: no I/O, returns a copy of what it was given.

    `pause_seconds` (a number from 0 to 30, default 0) makes it wait before answering, so
    tests can stop a worker while a connector is running.
    """
    pause = params.get("pause_seconds", 0)
    if (isinstance(pause, bool) or not isinstance(pause, int | float)
            or not 0 <= pause <= ECHO_MAX_PAUSE_SECONDS):  # NaN fails the comparison too
        raise ValueError(f"pause_seconds doit être un nombre de 0 à {ECHO_MAX_PAUSE_SECONDS} "
                         f"(secondes), reçu {pause!r}")
    if pause:
        time.sleep(pause)
    return dict(params)


ECHO = register(
    Connector(
        id="relais/echo",
        description="Renvoie ses paramètres sans rien faire d'autre (connecteur de test) ; "
        "« pause_seconds » (0 à 30) le fait attendre avant de répondre.",
        optional=("message", "pause_seconds"),
        documented=(
            Parameter("message", "str", "Texte renvoyé tel quel dans le résultat."),
            Parameter("pause_seconds", "int", "Secondes d'attente avant de répondre (0 à 30)."),
        ),
        run=_run_echo,
    )
)


def worker_command(*args: str) -> list[str]:
    """The command line of a `relais worker` process that knows `relais/echo`."""
    tests_dir = str(Path(__file__).resolve().parent)
    bootstrap = (f"import sys; sys.path.insert(0, {tests_dir!r}); import echo_support; "
                 "from engine.cli import main; main()")
    return [sys.executable, "-c", bootstrap, *args]
