"""Working days in France (metropolitan calendar): what "5 jours ouvrés" means for a reminder.

Guarantees:
- a working day is Monday to Friday, public holidays excluded: 1 January, Easter Monday,
  1 May, 8 May, Ascension Thursday, Whit Monday, 14 July, 15 August, 1 November,
  11 November, 25 December (Easter computed, no table to keep up to date);
- days are counted in Europe/Paris (a delivery sent at 23:30 UTC on a Friday is sent on
  Saturday in Paris);
- `add_working_days(start, n)` is the same time of day as `start`, `n` working days later: a
  sheet sent on Monday 10:00 is due the next Monday 10:00, one sent on Friday 14 July is
  due as if sent the following Monday at the same hour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from engine.clock import paris


def easter(year: int) -> date:
    """Easter Sunday (Gregorian calendar, anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    sunday = easter(year)
    return frozenset({
        date(year, 1, 1), sunday + timedelta(days=1), date(year, 5, 1), date(year, 5, 8),
        sunday + timedelta(days=39), sunday + timedelta(days=50), date(year, 7, 14),
        date(year, 8, 15), date(year, 11, 1), date(year, 11, 11), date(year, 12, 25),
    })


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in public_holidays(day.year)


def add_working_days(start: datetime, days: int) -> datetime:
    """`start` moved forward by `days` working days (same local time), as an aware UTC instant."""
    if days < 0:
        raise ValueError("days must be positive")
    local = (start if start.tzinfo else start.replace(tzinfo=UTC)).astimezone(paris())
    day = local.date()
    while not is_working_day(day):  # sent on a day off: counts from the next working day
        day += timedelta(days=1)
    for _ in range(days):
        day += timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
    moved = datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=paris())
    return moved.astimezone(UTC)
