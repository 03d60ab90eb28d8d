"""French messages for errors raised by diagram code, and the check that a script leaves
only storable values in task data.

Task data is saved with the instance as JSON: a script that leaves an object that cannot be
stored (an exception it caught, a function…) fails like any script error, in French, and the
value is not kept.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from engine.runtime.errors import ExpressionRefused
from engine.runtime.limits import SCRIPT_FILENAME, ScriptTooLarge, ScriptTooLong

_SCALARS = (str, int, float, bool, date, datetime, time, timedelta, type(None))


def storable(value: Any) -> bool:
    """Scalars, dates and durations, and lists, tuples and string-keyed dicts of them."""
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, list | tuple):
        return all(storable(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and storable(v) for k, v in value.items())
    return False


def unstorable_values(data: Mapping[str, Any], before: Mapping[str, Any]) -> list[str]:
    """The keys a script set (or replaced) to a value that cannot be stored."""
    return sorted(key for key, value in data.items()
                  if (key not in before or before[key] is not value) and not storable(value))


def unstorable_message(data: Mapping[str, Any], keys: list[str]) -> str:
    names = ", ".join(f"« {key} » ({type(data[key]).__name__})" for key in keys)
    return (f"Le script laisse dans les données une valeur qui ne peut pas être conservée : "
            f"{names}. Ne gardez que des textes, nombres, dates, listes ou dictionnaires")


def evaluation_message(exc: BaseException, expression: str) -> str:
    if isinstance(exc, ExpressionRefused):
        return f"Expression refusée : {exc.reason} (« {shorten(expression)} »)"
    return f"Erreur dans l'expression « {shorten(expression)} » : {describe(exc)}"


def describe(exc: BaseException) -> str:
    """A French one-liner for an error raised by diagram code."""
    if isinstance(exc, NameError):
        name = getattr(exc, "name", None) or str(exc)
        return f"« {name} » n'est pas défini (ni donnée de la tâche, ni fonction autorisée)"
    if isinstance(exc, ZeroDivisionError):
        return "division par zéro"
    if isinstance(exc, ScriptTooLong | ScriptTooLarge):
        return str(exc)
    labels = {
        TypeError: "types incompatibles",
        KeyError: "clé absente",
        IndexError: "indice hors limites",
        AttributeError: "attribut inaccessible",
        ValueError: "valeur invalide",
    }
    for kind, label in labels.items():
        if isinstance(exc, kind):
            return f"{label} ({exc})"
    return f"{type(exc).__name__} ({exc})"


def error_line(exc: BaseException) -> int:
    if isinstance(exc, SyntaxError):
        return exc.lineno or 0
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__ or sys.exc_info()[2]):
        if frame.filename == SCRIPT_FILENAME and frame.lineno:
            line = frame.lineno
    return line


def shorten(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
