"""Work pages show dates in French words, in Paris time."""

from __future__ import annotations

from datetime import UTC, date, datetime

from engine.web.ui.formats import date_fr, datetime_fr


def test_dates_read_in_french():
    assert date_fr(date(2026, 11, 30)) == "30 novembre 2026"
    assert date_fr("2027-05-30") == "30 mai 2027"
    assert date_fr(date(2026, 3, 1)) == "1er mars 2026"
    assert date_fr(None) == "" and date_fr("") == ""


def test_instants_are_shown_in_paris_time():
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already the new year in Paris
    assert date_fr(late) == "1er janvier 2027"
    assert datetime_fr(late) == "1er janvier 2027 à 0 h 30"
    assert datetime_fr("2026-08-14T08:05:00+00:00") == "14 août 2026 à 10 h 05"
