"""Errors of the agenda domain."""

from __future__ import annotations

from engine.errors import Invalid


class AgendaInvalid(Invalid):
    code = "agenda_invalid"
