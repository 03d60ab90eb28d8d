"""Legal review of an administrator's need to know which situation an instance serves.

The platform administrator runs instances without seeing their situation (case id). When
an operation needs it (an incident to investigate with the organisation, a judicial
requisition about a protocol), the administrator asks, with a reason; a professional of the
organisation that holds the situation — not an administrator, not the person who asked —
approves or refuses. Approved, the case id is shown to that administrator for
`DISCLOSURE_DAYS` days; the situation's content stays out of reach (`visible_case` is
unchanged). Every request, answer and refusal is audited.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.audit import service as audit
from engine.cases.errors import DisclosureAlreadyAnswered, DisclosureNotFound, DisclosureRefused
from engine.cases.models import Case, CaseDisclosure
from engine.db import UnitOfWork
from engine.errors import Invalid
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role

DISCLOSURE_DAYS = 30
REASON_MAX = 500


def request(uow: UnitOfWork, principal: Principal, case_id: int, reason: str,
            instance_id: int | None = None) -> CaseDisclosure:
    """An administrator asks to see the case of an instance, saying why. Audited."""
    require_role(principal, Role.ADMIN)
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise Invalid("Motif invalide.", errors=[{
            "field": "reason",
            "message": f"Indiquez le motif de la demande ({REASON_MAX} caractères au plus)."}])
    case = uow.session.get(Case, case_id)
    row = CaseDisclosure(case_id=case_id, instance_id=instance_id, reason=reason,
                         requested_by=principal.user_id, requested_at=uow.now())
    uow.session.add(row)
    uow.session.flush()
    audit.append(uow, principal.actor, "case.disclosure_requested", subject_type="case",
                 subject_id=case_id, organisation_id=case.organisation_id if case else None,
                 disclosure=row.id, instance=instance_id)
    return row


def pending(uow: UnitOfWork, principal: Principal) -> list[CaseDisclosure]:
    """Requests waiting for an answer from the principal's organisations."""
    organisations = sorted({g.organisation_id for g in principal.grants
                            if g.role != Role.ADMIN})
    if not organisations:
        return []
    stmt = (select(CaseDisclosure).join(Case, Case.id == CaseDisclosure.case_id)
            .where(CaseDisclosure.answered_at.is_(None),
                   Case.organisation_id.in_(organisations))
            .order_by(CaseDisclosure.id))
    return list(uow.session.scalars(stmt))


def answer(uow: UnitOfWork, principal: Principal, disclosure_id: int,
           approve: bool) -> CaseDisclosure:
    """A professional of the case's organisation approves or refuses, once. Audited."""
    row = uow.session.get(CaseDisclosure, disclosure_id)
    case = uow.session.get(Case, row.case_id) if row is not None else None
    if row is None or case is None or not _may_answer(principal, case):
        raise DisclosureNotFound("Demande introuvable.")
    if principal.user_id == row.requested_by:
        raise DisclosureRefused("La personne qui a demandé ne peut pas répondre à sa propre "
                                "demande.")
    if row.answered_at is not None:
        raise DisclosureAlreadyAnswered("Cette demande a déjà reçu une réponse.")
    now = uow.now()
    row.answered_by, row.approved, row.answered_at = principal.user_id, approve, now
    row.expires_at = now + timedelta(days=DISCLOSURE_DAYS) if approve else None
    audit.append(uow, principal.actor, "case.disclosure_answered", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id,
                 disclosure=row.id, approved=approve, requested_by=row.requested_by)
    return row


def disclosed(uow: UnitOfWork, principal: Principal, case_id: int) -> bool:
    """Whether an approved, unexpired disclosure shows this case id to the principal."""
    if not principal.has_role(Role.ADMIN):
        return False
    stmt = select(CaseDisclosure.id).where(
        CaseDisclosure.case_id == case_id, CaseDisclosure.requested_by == principal.user_id,
        CaseDisclosure.approved.is_(True), CaseDisclosure.expires_at > uow.now()).limit(1)
    return uow.session.scalar(stmt) is not None


def _may_answer(principal: Principal, case: Case) -> bool:
    return any(g.organisation_id == case.organisation_id and g.role != Role.ADMIN
               for g in principal.grants)
