"""Errors of the ITP calendar (stable codes, French messages)."""

from __future__ import annotations

from engine.errors import Invalid, NotFound, RelaisError


class ItpInvalid(Invalid):
    code = "itp_invalid"


class SessionNotFound(NotFound):
    code = "itp_session_not_found"

    def __init__(self, message: str = "Séance ITP introuvable.", **kw):
        super().__init__(message, **kw)


class NoSessionAvailable(RelaisError):
    """Every open session from that date is full (or none is planned). A decided refusal
    (an incident to retry once sessions are opened), not a `Conflict` the outbox would retry."""

    code = "itp_no_session"
    status = 409
