"""Consent errors. A refusal says, in French, what is missing; its `code` is stable."""

from __future__ import annotations

from engine.errors import Conflict, Forbidden, NotFound, RelaisError


class ConsentInvalid(RelaisError):
    """A consent that cannot be recorded as given (unknown category, recipient, channel…)."""

    code = "consent_invalid"
    status = 422


class ConsentNotFound(NotFound):
    """Unknown, or not visible to the caller: the same answer either way."""

    code = "consent_not_found"


class ConsentRefused(Forbidden):
    """No recorded consent (or legal basis) authorises this transmission; nothing was sent.

    Stable codes: `consent_missing` (no consent of the case for this purpose and recipient),
    `consent_refused` (the person's latest decision for them is a refusal),
    `consent_withdrawn`, `consent_expired`, `consent_out_of_scope` (a consent exists but does
    not cover this recipient, purpose, data categories or sender);
    `recipient_capability_health`, `recipient_capability_offence` (the recipient may not
    receive health or offence data at all, whatever the consent or basis).
    """

    code = "consent_missing"
    status = 403

    def __init__(self, code: str, message: str, *, consent_id: int | None = None):
        super().__init__(message, code=code)
        self.consent_id = consent_id


class LegalBasisRefused(ConsentRefused):
    """The legal basis invoked does not authorise this transmission; nothing was sent.

    Stable codes: `legal_basis_invalid` (no such `base_legale.json` record in the case),
    `legal_basis_unknown`, `legal_basis_role` (its author may not invoke it),
    `legal_basis_justification_missing`, `legal_basis_information_missing`,
    `legal_basis_recipient` (kind of organisation, or secrecy flag), `legal_basis_categories`
    (more than the basis carries), `legal_basis_review_pending`, `legal_basis_review_rejected`.
    """

    def __init__(self, code: str, message: str, *, record_id: int | None = None,
                 legal_basis: str | None = None):
        super().__init__(code, message)
        self.legal_basis_record = record_id
        self.legal_basis = legal_basis


class ReviewAlreadyAnswered(Conflict):
    code = "legal_review_answered"


class EvidenceInvalid(RelaisError):
    """A scanned consent form that cannot be kept (type, size)."""

    code = "evidence_invalid"
    status = 422
