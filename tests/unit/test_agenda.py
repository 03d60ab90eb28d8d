"""Working days in France: what a "5 jours ouvrés" reminder means."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.agenda.service import add_working_days, easter, is_working_day, public_holidays


def test_easter_and_the_public_holidays_that_follow_it():
    assert easter(2026) == date(2026, 4, 5) and easter(2027) == date(2027, 3, 28)
    holidays = public_holidays(2027)
    # Easter Monday, Ascension, Whit Monday
    assert {date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17)} <= holidays
    assert len(holidays) == 11 and date(2027, 7, 14) in holidays


def test_weekends_and_public_holidays_are_not_working_days():
    assert is_working_day(date(2026, 11, 26))  # a Thursday
    assert not is_working_day(date(2026, 11, 28)) and not is_working_day(date(2026, 11, 29))
    assert not is_working_day(date(2026, 11, 11)) and not is_working_day(date(2026, 12, 25))


@pytest.mark.parametrize(("sent", "due"), [
    # Monday 10:00 Paris (09:00 UTC): the next Monday, same hour.
    (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
    # The week of 11 November counts one day less: due on Wednesday 18, not Tuesday 17.
    (datetime(2026, 11, 10, 9, 0, tzinfo=UTC), datetime(2026, 11, 18, 9, 0, tzinfo=UTC)),
    # Sent on a Saturday: counted from Monday.
    (datetime(2026, 11, 28, 9, 0, tzinfo=UTC), datetime(2026, 12, 7, 9, 0, tzinfo=UTC)),
    # Christmas week, then New Year's Day.
    (datetime(2026, 12, 23, 9, 0, tzinfo=UTC), datetime(2026, 12, 31, 9, 0, tzinfo=UTC)),
    (datetime(2026, 12, 28, 9, 0, tzinfo=UTC), datetime(2027, 1, 5, 9, 0, tzinfo=UTC)),
    # Friday 23:30 UTC is already Saturday 00:30 in Paris: due Monday 7 December, 00:30 Paris.
    (datetime(2026, 11, 27, 23, 30, tzinfo=UTC), datetime(2026, 12, 6, 23, 30, tzinfo=UTC)),
])
def test_five_working_days(sent: datetime, due: datetime):
    assert add_working_days(sent, 5) == due


def test_daylight_saving_keeps_the_local_hour():
    # Friday 23 October 2026, 10:00 in Paris (summer time) → Friday 30 October, 10:00 (winter).
    assert add_working_days(datetime(2026, 10, 23, 8, 0, tzinfo=UTC), 5) == \
        datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
