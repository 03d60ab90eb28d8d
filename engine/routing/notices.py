"""Notices to the holders of copies: when the consent a delivered document rests on is
withdrawn, or the case it comes from is destroyed, every recipient organisation holding a
copy is told (in its inbox's notices) to stop using it and delete what it made of it.

Guarantees:
- One notice per delivered copy (sealed but never delivered ones are not held by anyone),
  addressed like the delivery (its organisation, and role when it targeted one); the cascade
  is audited once (`consent.holders_notified`: delivery ids, never content).
- A principal sees only the notices of their organisations, for a role they hold there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from engine.audit import service as audit
from engine.audit.service import Actor
from engine.db import UnitOfWork
from engine.identity.service import Principal
from engine.routing import service as routing
from engine.routing.models import ConsentNotice

NOTICE_WITHDRAWN, NOTICE_DESTROYED = "consent_withdrawn", "data_destroyed"


def notify_holders(uow: UnitOfWork, actor: Actor, *, case_id: int, organisation_id: int,
                   kind: str, consent_id: int | None) -> tuple[int, ...]:
    """One notice per delivered copy (of `consent_id`, or of the whole case) to its
    recipient; the ids of the deliveries concerned."""
    notified: list[int] = []
    for delivery in routing.deliveries_of_case(uow, case_id, consent_id=consent_id):
        if delivery.status == routing.SEALED:
            continue
        uow.session.add(ConsentNotice(
            organisation_id=delivery.recipient_organisation_id,
            recipient_role=delivery.recipient_role, kind=kind, case_id=case_id,
            consent_id=delivery.consent_id, delivery_id=delivery.id, created_at=uow.now()))
        notified.append(delivery.id)
    if notified:
        uow.session.flush()
        audit.append(uow, actor, "consent.holders_notified", subject_type="case",
                     subject_id=case_id, organisation_id=organisation_id, kind=kind,
                     deliveries=notified, consent=consent_id)
    return tuple(notified)


def notices_for(uow: UnitOfWork, principal: Principal, limit: int = 200) -> list[dict[str, Any]]:
    """Notices to the caller's organisations, for a role they hold there (as the inbox)."""
    clauses = [(ConsentNotice.organisation_id == g.organisation_id)
               & (ConsentNotice.recipient_role.is_(None)
                  | (ConsentNotice.recipient_role == g.role)) for g in principal.grants]
    if not clauses:
        return []
    rows = uow.session.scalars(select(ConsentNotice).where(or_(*clauses))
                               .order_by(ConsentNotice.id.desc()).limit(limit))
    return [{"id": n.id, "kind": n.kind, "delivery_id": n.delivery_id,
             "consent_id": n.consent_id, "created_at": n.created_at.isoformat(),
             "message": _notice_message(n)} for n in rows]


def _notice_message(notice: ConsentNotice) -> str:
    if notice.kind == NOTICE_WITHDRAWN:
        return ("La personne a retiré le consentement sur lequel reposait cet envoi : ne "
                "l'utilisez plus et supprimez les copies que vous en auriez faites.")
    return ("Les données de cette situation ont été détruites : l'envoi ne peut plus être "
            "ouvert ; supprimez les copies que vous en auriez faites.")
