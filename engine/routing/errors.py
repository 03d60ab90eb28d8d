"""Routing errors, and the audit rows that refusals carry.

A refusal must be audited even though the transaction that was attempting the change is
rolled back: the mechanism (`RefusalAudit`, `attach`, `audit_records`) lives in
engine.audit.refusals and is re-exported here for routing's callers.
"""

from __future__ import annotations

from engine.audit.refusals import RefusalAudit, attach, audit_records
from engine.errors import Conflict, NotFound, RelaisError

__all__ = ["AlreadyAcknowledged", "DeliveryCorrupted", "DeliveryNotFound", "ReceiptInvalid",
           "RefusalAudit", "RoutingInvalid", "attach", "audit_records"]


class RoutingInvalid(RelaisError):
    """A transmission request that cannot be carried out as written (diagram, template…)."""

    code = "transmission_invalid"
    status = 422


class DeliveryNotFound(NotFound):
    """Unknown, or not visible to the caller: the same answer either way."""

    code = "delivery_not_found"

    def __init__(self) -> None:
        super().__init__("Envoi introuvable.")


class AlreadyAcknowledged(Conflict):
    code = "already_acknowledged"


class DeliveryCorrupted(RelaisError):
    """The stored copy fails its integrity check: nothing is returned."""

    code = "delivery_corrupted"
    status = 500


class ReceiptInvalid(RelaisError):
    """A receipt that does not prove what it claims (forged, altered, or for another envelope)."""

    code = "receipt_invalid"
    status = 422

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)
