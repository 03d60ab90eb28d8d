"""Reading the console's filter forms (keys, journal, operations): dates, numbers and choices
from the query string, each refusal a French message on the field it concerns."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from engine.errors import Invalid


class FieldErrors:
    """Collects per-field messages while a form is read; `raise_if_any` ends the reading."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})

    def by_field(self) -> dict[str, str]:
        return {e["field"]: e["message"] for e in self.errors}

    def raise_if_any(self, message: str = "Certains filtres ne sont pas valides.") -> None:
        if self.errors:
            raise Invalid(message, list(self.errors))


def day(args: Mapping[str, str], name: str, errors: FieldErrors, *,
        end: bool = False) -> datetime | None:
    """A date typed as AAAA-MM-JJ (the date field's value): its first instant in UTC, or with
    `end` the first instant of the next day (so « au 12 » includes the 12th)."""
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        errors.add(name, "Date invalide : choisissez-la dans le calendrier (AAAA-MM-JJ).")
        return None
    start = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def check_range(since: datetime | None, until: datetime | None, field: str,
                errors: FieldErrors) -> None:
    if since is not None and until is not None and until <= since:
        errors.add(field, "La date de fin précède la date de début.")


def number(args: Mapping[str, str], name: str, errors: FieldErrors) -> int | None:
    """A positive whole number, or None when the field is empty."""
    text = (args.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 18 or int(text) < 1:
        errors.add(name, "Nombre entier positif attendu.")
        return None
    return int(text)


def text(args: Mapping[str, str], name: str, errors: FieldErrors, *,
         max_length: int = 120) -> str | None:
    value = (args.get(name) or "").strip()
    if len(value) > max_length:
        errors.add(name, f"{max_length} caractères au plus.")
        return None
    return value or None


def choice(args: Mapping[str, str], name: str, allowed: Mapping[str, str] | set[str],
           errors: FieldErrors) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if value not in allowed:
        errors.add(name, "Choisissez une valeur de la liste.")
        return None
    return value
