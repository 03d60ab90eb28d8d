"""The transmission policy: may this document leave, and on what does it rest?

Guarantees (`authorize`):
- It reads only; auditing the answer is the caller's job (routing audits every transmission
  and every refusal).
- Capabilities come first and bind every basis: `HEALTH` only to health organisations (or
  to a victim-support association under an explicit consent), `OFF` only to organisations
  flagged `offence_data_authorised` — the recipient, and the sending holder too (loi
  Informatique et libertés art. 46).
- Without `legal_basis_record`, only a consent authorises: a consent of the case, recorded
  by the sending organisation, not superseded by a newer version, whose person's latest
  decision for this purpose and recipient is `granted`, given no later than `at`, neither
  expired nor withdrawn at `at`, naming this purpose and this recipient organisation and
  covering every data category sent.
- With `legal_basis_record` (the id of a `base_legale.json` submission of the case), only
  that legal basis authorises, never a consent: the basis exists in the catalogue, the
  record's author holds one of its roles (in the organisation the record was made for), the
  justification is written, the information step is one the basis accepts (with its reason
  when the person was not informed), the recipient's kind is allowed (and, for a basis of
  shared secrecy, the recipient role is bound by professional secrecy — or, with no role,
  the organisation is flagged `bound_by_secrecy`); an informed objection is recorded and
  shown and blocks only a basis whose `objection_blocks` says so; every category is one the
  basis carries, and a basis that needs a legal review has an approved review recorded
  before `at` by another person than the record's author.
- Anything else raises `ConsentRefused` (403) with a stable code and a French explanation
  of what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.cases.models import Case, CaseRecord
from engine.consent.catalogue import (
    LEGAL_BASES,
    NOT_INFORMED,
    LegalBasis,
    capability_problem,
    holder_problem,
)
from engine.consent.errors import ConsentRefused, LegalBasisRefused
from engine.consent.models import Consent, LegalReview
from engine.db import UnitOfWork
from engine.documents.render import french_date
from engine.identity.models import (
    ORGANISATION_KIND_LABELS,
    Membership,
    Organisation,
    OrganisationKind,
)
from engine.identity.roles import ROLE_LABELS, Role, bound_by_secrecy

GRANTED, REFUSED = "granted", "refused"
APPROVED, REJECTED = "approved", "rejected"
LEGAL_BASIS_FORM = "base_legale.json"


@dataclass(frozen=True)
class Authorization:
    """What a transmission rests on: a consent (row id and public uid) or a legal basis
    (its code and the record invoking it). `given_at` is when the consent was given or the
    basis invoked."""

    consent_id: int | None
    consent_uid: str | None
    given_at: datetime
    legal_basis: str | None = None
    legal_basis_record: int | None = None
    information: str | None = None
    objection: str | None = None

    @property
    def explanation(self) -> str:
        """In French, for documents and answers: « consentement recueilli le … » or
        « base légale : … (référence) », with the person's informed objection if any."""
        if self.legal_basis is None:
            return f"consentement recueilli le {french_date(self.given_at)}"
        basis = LEGAL_BASES[self.legal_basis]
        text = f"base légale : {basis.label} ({basis.reference})"
        if self.objection is not None:
            text += (" ; la personne, informée, s'y est opposée (« " + self.objection
                     + " ») : opposition consignée, elle ne fait pas obstacle à la "
                     "transmission")
        return text


@dataclass(frozen=True)
class _Request:
    sender_org_id: int
    recipient: Organisation
    purpose: str
    categories: frozenset[str]
    at: datetime
    recipient_role: str | None = None


def authorize(uow: UnitOfWork, case: Case, sender_org_id: int, recipient_org_id: int,
              purpose: str, categories: Iterable[str], at: datetime, *,
              legal_basis_record: int | None = None,
              recipient_role: str | None = None) -> Authorization:
    """The consent or legal basis authorising this transmission at `at`, or ConsentRefused
    (LegalBasisRefused for a legal basis) saying why not. See the module guarantees."""
    recipient = uow.session.get(Organisation, recipient_org_id)
    sender = uow.session.get(Organisation, sender_org_id)
    if recipient is None or sender is None:
        raise ConsentRefused("consent_out_of_scope", "Destinataire inconnu : aucune "
                             "transmission possible.")
    request = _Request(sender_org_id, recipient, purpose, frozenset(categories), at,
                       recipient_role)
    problem = holder_problem(sender, request.categories) or capability_problem(
        recipient, request.categories, by_consent=legal_basis_record is None)
    if problem is not None:
        raise ConsentRefused(problem.code, problem.message)
    if legal_basis_record is not None:
        return _on_legal_basis(uow, case, request, legal_basis_record)
    return _on_consent(uow, case, request)


# --- consents ------------------------------------------------------------------------------

def _list(raw: str) -> list[Any]:
    return json.loads(raw)


def in_force_versions(consents: list[Consent], at: datetime) -> list[Consent]:
    """Consents given by `at` and not replaced by a newer version given by `at`."""
    given = [c for c in consents if c.given_at <= at]
    replaced = {c.supersedes_id for c in given if c.supersedes_id is not None}
    return [c for c in given if c.id not in replaced]


def _case_consents(uow: UnitOfWork, case: Case) -> list[Consent]:
    return list(uow.session.scalars(select(Consent).where(Consent.case_id == case.id)
                                    .order_by(Consent.given_at, Consent.id)))


def _on_consent(uow: UnitOfWork, case: Case, request: _Request) -> Authorization:
    consents = in_force_versions(_case_consents(uow, case), request.at)
    named = [c for c in consents if _names(c, request)]
    if named and named[-1].decision == REFUSED:
        raise ConsentRefused("consent_refused", _refused_message(named[-1], request),
                             consent_id=named[-1].id)
    covering = [c for c in named if c.decision == GRANTED and _covers(c, request)]
    for consent in reversed(covering):
        if is_live(consent, request.at):
            return Authorization(consent.id, consent.uid, consent.given_at)
    if covering:
        raise _dead(covering[-1], request)
    granted = [c for c in consents if c.decision == GRANTED]
    if not granted:
        raise ConsentRefused("consent_missing", _missing_message(request))
    closest = ([c for c in named if c.decision == GRANTED] or granted)[-1]
    raise ConsentRefused("consent_out_of_scope", _scope_message(closest, request),
                         consent_id=closest.id)


def _names(consent: Consent, request: _Request) -> bool:
    return request.purpose in _list(consent.purposes) \
        and request.recipient.id in _list(consent.recipients)


def _covers(consent: Consent, request: _Request) -> bool:
    return request.categories <= set(_list(consent.categories)) \
        and consent.organisation_id == request.sender_org_id


def is_live(consent: Consent, at: datetime) -> bool:
    """Neither withdrawn nor expired at `at` (the decision itself is not looked at)."""
    return (consent.withdrawn_at is None or consent.withdrawn_at > at) \
        and (consent.expires_at is None or consent.expires_at > at)


def _dead(consent: Consent, request: _Request) -> ConsentRefused:
    given = french_date(consent.given_at)
    if consent.withdrawn_at is not None and consent.withdrawn_at <= request.at:
        return ConsentRefused(
            "consent_withdrawn",
            f"Le consentement recueilli le {given} a été retiré le "
            f"{french_date(consent.withdrawn_at)} : la transmission à "
            f"{request.recipient.name} n'est plus autorisée.", consent_id=consent.id)
    assert consent.expires_at is not None
    return ConsentRefused(
        "consent_expired",
        f"Le consentement recueilli le {given} a expiré le {french_date(consent.expires_at)} : "
        f"recueillez à nouveau celui de la personne avant de transmettre à "
        f"{request.recipient.name}.", consent_id=consent.id)


def _missing_message(request: _Request) -> str:
    return ("Aucun consentement n'a été recueilli pour cette situation : recueillez celui de "
            f"la personne avant toute transmission à {request.recipient.name} "
            f"(finalité « {request.purpose} »), ou invoquez une base légale.")


def _refused_message(consent: Consent, request: _Request) -> str:
    return (f"La personne a refusé le {french_date(consent.given_at)} la transmission à "
            f"{request.recipient.name} pour la finalité « {request.purpose} » : rien n'est "
            "envoyé.")


def _scope_message(consent: Consent, request: _Request) -> str:
    """What the latest granted consent lacks, in French."""
    lacks = []
    if request.recipient.id not in _list(consent.recipients):
        lacks.append(f"la transmission à {request.recipient.name}")
    if request.purpose not in _list(consent.purposes):
        lacks.append(f"la finalité « {request.purpose} »")
    missing = sorted(request.categories - set(_list(consent.categories)))
    if missing:
        lacks.append("les catégories de données " + ", ".join(missing))
    if consent.organisation_id != request.sender_org_id:
        lacks.append("un envoi par une autre organisation que celle qui l'a recueilli")
    return (f"Le consentement recueilli le {french_date(consent.given_at)} ne couvre pas "
            + " ni ".join(lacks) + " : recueillez un consentement qui les couvre.")


# --- legal bases ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Invocation:
    """A checked `base_legale.json` record: the basis, the record, its information step."""

    basis: LegalBasis
    record: CaseRecord
    information: str
    objection: str | None = None


def _labels(roles: Iterable[str]) -> str:
    return ", ".join(sorted(ROLE_LABELS[Role(r)] if r in Role.__members__ else r
                            for r in roles))


def legal_basis_record(uow: UnitOfWork, case: Case, record_id: Any) -> CaseRecord:
    """The `base_legale.json` record `record_id` of `case`, or LegalBasisRefused
    (`legal_basis_invalid`)."""
    record = uow.session.get(CaseRecord, record_id) \
        if isinstance(record_id, int) and not isinstance(record_id, bool) else None
    if record is None or record.case_id != case.id or record.form != LEGAL_BASIS_FORM:
        raise LegalBasisRefused(
            "legal_basis_invalid", "La base légale invoquée est introuvable : indiquez la "
            f"saisie du formulaire {LEGAL_BASIS_FORM} de cette situation (record_<tâche>).")
    return record


def check_invocation(uow: UnitOfWork, case: Case, record: CaseRecord,
                     at: datetime) -> Invocation:
    """Check what does not depend on the recipient: the basis exists, its author may invoke
    it, the justification and the information step are recorded. LegalBasisRefused else."""
    if record.created_at > at:
        raise LegalBasisRefused("legal_basis_invalid", "La base légale n'était pas encore "
                                "invoquée à cette date.", record_id=record.id)
    payload = cases.read_record(uow, SYSTEM, case, record, audited=False)
    basis = LEGAL_BASES.get(payload.get("legal_basis"))  # type: ignore[arg-type]
    if basis is None:
        raise LegalBasisRefused("legal_basis_unknown", "Base légale inconnue : choisissez-en "
                                "une du catalogue (" + ", ".join(sorted(LEGAL_BASES)) + ").",
                                record_id=record.id)
    _check_author(uow, basis, record)
    justification = payload.get("justification")
    if not isinstance(justification, str) or not justification.strip():
        raise LegalBasisRefused(
            "legal_basis_justification_missing", f"La base légale « {basis.label} » "
            "doit être justifiée : écrivez pourquoi la transmission est nécessaire.",
            record_id=record.id, legal_basis=basis.code)
    information = payload.get("information")
    reason = payload.get("information_reason")
    if information not in basis.information or (
            information == NOT_INFORMED and not (isinstance(reason, str) and reason.strip())):
        raise LegalBasisRefused(
            "legal_basis_information_missing", f"Étape d'information non respectée pour "
            f"« {basis.label} » ({basis.reference}) : {basis.information_rule}. Indiquez-la "
            "dans le formulaire (et le motif si la personne n'est pas informée).",
            record_id=record.id, legal_basis=basis.code)
    return Invocation(basis, record, str(information), _objection(basis, record, payload))


def _objection(basis: LegalBasis, record: CaseRecord, payload: dict[str, Any]) -> str | None:
    """The person's informed objection, as recorded (None when they did not object). It is
    shown with the transmission; it stops only a basis whose `objection_blocks` says so."""
    if payload.get("objection") is not True:
        return None
    if basis.objection_blocks:
        raise LegalBasisRefused(
            "legal_basis_objection", f"La personne s'oppose à la transmission : « "
            f"{basis.label} » ({basis.reference}) ne permet pas de passer outre.",
            record_id=record.id, legal_basis=basis.code)
    detail = payload.get("objection_detail")
    return detail.strip() if isinstance(detail, str) and detail.strip() \
        else "opposition exprimée sans motif"


def _check_author(uow: UnitOfWork, basis: LegalBasis, record: CaseRecord) -> None:
    roles = set(uow.session.scalars(select(Membership.role).where(
        Membership.user_id == record.created_by,
        Membership.organisation_id == record.organisation_id))) \
        if record.created_by is not None else set()
    if not roles & basis.roles:
        raise LegalBasisRefused(
            "legal_basis_role", f"La base légale « {basis.label} » ({basis.reference}) ne "
            f"peut être invoquée que par : {_labels(basis.roles)}. L'auteur de la saisie "
            "n'a pas ce rôle : rien n'est transmis.", record_id=record.id,
            legal_basis=basis.code)


def _check_recipient(basis: LegalBasis, request: _Request, record: CaseRecord) -> None:
    recipient = request.recipient
    allowed_kind = recipient.kind in basis.recipient_kinds
    if not allowed_kind or (basis.requires_secrecy and not _bound(request)):
        kinds = ", ".join(sorted(ORGANISATION_KIND_LABELS[OrganisationKind(k)].lower()
                                 for k in basis.recipient_kinds))
        why = (f"elle ne vaut que pour les destinataires de type {kinds}" if not allowed_kind
               else "elle ne vaut que pour les professionnels tenus au secret professionnel, "
               f"et le destinataire désigné chez {recipient.name} n'en fait pas partie")
        raise LegalBasisRefused(
            "legal_basis_recipient", f"La base légale « {basis.label} » ({basis.reference}) "
            f"ne permet pas de transmettre à {recipient.name} : {why}.",
            record_id=record.id, legal_basis=basis.code)
    extra = sorted(request.categories - basis.categories)
    if extra:
        raise LegalBasisRefused(
            "legal_basis_categories", f"La base légale « {basis.label} » ne permet de "
            f"transmettre que les données strictement nécessaires "
            f"({', '.join(sorted(basis.categories))}) : retirez {', '.join(extra)}.",
            record_id=record.id, legal_basis=basis.code)


def _bound(request: _Request) -> bool:
    """Professional secrecy binds people by their role: a transmission addressed to a role
    is judged on that role; one addressed to the whole organisation, on its flag."""
    if request.recipient_role is not None:
        return bound_by_secrecy(request.recipient_role, request.recipient)
    return request.recipient.bound_by_secrecy


def review_of(uow: UnitOfWork, record_id: int) -> LegalReview | None:
    return uow.session.scalars(select(LegalReview).where(
        LegalReview.legal_basis_record_id == record_id)).first()


def _check_review(uow: UnitOfWork, basis: LegalBasis, record: CaseRecord,
                  at: datetime) -> None:
    if not basis.requires_review:
        return
    review = review_of(uow, record.id)
    if review is not None and review.decision == REJECTED:
        raise LegalBasisRefused(
            "legal_basis_review_rejected", f"La revue juridique a écarté la {basis.label.lower()} "
            f"le {french_date(review.decided_at or at)} : rien n'est transmis.",
            record_id=record.id, legal_basis=basis.code)
    if review is not None and review.decision == APPROVED \
            and review.decided_by == record.created_by:
        raise LegalBasisRefused(
            "legal_basis_review_same_person", f"« {basis.label} » doit être contrôlée par un "
            "autre professionnel que celui qui l'a préparée : rien n'est transmis.",
            record_id=record.id, legal_basis=basis.code)
    if review is None or review.decision != APPROVED or review.decided_at is None \
            or review.decided_at > at:
        raise LegalBasisRefused(
            "legal_basis_review_pending", f"« {basis.label} » ({basis.reference}) n'est "
            "jamais traitée automatiquement : une revue juridique doit d'abord l'approuver "
            "(ouverte par relais/invoke_legal_basis, tranchée par relais/answer_legal_review "
            "ou par l'API).", record_id=record.id, legal_basis=basis.code)


def _on_legal_basis(uow: UnitOfWork, case: Case, request: _Request,
                    record_id: int) -> Authorization:
    record = legal_basis_record(uow, case, record_id)
    invocation = check_invocation(uow, case, record, request.at)
    _check_recipient(invocation.basis, request, record)
    _check_review(uow, invocation.basis, record, request.at)
    return Authorization(None, None, record.created_at, invocation.basis.code, record.id,
                         invocation.information, invocation.objection)
