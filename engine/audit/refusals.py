"""Refusals are audited although the refused change is rolled back.

Guarantees:
- `refuse` ends the caller's unit of work: rolled back, the refusal's audit row written and
  committed, then the exception is returned for the caller to raise. Without `commit` (a
  transactional connector, whose unit of work belongs to the outbox) the row travels on the
  exception (`attach`) and whoever records the refusal writes it (`audit_records`).
- `refuse_read` is the one way a service refuses a read: it audits `<domain>.access_refused`
  (actor, subject type and id, reason) and answers the caller's NotFound — the same 404 as
  an unknown id, so that probing reveals nothing but leaves a trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.audit import service as audit
from engine.audit.service import Actor
from engine.db import UnitOfWork
from engine.errors import NotFound

E = TypeVar("E", bound=BaseException)


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


def attach(exc: E, record: RefusalAudit) -> E:
    """Add `record` to the audit rows `exc` carries; returns `exc` (for `raise attach(…)`)."""
    exc.audit_records = (*getattr(exc, "audit_records", ()), record)  # type: ignore[attr-defined]
    return exc


def audit_records(exc: BaseException) -> tuple[RefusalAudit, ...]:
    return tuple(getattr(exc, "audit_records", ()))


def refuse(uow: UnitOfWork, exc: E, record: RefusalAudit, *, commit: bool = True) -> E:
    """Attach the refusal's audit row to `exc`; with `commit`, end the caller's unit of work:
    roll back whatever it held, write the row and commit it. Returns `exc` to raise."""
    attach(exc, record)
    if commit:
        uow.rollback()
        record.append(uow)
        uow.commit()
    return exc


def refuse_read(uow: UnitOfWork, actor: Actor, domain: str, subject_type: str,
                subject_id: object, not_found: NotFound, *, reason: str,
                **details: Any) -> NotFound:
    """Audit `<domain>.access_refused` for this subject and return `not_found` to raise."""
    record = RefusalAudit(actor, f"{domain}.access_refused", subject_type, subject_id, None,
                          {"reason": reason, **details})
    return refuse(uow, not_found, record)
