"""Per-request unit of work and principal: the only state views share."""

from __future__ import annotations

from flask import g

from engine.db import UnitOfWork
from engine.identity.service import Principal


def uow() -> UnitOfWork:
    """The request's unit of work, opened on first use and closed at teardown."""
    if "uow" not in g:
        from engine.web.app import database

        g.uow = database().unit_of_work()
    return g.uow


def principal() -> Principal:
    return g.principal


def current_principal() -> Principal | None:
    return g.get("principal")
