"""Routing errors, and the audit rows that refusals carry.

A refusal must be audited even though the transaction that was attempting the change is
rolled back. So each routing refusal carries its audit rows (`RefusalAudit`) on the
exception: whoever rolls back writes them in the transaction that records the refusal —
`routing.service.refusals_committed` for direct callers and the web, the outbox's refusal
transaction for connectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.audit import service as audit
from engine.audit.service import Actor
from engine.db import UnitOfWork
from engine.errors import Conflict, NotFound, RelaisError


@dataclass(frozen=True)
class RefusalAudit:
    """One audit row to write when a refusal is recorded (ids and codes only)."""

    actor: Actor
    action: str
    subject_type: str | None
    subject_id: object
    organisation_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def append(self, uow: UnitOfWork) -> None:
        audit.append(uow, self.actor, self.action, subject_type=self.subject_type,
                     subject_id=self.subject_id, organisation_id=self.organisation_id,
                     **self.details)


def attach(exc: BaseException, record: RefusalAudit) -> BaseException:
    """Add `record` to the audit rows `exc` carries; returns `exc` (for `raise attach(…)`)."""
    exc.audit_records = (*getattr(exc, "audit_records", ()), record)  # type: ignore[attr-defined]
    return exc


def audit_records(exc: BaseException) -> tuple[RefusalAudit, ...]:
    return tuple(getattr(exc, "audit_records", ()))


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
