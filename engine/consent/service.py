"""Consent use cases: recording and versioning consents, their evidence, withdrawal and its
cascade, destruction requests, legal-basis invocations and their legal review, the notices
recipients receive, and (from `engine.consent.policy`) the transmission policy `authorize`.
The person's access export and retention live in `engine.consent.rights`.

Guarantees:
- A consent is one immutable decision of the person (granted or refused) for a case,
  recorded by a user of the case's organisation, for purposes of the catalogue; a change is
  a new version superseding the previous one; withdrawal only sets `withdrawn_at`. Every
  change is a `ConsentEvent` and an audit row (codes and ids only), in the caller's unit of
  work.
- Evidence (a scanned signed form) is kept only as a case record, encrypted under the case
  key: crypto-shredding the case destroys it too.
- Withdrawal blocks every later transmission resting on that consent (`authorize`), cancels
  the `relais/transmit_document` rows still pending in the outbox that no live consent
  covers any more (with an incident on their instance), leaves a notice to every
  organisation holding a copy sent under it, and sends the platform message
  `consentement_retire` to the case's instances. With `destroy`, the case is crypto-shredded.
- A destruction request makes everything the case holds unreadable for everyone — records,
  evidence, and the copies stored for recipients (they rest under the case key) — cancels
  the pending transmissions and notifies the holders of copies. Signed manifests, receipts
  and the audit chain stay verifiable.
- A legal basis needing review (`requisition_60_1`) never authorises before a human records
  an approving answer; the answer is given once.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

import forms
from engine import events
from engine.audit import service as audit
from engine.audit.service import Actor
from engine.cases import service as cases
from engine.cases.models import Case, CaseRecord
from engine.consent import policy
from engine.consent.catalogue import LEGAL_BASES, PURPOSES
from engine.consent.errors import (
    ConsentInvalid,
    ConsentNotFound,
    ConsentRefused,
    EvidenceInvalid,
    ReviewAlreadyAnswered,
)
from engine.consent.models import Consent, ConsentEvent, ConsentNotice, LegalReview
from engine.consent.policy import (  # noqa: F401 - the policy is part of this service
    APPROVED,
    GRANTED,
    REFUSED,
    REJECTED,
    Authorization,
    authorize,
)
from engine.db import UnitOfWork
from engine.documents.envelope import CODE_RE
from engine.errors import Conflict, NotFound
from engine.identity.errors import PermissionDenied
from engine.identity.models import Organisation
from engine.identity.roles import Role
from engine.identity.service import Principal

DECISIONS = frozenset({GRANTED, REFUSED})
CHANNELS = frozenset({"oral", "written", "electronic"})
PERSON_RE = re.compile(r"P[1-9][0-9]?")
DEFAULT_PERSON = "P1"
TRANSMIT_OPERATOR = "relais/transmit_document"
WITHDRAWN_MESSAGE = "consentement_retire"
EVIDENCE_KIND = "consent_evidence"
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
EVIDENCE_SIGNATURES = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n",
                       "image/jpeg": b"\xff\xd8\xff"}
NOTICE_WITHDRAWN, NOTICE_DESTROYED = "consent_withdrawn", "data_destroyed"


# --- who may act on a case's consents ------------------------------------------------------

def require_case_professional(principal: Principal, case: Case, what: str) -> None:
    """Only a professional (any role but ADMIN) of the organisation holding the case acts on
    its consents and the person's rights; administrators have no access of their own."""
    if not any(g.organisation_id == case.organisation_id and g.role != Role.ADMIN
               for g in principal.grants):
        raise PermissionDenied(f"Seule l'organisation qui suit la situation peut {what}.")


visible_case = cases.visible_case  # one rule for every domain (Principal.can_see)


def visible_consent(uow: UnitOfWork, principal: Principal, consent_id: int) -> Consent:
    consent = uow.session.get(Consent, consent_id)
    case = uow.session.get(Case, consent.case_id) if consent is not None else None
    if consent is None or case is None or not any(
            g.organisation_id == case.organisation_id and g.role != Role.ADMIN
            for g in principal.grants):
        raise ConsentNotFound("Consentement introuvable.")
    return consent


# --- recording and versions ----------------------------------------------------------------

def record_consent(uow: UnitOfWork, principal: Principal, case: Case, *,
                   purposes: Sequence[str], recipients: Sequence[str],
                   categories: Sequence[str], channel: str, decision: str = GRANTED,
                   given_at: datetime | None = None, expires_at: datetime | None = None,
                   person: str = DEFAULT_PERSON, supersedes: Consent | None = None) -> Consent:
    """Record the person's decision for `case` (recipients are organisation slugs). Audited.

    Only a user of the organisation holding the case records its consents; every code is
    checked (purposes of the catalogue, data categories, channel, decision, recipients that
    exist, the person's pseudonym `P1`…`P99`). With `supersedes`, the new consent is the next
    version of that one (same case and person), which stops authorising from `given_at`.
    Raises ConsentInvalid (422) with the reason, PermissionDenied otherwise.
    """
    if not any(g.organisation_id == case.organisation_id for g in principal.grants):
        raise PermissionDenied("Seule l'organisation qui suit la situation peut y recueillir "
                               "un consentement.")
    given = given_at or uow.now()
    _check_codes(purposes, categories, channel, decision)
    if not isinstance(person, str) or not PERSON_RE.fullmatch(person):
        raise ConsentInvalid("Personne concernée invalide : un pseudonyme P1, P2… est "
                             "attendu (jamais un nom).")
    if expires_at is not None and expires_at <= given:
        raise ConsentInvalid("La date d'expiration du consentement doit suivre celle du "
                             "recueil.", code="consent_invalid")
    version = _next_version(uow, case, person, supersedes)
    organisation_ids = _organisation_ids(uow, recipients)
    consent = Consent(uid=str(uuid.uuid4()), case_id=case.id,
                      organisation_id=case.organisation_id, person=person, version=version,
                      supersedes_id=supersedes.id if supersedes else None, decision=decision,
                      purposes=_json(purposes), recipients=json.dumps(sorted(organisation_ids)),
                      categories=_json(categories), channel=channel, given_at=given,
                      expires_at=expires_at, recorded_by=principal.user_id,
                      recorded_at=uow.now())
    uow.session.add(consent)
    uow.session.flush()
    add_event(uow, consent, "recorded", principal.user_id, version=version,
           supersedes=consent.supersedes_id)
    if supersedes is not None:
        add_event(uow, supersedes, "superseded", principal.user_id, by=consent.id)
    audit.append(uow, principal.actor, "consent.recorded", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id, consent=consent.id,
                 decision=decision, channel=channel, purposes=sorted(set(purposes)),
                 recipients=sorted(organisation_ids), categories=sorted(set(categories)),
                 expires_at=expires_at.isoformat() if expires_at else None, person=person,
                 version=version, supersedes=consent.supersedes_id)
    return consent


def amend_consent(uow: UnitOfWork, principal: Principal, consent: Consent,
                  **changes: Any) -> Consent:
    """A new version of `consent` with `changes` (purposes, recipients, categories, channel,
    decision, expires_at); what is not changed is carried over. The old version is kept,
    never overwritten, and stops authorising."""
    allowed = {"purposes", "recipients", "categories", "channel", "decision", "expires_at",
               "given_at"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ConsentInvalid(f"Modification impossible de : {', '.join(unknown)}.")
    case = cases.get_case(uow, consent.case_id)
    slugs = {o.id: o.slug for o in uow.session.scalars(select(Organisation).where(
        Organisation.id.in_(json.loads(consent.recipients))))}
    values: dict[str, Any] = {
        "purposes": json.loads(consent.purposes),
        "recipients": [slugs[i] for i in json.loads(consent.recipients) if i in slugs],
        "categories": json.loads(consent.categories), "channel": consent.channel,
        "decision": consent.decision, "expires_at": consent.expires_at}
    values.update(changes)
    return record_consent(uow, principal, case, person=consent.person, supersedes=consent,
                          **values)


def _next_version(uow: UnitOfWork, case: Case, person: str, supersedes: Consent | None) -> int:
    if supersedes is None:
        return 1
    if supersedes.case_id != case.id or supersedes.person != person:
        raise ConsentInvalid("Une nouvelle version doit concerner la même situation et la "
                             "même personne que celle qu'elle remplace.")
    if superseded_by(uow, supersedes) is not None:
        raise Conflict("Ce consentement a déjà été remplacé par une version plus récente : "
                       "modifiez la dernière version.", code="consent_superseded")
    return supersedes.version + 1


def superseded_by(uow: UnitOfWork, consent: Consent) -> Consent | None:
    return uow.session.scalars(select(Consent).where(Consent.supersedes_id == consent.id)
                               ).first()


def current_version(uow: UnitOfWork, consent: Consent) -> Consent:
    """The newest version of `consent`'s chain."""
    seen = {consent.id}
    while (newer := superseded_by(uow, consent)) is not None and newer.id not in seen:
        seen.add(newer.id)
        consent = newer
    return consent


def consents_of(uow: UnitOfWork, case: Case, person: str | None = None) -> list[Consent]:
    """Every consent of the case (of one person when given), every version, oldest first."""
    stmt = select(Consent).where(Consent.case_id == case.id)
    if person is not None:
        stmt = stmt.where(Consent.person == person)
    return list(uow.session.scalars(stmt.order_by(Consent.given_at, Consent.id)))


def history_of(uow: UnitOfWork, consent: Consent) -> list[ConsentEvent]:
    return list(uow.session.scalars(select(ConsentEvent).where(
        ConsentEvent.consent_id == consent.id).order_by(ConsentEvent.id)))


def status_of(uow: UnitOfWork, consent: Consent, at: datetime) -> str:
    """`refused`, `superseded`, `withdrawn`, `expired` or `active`, at `at`."""
    if consent.decision == REFUSED:
        return "refused"
    newer = superseded_by(uow, consent)
    if newer is not None and newer.given_at <= at:
        return "superseded"
    if consent.withdrawn_at is not None and consent.withdrawn_at <= at:
        return "withdrawn"
    if consent.expires_at is not None and consent.expires_at <= at:
        return "expired"
    return "active"


def describe(uow: UnitOfWork, consent: Consent) -> dict[str, Any]:
    """A consent for the API: codes, organisation slugs, ISO dates, its status now."""
    ids = json.loads(consent.recipients)
    slugs = {o.id: o.slug for o in uow.session.scalars(
        select(Organisation).where(Organisation.id.in_(ids)))}
    newer = superseded_by(uow, consent)
    return {
        "id": consent.id, "uid": consent.uid, "case_id": consent.case_id,
        "person": consent.person, "version": consent.version,
        "supersedes_id": consent.supersedes_id, "superseded_by_id": newer.id if newer else None,
        "decision": consent.decision, "status": status_of(uow, consent, uow.now()),
        "purposes": json.loads(consent.purposes),
        "recipients": [slugs.get(i, str(i)) for i in ids],
        "categories": json.loads(consent.categories), "channel": consent.channel,
        "given_at": consent.given_at.isoformat(), "expires_at": _iso(consent.expires_at),
        "withdrawn_at": _iso(consent.withdrawn_at), "recorded_by": consent.recorded_by,
        "recorded_at": consent.recorded_at.isoformat(),
        "evidence": evidence_record(uow, consent) is not None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def add_event(uow: UnitOfWork, consent: Consent, kind: str, user_id: int | None, *,
           record_id: int | None = None, **details: Any) -> ConsentEvent:
    event = ConsentEvent(consent_id=consent.id, kind=kind, at=uow.now(), by_user_id=user_id,
                         record_id=record_id, details=json.dumps(details, sort_keys=True))
    uow.session.add(event)
    uow.session.flush()
    return event


def _json(values: Iterable[str]) -> str:
    return json.dumps(sorted(set(values)), ensure_ascii=False)


def _check_codes(purposes: Sequence[str], categories: Sequence[str], channel: str,
                 decision: str) -> None:
    if not purposes or not all(isinstance(p, str) and CODE_RE.fullmatch(p) for p in purposes):
        raise ConsentInvalid("Indiquez au moins une finalité (un code, par exemple "
                             "« vc_transmission »).")
    unknown_purposes = sorted(set(purposes) - set(PURPOSES))
    if unknown_purposes:
        raise ConsentInvalid(f"Finalité inconnue ({', '.join(unknown_purposes)}) : choisissez "
                             f"parmi {', '.join(sorted(PURPOSES))}.")
    unknown = sorted(set(categories) - forms.CATEGORIES)
    if not categories or unknown:
        raise ConsentInvalid("Catégories de données absentes ou inconnues"
                             + (f" ({', '.join(map(str, unknown))})" if unknown else "")
                             + f" : choisissez parmi {', '.join(sorted(forms.CATEGORIES))}.")
    if channel not in CHANNELS:
        raise ConsentInvalid("Canal de recueil inconnu : oral, écrit (written) ou "
                             "électronique (electronic).")
    if decision not in DECISIONS:
        raise ConsentInvalid("Décision inconnue : accordé (granted) ou refusé (refused).")


def _organisation_ids(uow: UnitOfWork, slugs: Sequence[str]) -> set[int]:
    if not slugs:
        raise ConsentInvalid("Indiquez au moins un destinataire.")
    rows = {o.slug: o.id for o in uow.session.scalars(
        select(Organisation).where(Organisation.slug.in_(set(slugs))))}
    missing = sorted(set(slugs) - set(rows))
    if missing:
        raise ConsentInvalid(f"Destinataire inconnu : {', '.join(missing)}.")
    return set(rows.values())


# --- evidence ------------------------------------------------------------------------------

def attach_evidence(uow: UnitOfWork, principal: Principal, consent: Consent, *,
                    content: bytes, media_type: str, file_name: str) -> CaseRecord:
    """Keep a scanned signed consent form (PDF, PNG or JPEG, at most 5 Mio), encrypted under
    the case key as a case record; the consent's history names it. Audited (no file name)."""
    case = cases.get_case(uow, consent.case_id)
    require_case_professional(principal, case, "joindre le formulaire signé")
    signature = EVIDENCE_SIGNATURES.get(media_type)
    if signature is None or not content.startswith(signature):
        raise EvidenceInvalid("Pièce refusée : joignez le formulaire signé numérisé en PDF, "
                              "PNG ou JPEG.")
    if len(content) > MAX_EVIDENCE_BYTES:
        raise EvidenceInvalid("Pièce trop volumineuse (5 Mio au plus) : numérisez-la en "
                              "résolution plus basse.")
    name = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:120] or "piece"
    record = cases.store_record(
        uow, principal.actor, case, kind=EVIDENCE_KIND,
        payload={"consent": consent.id, "media_type": media_type, "file_name": name,
                 "content": base64.b64encode(content).decode("ascii")},
        categories={"ID", "SOC"}, organisation_id=case.organisation_id)
    add_event(uow, consent, "evidence_attached", principal.user_id, record_id=record.id,
           media_type=media_type, size=len(content))
    audit.append(uow, principal.actor, "consent.evidence_attached", subject_type="case",
                 subject_id=case.id, consent=consent.id, record=record.id,
                 media_type=media_type, size=len(content))
    return record


def evidence_record(uow: UnitOfWork, consent: Consent) -> CaseRecord | None:
    """The latest evidence attached to this consent, if any."""
    record_id = uow.session.scalars(select(ConsentEvent.record_id).where(
        ConsentEvent.consent_id == consent.id, ConsentEvent.kind == "evidence_attached")
        .order_by(ConsentEvent.id.desc()).limit(1)).first()
    return uow.session.get(CaseRecord, record_id) if record_id is not None else None


@dataclass(frozen=True)
class Evidence:
    file_name: str
    media_type: str
    content: bytes


def read_evidence(uow: UnitOfWork, principal: Principal, consent: Consent) -> Evidence:
    """The scanned form, decrypted for a professional of the case's organisation. Audited;
    410 after crypto-shredding."""
    case = cases.get_case(uow, consent.case_id)
    require_case_professional(principal, case, "consulter le formulaire signé")
    record = evidence_record(uow, consent)
    if record is None:
        raise NotFound("Aucun formulaire signé n'est joint à ce consentement.",
                       code="evidence_not_found")
    payload = cases.read_record(uow, principal.actor, case, record)
    return Evidence(payload["file_name"], payload["media_type"],
                    base64.b64decode(payload["content"]))


# --- withdrawal and destruction ------------------------------------------------------------

@dataclass(frozen=True)
class Cascade:
    """What a withdrawal or a destruction request did besides itself."""

    cancelled_outbox: tuple[int, ...] = ()
    notified_deliveries: tuple[int, ...] = ()
    destroyed: bool = False


def withdraw(uow: UnitOfWork, principal: Principal, consent: Consent, *,
             destroy: bool = False) -> Cascade:
    """The person withdraws `consent` (its newest version) now. Audited; idempotent.

    It no longer authorises anything; the cascade of the module guarantees follows. With
    `destroy`, the person also asks for destruction (`request_destruction`).
    """
    case = uow.session.get(Case, consent.case_id)
    if case is None or not any(g.organisation_id == case.organisation_id
                               for g in principal.grants):
        raise PermissionDenied("Seule l'organisation qui suit la situation peut enregistrer "
                               "le retrait d'un consentement.")
    consent = current_version(uow, consent)
    if consent.decision != GRANTED:
        raise ConsentInvalid("La personne avait refusé : il n'y a pas de consentement à "
                             "retirer.", code="consent_not_granted")
    notified: tuple[int, ...] = ()
    if consent.withdrawn_at is None:
        consent.withdrawn_at, consent.withdrawn_by = uow.now(), principal.user_id
        add_event(uow, consent, "withdrawn", principal.user_id)
        audit.append(uow, principal.actor, "consent.withdrawn", subject_type="case",
                     subject_id=consent.case_id, organisation_id=case.organisation_id,
                     consent=consent.id)
        events.record(uow, events.ConsentWithdrawn(principal.actor, case.id, consent.id,
                                                   consent.uid, case.organisation_id))
        notified = _notify_holders(uow, principal.actor, case, NOTICE_WITHDRAWN, consent)
        _message_instances(uow, principal.actor, case, consent)
    cancelled = _cancel_pending(uow, principal.actor, case, consent=consent)
    if destroy:
        more = request_destruction(uow, principal, case)
        return Cascade(cancelled + more.cancelled_outbox,
                       notified + more.notified_deliveries, True)
    return Cascade(cancelled, notified, False)


def request_destruction(uow: UnitOfWork, principal: Principal, case: Case) -> Cascade:
    """The person asks the organisation holding the case to destroy their data: crypto-shred
    the case (see the module guarantees). Audited; a case already destroyed is a no-op."""
    require_case_professional(principal, case, "détruire ses données")
    if case.wrapped_key is None:
        return Cascade(destroyed=True)
    audit.append(uow, principal.actor, "consent.destruction_requested", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id)
    return shred_case(uow, principal.actor, case, "destruction_request")


def shred_case(uow: UnitOfWork, actor: Actor, case: Case, reason: str) -> Cascade:
    """Cancel the case's pending transmissions, notify every holder of a copy, then destroy
    the case key (`cases.destroy_key`). For destruction requests and retention."""
    if uow.dialect == "postgresql":  # two sweeps or requests at once: one shreds
        uow.session.refresh(case, with_for_update=True)
    if case.wrapped_key is None:
        return Cascade(destroyed=True)
    cancelled = _cancel_pending(uow, actor, case, consent=None)
    notified = _notify_holders(uow, actor, case, NOTICE_DESTROYED, None)
    cases.destroy_key(uow, actor, case, reason)
    return Cascade(cancelled, notified, True)


def _pending_transmissions(uow: UnitOfWork, case: Case) -> list[tuple[Any, Any]]:
    from engine.runtime.models import Instance, OutboxItem

    stmt = (select(OutboxItem, Instance).join(Instance, Instance.id == OutboxItem.instance_id)
            .where(OutboxItem.status == "pending", OutboxItem.operator == TRANSMIT_OPERATOR,
                   Instance.case_id == case.id).order_by(OutboxItem.id))
    if uow.dialect == "postgresql":  # the worker's attempt and this cancellation queue
        stmt = stmt.with_for_update(of=OutboxItem)
    return [(item, instance) for item, instance in uow.session.execute(stmt)]


def _recipient_id(uow: UnitOfWork, instance: Any, value: Any) -> int | None:
    """The organisation an outbox row's `recipient` parameter names (slug, or bound role)."""
    if not isinstance(value, str):
        return None
    bound = json.loads(instance.lanes or "{}").get(value)
    if bound is not None:
        return int(bound)
    org = uow.session.scalars(select(Organisation).where(Organisation.slug == value)).first()
    return org.id if org is not None else None


def _still_authorised(uow: UnitOfWork, case: Case, recipient_id: int | None, purpose: Any,
                      categories: Any) -> bool:
    if recipient_id is None or not isinstance(purpose, str):
        return False
    wanted = [categories] if isinstance(categories, str) else categories
    if not isinstance(wanted, list):
        return False
    try:
        policy.authorize(uow, case, case.organisation_id, recipient_id, purpose,
                         [str(c) for c in wanted], uow.now())
    except ConsentRefused:
        return False
    return True


def _cancel_pending(uow: UnitOfWork, actor: Actor, case: Case, *,
                    consent: Consent | None) -> tuple[int, ...]:
    """Cancel the case's pending transmissions: all of them (destruction), or those of
    `consent`'s purposes and recipients that no live consent covers any more (withdrawal;
    a transmission resting on a legal basis is not affected by a withdrawal)."""
    from engine.runtime import service as runtime

    cancelled: list[int] = []
    for item, instance in _pending_transmissions(uow, case):
        params = json.loads(item.params)
        if consent is not None:
            recipient = _recipient_id(uow, instance, params.get("recipient"))
            if params.get("legal_basis_record") is not None \
                    or params.get("purpose") not in json.loads(consent.purposes) \
                    or recipient not in json.loads(consent.recipients) \
                    or _still_authorised(uow, case, recipient, params.get("purpose"),
                                         params.get("categories")):
                continue
        reason = "consent_withdrawn" if consent is not None else "data_destroyed"
        item.status, item.done_at = "cancelled", uow.now()
        item.last_error = f"{reason}: transmission annulée"
        runtime.service_task_failed(
            uow, item, "Transmission annulée : " + (
                "la personne a retiré le consentement sur lequel elle reposait. Recueillez un "
                "nouveau consentement et relancez le protocole, ou arrêtez l'instance."
                if consent is not None else
                "les données de la situation ont été détruites à la demande de la personne "
                "ou au terme de leur durée de conservation. Arrêtez l'instance."),
            None, kind="transmission_cancelled")
        audit.append(uow, actor, "consent.transmission_cancelled", subject_type="instance",
                     subject_id=instance.id, organisation_id=case.organisation_id,
                     outbox=item.id, case=case.id, reason=reason,
                     consent=consent.id if consent is not None else None)
        cancelled.append(item.id)
    return tuple(cancelled)


def _notify_holders(uow: UnitOfWork, actor: Actor, case: Case, kind: str,
                    consent: Consent | None) -> tuple[int, ...]:
    """One notice per delivered copy (of `consent`, or of the whole case) to its recipient."""
    from engine.routing import service as routing

    notified: list[int] = []
    for delivery in routing.deliveries_of_case(uow, case.id,
                                               consent_id=consent.id if consent else None):
        if delivery.status == routing.SEALED:
            continue
        uow.session.add(ConsentNotice(
            organisation_id=delivery.recipient_organisation_id,
            recipient_role=delivery.recipient_role, kind=kind, case_id=case.id,
            consent_id=delivery.consent_id, delivery_id=delivery.id, created_at=uow.now()))
        notified.append(delivery.id)
    if notified:
        uow.session.flush()
        audit.append(uow, actor, "consent.holders_notified", subject_type="case",
                     subject_id=case.id, organisation_id=case.organisation_id, kind=kind,
                     deliveries=notified, consent=consent.id if consent else None)
    return tuple(notified)


def _message_instances(uow: UnitOfWork, actor: Actor, case: Case, consent: Consent) -> None:
    """The platform message `consentement_retire` to the case's instances (buffered until
    one waits for it, like any message)."""
    from engine.runtime import service as runtime

    runtime.receive_message(uow, actor, name=WITHDRAWN_MESSAGE,
                            correlation={"case_id": case.id},
                            payload={"consent_id": consent.id},
                            message_id=f"relais-consent-withdrawn-{consent.uid}",
                            from_platform=True)


# --- notices -------------------------------------------------------------------------------

def notices_for(uow: UnitOfWork, principal: Principal, limit: int = 200) -> list[dict[str, Any]]:
    """Notices to the caller's organisations, for a role they hold there (as the inbox)."""
    from sqlalchemy import or_

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


# --- legal bases ---------------------------------------------------------------------------

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
    if review is None or not any(g.organisation_id == review.organisation_id
                                 and g.role != Role.ADMIN for g in principal.grants):
        raise NotFound("Revue juridique introuvable.", code="legal_review_not_found")
    return review


def reviews_of(uow: UnitOfWork, case: Case) -> list[LegalReview]:
    return list(uow.session.scalars(select(LegalReview).where(LegalReview.case_id == case.id)
                                    .order_by(LegalReview.id)))


def answer_legal_review(uow: UnitOfWork, principal: Principal, review: LegalReview,
                        decision: str, *, answer_record: int | None = None) -> LegalReview:
    """A human's answer to a legal review (`approved` or `rejected`), once (409 after), by a
    holder of one of the basis's reviewer roles in the organisation that invoked it."""
    basis = LEGAL_BASES[review.legal_basis]
    if not any(g.organisation_id == review.organisation_id and g.role in basis.reviewer_roles
               for g in principal.grants):
        raise PermissionDenied("Vous n'avez pas le rôle nécessaire pour trancher cette revue "
                               "juridique.")
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
                 record=review.legal_basis_record_id, answer_record=answer_record)
    return review


def describe_review(review: LegalReview) -> dict[str, Any]:
    return {"id": review.id, "case_id": review.case_id, "legal_basis": review.legal_basis,
            "legal_basis_record": review.legal_basis_record_id,
            "status": review.decision or "pending", "opened_at": review.opened_at.isoformat(),
            "decided_at": _iso(review.decided_at), "decided_by": review.decided_by}
