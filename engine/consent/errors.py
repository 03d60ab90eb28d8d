"""Consent errors. A refusal says, in French, what is missing; its `code` is stable."""

from __future__ import annotations

from engine.errors import Forbidden, RelaisError


class ConsentInvalid(RelaisError):
    """A consent that cannot be recorded as given (unknown category, recipient, channel…)."""

    code = "consent_invalid"
    status = 422


class ConsentRefused(Forbidden):
    """No recorded consent authorises this transmission; nothing was sent.

    Stable codes: `consent_missing` (no consent of the case for this purpose and recipient),
    `consent_refused` (the person's latest decision for them is a refusal),
    `consent_withdrawn`, `consent_expired`, `consent_out_of_scope` (a consent exists but does
    not cover this recipient, purpose, data categories or sender).
    """

    code = "consent_missing"
    status = 403

    def __init__(self, code: str, message: str, *, consent_id: int | None = None):
        super().__init__(message, code=code)
        self.consent_id = consent_id
