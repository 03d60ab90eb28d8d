"""French dates on the work pages: « 30 novembre 2026 », never an ISO date."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")


def _as_date_time(value: date | datetime | str | None) -> date | datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(PARIS)
    return value


def date_fr(value: date | datetime | str | None) -> str:
    """« 1er mars 2026 », « 30 novembre 2026 »; empty for no date."""
    when = _as_date_time(value)
    if when is None:
        return ""
    day = "1er" if when.day == 1 else str(when.day)
    return f"{day} {MONTHS[when.month - 1]} {when.year}"


def datetime_fr(value: datetime | str | None) -> str:
    """« 30 novembre 2026 à 14 h 05 »."""
    when = _as_date_time(value)
    if not isinstance(when, datetime):
        return date_fr(when)
    return f"{date_fr(when)} à {when.hour} h {when.minute:02d}"
