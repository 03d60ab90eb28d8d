"""Request input the database could not hold is refused before any view reads it.

Guarantees (every blueprint, every endpoint):
- A JSON body is parsed once here with hard limits: nesting depth `MAX_DEPTH`, integers
  within a signed 64-bit range, strings (keys too) that are valid Unicode (no lone
  surrogate). Anything else is a 400 `invalid_json` problem, before authentication or view.
- `<int:…>` path segments hold ids every id column can hold (0 … 2^31-1, PostgreSQL's
  `integer`): a larger number reads as id 0, which no row has, so the view answers like
  for any unknown id (404) — on every method alike, and never a driver overflow.
- What still slips through (a 64-bit number where the column is 32-bit) is answered by
  `errors.py` as a 400 `value_out_of_range`, never a 500.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request
from werkzeug.routing import IntegerConverter, Map

from engine.errors import RelaisError

MAX_DEPTH = 64
MAX_INT = 2 ** 63 - 1
MAX_ID = 2 ** 31 - 1  # the id columns are SQL `integer`
MIN_INT = -(2 ** 63)


class InvalidJson(RelaisError):
    code = "invalid_json"
    status = 400


class IdConverter(IntegerConverter):
    """Werkzeug's `int` converter bounded to what an id column holds.

    Out-of-range ids are not refused by the converter: Werkzeug would then answer 405 when
    another method's rule shares the path. They become 0, an id no row has.
    """

    regex = r"\d{1,30}"  # longer runs of digits match no rule at all: 404

    def __init__(self, url_map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits, min, None, signed)
        self.bound = MAX_ID if max is None else max

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= self.bound else 0


def _parse_int(text: str) -> int:
    # Bounded before conversion: int() of a 5,000-digit string is already refused by Python.
    if len(text.lstrip("-")) > 19 or not MIN_INT <= int(text) <= MAX_INT:
        raise InvalidJson("Nombre entier hors des limites acceptées (64 bits).")
    return int(text)


def parse_json(data: bytes | str) -> Any:
    """The decoded document, or InvalidJson with a French message saying what is wrong."""
    try:
        value = json.loads(data, parse_int=_parse_int)
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise InvalidJson("Le corps de la requête n'est pas un JSON valide "
                          "(UTF-8 attendu).") from exc
    _check(value)
    return value


def _too_deep() -> InvalidJson:
    return InvalidJson(f"Document JSON trop imbriqué (au plus {MAX_DEPTH} niveaux).")


def _check(value: Any) -> None:
    """Walk the document without recursion: depth and Unicode validity of every string."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise _too_deep()
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str):
                    _check_text(key)
                stack.append((child, depth + 1))


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJson("Texte invalide : caractère Unicode isolé (« surrogate ») "
                          "non autorisé.") from None


# Blueprints whose views parse (with `parse_json`) and audit their own bodies: signed
# partner calls, whose refusals must be recorded as such (webhooks' inbound endpoint).
PARSED_IN_VIEW: set[str] = set()


def guard_json_body() -> None:
    """Before each request: a JSON body that breaks the limits is refused here, whatever
    the endpoint (views and webargs then parse a document known to be sound)."""
    if request.blueprint in PARSED_IN_VIEW:
        return
    if request.is_json and request.content_length != 0:
        data = request.get_data(cache=True)
        if data:
            parse_json(data)
