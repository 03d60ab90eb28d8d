"""French dates on the work pages: « 30 novembre 2026 », never an ISO date. The words are the
documents' (`engine.documents.render`); these filters also take ISO strings and nothing."""

from __future__ import annotations

from datetime import date, datetime

from engine.documents.render import french_date, french_datetime


def _parsed(value: date | datetime | str | None) -> date | datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value


def date_fr(value: date | datetime | str | None) -> str:
    """« 1er mars 2026 », « 30 novembre 2026 » (Paris time); empty for no date."""
    when = _parsed(value)
    return french_date(when) if when is not None else ""


def datetime_fr(value: datetime | str | None) -> str:
    """« 30 novembre 2026 à 14 h 05 » (Paris time); a bare date reads as a date."""
    when = _parsed(value)
    if isinstance(when, datetime):
        return french_datetime(when)
    return date_fr(when)
