"""Errors of the dossiers domain (stable codes, French messages)."""

from __future__ import annotations

from engine.errors import Invalid, NotFound, RelaisError


class DossierInvalid(Invalid):
    code = "dossier_invalid"


class PieceNotFound(NotFound):
    code = "piece_not_found"

    def __init__(self, message: str = "Document introuvable.", **kw):
        super().__init__(message, **kw)


class AlreadyFiled(RelaisError):
    """A decided refusal, not a `Conflict` (which the outbox would retry)."""

    code = "delivery_already_filed"
    status = 409
