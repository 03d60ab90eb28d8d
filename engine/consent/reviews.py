"""Legal-basis invocations and their legal review.

Guarantees:
- A legal basis needing review (`requisition_60_1`) never authorises before a human records
  an approving answer (`policy.authorize` checks it); the review is opened once per
  `base_legale.json` record, and answered once (409 after).
- Four eyes: the answer comes from another person than the one who invoked the basis,
  holding a reviewer role of the basis in the invoking organisation; its audit row names
  both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.audit import service as audit
from engine.audit.service import Actor
from engine.cases.models import Case
from engine.consent import policy
from engine.consent.catalogue import LEGAL_BASES
from engine.consent.errors import ConsentInvalid, ReviewAlreadyAnswered
from engine.consent.models import LegalReview
from engine.consent.policy import APPROVED, REJECTED
from engine.db import UnitOfWork
from engine.errors import NotFound
from engine.identity.errors import PermissionDenied
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class Invoked:
    """A legal basis invoked in a record; `review` when it needs one (pending or answered)."""

    legal_basis: str
    record_id: int
    information: str
    review: LegalReview | None


def invoke_legal_basis(uow: UnitOfWork, actor: Actor, case: Case, record_id: Any) -> Invoked:
    """Check the `base_legale.json` record `record_id` (basis, author's role, justification,
    information step) and, for a basis never answered automatically, open its legal review
    (once per record). Audited. Raises LegalBasisRefused with the stable code."""
    record = policy.legal_basis_record(uow, case, record_id)
    invocation = policy.check_invocation(uow, case, record, uow.now())
    review = policy.review_of(uow, record.id)
    if invocation.basis.requires_review and review is None:
        review = LegalReview(case_id=case.id, organisation_id=record.organisation_id,
                             legal_basis=invocation.basis.code,
                             legal_basis_record_id=record.id, opened_at=uow.now(),
                             opened_by=record.created_by)
        uow.session.add(review)
        uow.session.flush()
        audit.append(uow, actor, "consent.legal_review_opened", subject_type="case",
                     subject_id=case.id, organisation_id=record.organisation_id,
                     review=review.id, legal_basis=invocation.basis.code, record=record.id)
    audit.append(uow, actor, "consent.legal_basis_invoked", subject_type="case",
                 subject_id=case.id, organisation_id=record.organisation_id,
                 legal_basis=invocation.basis.code, record=record.id,
                 information=invocation.information, author=record.created_by,
                 review=review.id if review else None)
    return Invoked(invocation.basis.code, record.id, invocation.information, review)


def visible_review(uow: UnitOfWork, principal: Principal, review_id: int) -> LegalReview:
    review = uow.session.get(LegalReview, review_id)
    if review is None or not principal.works_for(review.organisation_id):
        raise NotFound("Revue juridique introuvable.", code="legal_review_not_found")
    return review


def pending_reviews(uow: UnitOfWork, principal: Principal) -> list[LegalReview]:
    """The legal reviews still waiting for an answer, oldest first, for the administration
    console (ids, bases and dates only: the administrator reads no situation and cannot
    answer; a reviewer of the organisation does, `answer_legal_review`)."""
    require_role(principal, Role.ADMIN)
    return list(uow.session.scalars(select(LegalReview).where(LegalReview.decision.is_(None))
                                    .order_by(LegalReview.opened_at, LegalReview.id)))


def reviews_of(uow: UnitOfWork, case: Case) -> list[LegalReview]:
    return list(uow.session.scalars(select(LegalReview).where(LegalReview.case_id == case.id)
                                    .order_by(LegalReview.id)))


def require_reviewer(principal: Principal, review: LegalReview) -> None:
    """Four eyes: the reviewer is another person than the one who invoked the basis (the
    author of the `base_legale.json` record), holding one of the basis's reviewer roles in
    the organisation that invoked it.

    The reviewer roles (`LegalBasis.reviewer_roles`: for a requisition, the professionals of
    the social and health side bound by secrecy — IS, association, departmental social
    action and ITP secretariat, CMP, psychologist) are those who can read the case and
    judge what its answer discloses. Never the requesting side (police, gendarmerie, DPP:
    they issue the requisition and cannot approve its answer), nor the administrator (runs
    the platform, follows no situation and may not read it). PermissionDenied otherwise."""
    basis = LEGAL_BASES[review.legal_basis]
    if not any(principal.has_role(role, review.organisation_id)
               for role in basis.reviewer_roles):
        raise PermissionDenied("Vous n'avez pas le rôle nécessaire pour trancher cette revue "
                               "juridique.", code="legal_review_role")
    if review.opened_by is not None and review.opened_by == principal.user_id:
        raise PermissionDenied("La personne qui a invoqué la réquisition ne peut pas trancher "
                               "sa propre revue juridique : une autre personne habilitée de "
                               "l'organisation doit la relire.", code="legal_review_same_person")


def answer_legal_review(uow: UnitOfWork, principal: Principal, review: LegalReview,
                        decision: str, *, answer_record: int | None = None) -> LegalReview:
    """A human's answer to a legal review (`approved` or `rejected`), once (409 after), by a
    reviewer (`require_reviewer`: another person than the invoker, holding a reviewer role
    of the basis in the organisation that invoked it). The answer's audit row names both."""
    require_reviewer(principal, review)
    if decision not in (APPROVED, REJECTED):
        raise ConsentInvalid("Réponse inconnue : approuvée (approved) ou écartée (rejected).",
                             code="legal_review_invalid")
    if uow.dialect == "postgresql":
        uow.session.refresh(review, with_for_update=True)
    if review.decision is not None:
        raise ReviewAlreadyAnswered("Cette revue juridique a déjà été tranchée.")
    review.decision, review.decided_at = decision, uow.now()
    review.decided_by, review.answer_record_id = principal.user_id, answer_record
    audit.append(uow, principal.actor, "consent.legal_review_answered", subject_type="case",
                 subject_id=review.case_id, organisation_id=review.organisation_id,
                 review=review.id, decision=decision, legal_basis=review.legal_basis,
                 record=review.legal_basis_record_id, answer_record=answer_record,
                 invoked_by=review.opened_by, reviewed_by=principal.user_id)
    return review


def describe_review(review: LegalReview) -> dict[str, Any]:
    return {"id": review.id, "case_id": review.case_id, "legal_basis": review.legal_basis,
            "legal_basis_record": review.legal_basis_record_id,
            "status": review.decision or "pending", "opened_at": review.opened_at.isoformat(),
            "decided_at": _iso(review.decided_at), "decided_by": review.decided_by}
