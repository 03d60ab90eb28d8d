"""Errors shared by every domain. Each carries a stable `code` and a French message.

Domains subclass `RelaisError` in their own `errors.py`; the web layer turns them into French
pages or RFC 9457 problem documents without knowing any business rule.
"""

from __future__ import annotations


class RelaisError(Exception):
    """Base of every expected error: `code` is stable, `message` is French and says what to do."""

    status = 400
    code = "relais_error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class ConfigurationError(RelaisError):
    code = "configuration_error"
    status = 500


class NotFound(RelaisError):
    code = "not_found"
    status = 404


class Forbidden(RelaisError):
    code = "forbidden"
    status = 403


class Conflict(RelaisError):
    code = "conflict"
    status = 409


class Invalid(RelaisError):
    """Input that fails validation; `errors` lists per-field French messages."""

    code = "validation_failed"
    status = 422

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None, **kw):
        super().__init__(message, **kw)
        self.errors = errors or []
