"""Paris time has one definition (engine.clock.paris) that agenda, ITP and documents share."""

from __future__ import annotations

from datetime import UTC, datetime

from engine import clock
from engine.agenda import service as agenda
from engine.documents import render
from engine.itp import service as itp


def test_paris_follows_french_summer_and_winter_time() -> None:
    assert datetime(2026, 1, 15, 12, tzinfo=UTC).astimezone(clock.paris()).hour == 13
    assert datetime(2026, 7, 15, 12, tzinfo=UTC).astimezone(clock.paris()).hour == 14


def test_the_domains_use_the_one_paris_of_the_clock() -> None:
    for module in (agenda, itp, render):
        assert module.paris is clock.paris
        assert not hasattr(module, "_paris")
