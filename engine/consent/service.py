"""Consent use cases: recording and versioning consents, their evidence, withdrawal and its
cascade, destruction requests, legal-basis invocations and their legal review, and (from
`engine.consent.policy`) the transmission policy `authorize`.
The consent receipt lives in `engine.consent.rights`; the person's access export and
retention, which read every domain of a case, in `engine.dossiers.rights`.

Guarantees:
- A consent is one immutable decision of the person (granted or refused) for a case,
  recorded by a user of the case's organisation, for purposes of the catalogue; a change is
  a new version superseding the previous one; withdrawal only sets `withdrawn_at`. Every
  change is a `ConsentEvent` and an audit row (codes and ids only), in the caller's unit of
  work.
- Evidence (a scanned signed form) is kept only as a case record, encrypted under the case
  key: crypto-shredding the case destroys it too.
- Withdrawal blocks every later transmission resting on that consent (`authorize`) and
  every later decision of that scope dated no later than it; it publishes
  `events.ConsentWithdrawn`, on which routing cancels the transmissions still pending that
  no live consent covers any more and notifies every organisation holding a copy sent under
  it, and the runtime sends the platform message `consentement_retire` to the case's
  instances — in the same transaction. With `destroy`, the case is crypto-shredded.
- A destruction request makes everything the case holds unreadable for everyone — records,
  evidence, and the copies stored for recipients (they rest under the case key); before the
  key goes, `events.CaseShredding` lets routing cancel the pending transmissions and notify
  the holders of copies. Signed manifests, receipts and the audit chain stay verifiable.
- Consent's services import neither routing nor the runtime: they react to its events
  (`engine.routing.handlers`, `engine.runtime.handlers`). Only `engine.consent.connectors`
  plugs consent into the runtime's connector registry.
- A legal basis needing review (`requisition_60_1`) never authorises before a human records
  an approving answer; the answer is given once, by another person than the one who
  invoked the basis, holding a reviewer role; its audit row names both
  (`engine.consent.reviews`, re-exported here).
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
from engine.audit import refusals
from engine.audit import service as audit
from engine.audit.service import Actor
from engine.cases import service as cases
from engine.cases.models import Case, CaseRecord
from engine.consent.catalogue import GIVEN_BY_LABELS, PURPOSES
from engine.consent.errors import (
    ConsentInvalid,
    ConsentNotFound,
    EvidenceInvalid,
)
from engine.consent.models import Consent, ConsentEvent, LegalReview  # noqa: F401 - re-export
from engine.consent.policy import (  # noqa: F401 - the policy is part of this service
    APPROVED,
    GRANTED,
    REFUSED,
    REJECTED,
    Authorization,
    authorize,
)
from engine.consent.reviews import (  # noqa: F401 - legal reviews are part of this service
    Invoked,
    answer_legal_review,
    describe_review,
    invoke_legal_basis,
    pending_reviews,
    require_reviewer,
    reviews_of,
    visible_review,
)
from engine.db import UnitOfWork
from engine.documents.envelope import CODE_RE
from engine.documents.render import french_date
from engine.errors import Conflict, Invalid, NotFound
from engine.identity.errors import PermissionDenied
from engine.identity.models import Organisation
from engine.identity.service import Principal

DECISIONS = frozenset({GRANTED, REFUSED})
CHANNELS = frozenset({"oral", "written", "electronic"})
PERSON_RE = re.compile(r"P[1-9][0-9]?")
DEFAULT_PERSON = "P1"
DEFAULT_GIVEN_BY = "personne"
EVIDENCE_KIND = "consent_evidence"
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
EVIDENCE_SIGNATURES = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n",
                       "image/jpeg": b"\xff\xd8\xff"}


# --- who may act on a case's consents ------------------------------------------------------

def require_case_professional(principal: Principal, case: Case, what: str) -> None:
    """Only a professional (any role but ADMIN) of the organisation holding the case acts on
    its consents and the person's rights; administrators have no access of their own."""
    if not principal.can_see(case):
        raise PermissionDenied(f"Seule l'organisation qui suit la situation peut {what}.")


visible_case = cases.visible_case  # one rule for every domain (Principal.can_see)


def visible_consent(uow: UnitOfWork, principal: Principal, consent_id: int) -> Consent:
    """A consent of a situation the principal sees; otherwise the same 'not found' as an
    unknown id, the refusal audited (`consent.access_refused`)."""
    consent = uow.session.get(Consent, consent_id)
    case = uow.session.get(Case, consent.case_id) if consent is not None else None
    if consent is None or not principal.can_see(case):
        raise refusals.refuse_read(uow, principal.actor, "consent", "consent", consent_id,
                                   ConsentNotFound("Consentement introuvable."),
                                   reason="unknown" if consent is None else "not_visible")
    return consent


def get_consent(uow: UnitOfWork, consent_id: int) -> Consent:
    """A consent by id, without access check (for the domains reacting to its events)."""
    consent = uow.session.get(Consent, consent_id)
    if consent is None:
        raise ConsentNotFound("Consentement introuvable.")
    return consent


@dataclass(frozen=True)
class Scope:
    """What a consent names: purposes and recipient organisation ids."""

    purposes: frozenset[str]
    recipient_ids: frozenset[int]


def scope_of(consent: Consent) -> Scope:
    return Scope(frozenset(json.loads(consent.purposes)),
                 frozenset(int(i) for i in json.loads(consent.recipients)))


# --- recording and versions ----------------------------------------------------------------

def record_consent(uow: UnitOfWork, principal: Principal, case: Case, *,
                   purposes: Sequence[str], recipients: Sequence[str],
                   categories: Sequence[str], channel: str, decision: str = GRANTED,
                   given_at: datetime | None = None, expires_at: datetime | None = None,
                   person: str = DEFAULT_PERSON, supersedes: Consent | None = None,
                   source_record: CaseRecord | None = None,
                   given_by: str = DEFAULT_GIVEN_BY) -> Consent:
    """Record the person's decision for `case` (recipients are organisation slugs). Audited.

    Only a user of the organisation holding the case records its consents; every code is
    checked (purposes of the catalogue, data categories, channel, decision, recipients that
    exist, the person's pseudonym `P1`…`P99`, who gave the agreement: `given_by`, a code of
    `GIVEN_BY_LABELS`). With `supersedes`, the new consent is the next
    version of that one (same case and person), which stops authorising from `given_at`.
    `source_record` is the decision form it comes from (a diagram's checkpoint): one record
    gives rise to one consent only. A decision given no later than a withdrawal of the same
    person × purpose × recipient is refused: only a new decision, after it, counts.
    Raises ConsentInvalid (422) with the reason, PermissionDenied otherwise.
    """
    if not principal.belongs_to(case.organisation_id):
        raise PermissionDenied("Seule l'organisation qui suit la situation peut y recueillir "
                               "un consentement.")
    given = given_at or uow.now()
    _check_codes(purposes, categories, channel, decision)
    if not is_pseudonym(person):
        raise ConsentInvalid("Personne concernée invalide : un pseudonyme P1, P2… est "
                             "attendu (jamais un nom).")
    if given_by not in GIVEN_BY_LABELS:
        raise ConsentInvalid("« Accord donné par » invalide : la personne elle-même, son "
                             "représentant légal, ou le mineur avec les titulaires de "
                             "l'autorité parentale.", code="consent_invalid")
    if expires_at is not None and expires_at <= given:
        raise ConsentInvalid("La date d'expiration du consentement doit suivre celle du "
                             "recueil.", code="consent_invalid")
    version = _next_version(uow, case, person, supersedes)
    organisation_ids = _organisation_ids(uow, recipients)
    if source_record is not None:
        _check_record_unused(uow, source_record)
    _check_after_withdrawals(uow, case, person, set(purposes), organisation_ids, given)
    consent = Consent(uid=str(uuid.uuid4()), case_id=case.id,
                      organisation_id=case.organisation_id, person=person, version=version,
                      supersedes_id=supersedes.id if supersedes else None, decision=decision,
                      purposes=_json(purposes), recipients=json.dumps(sorted(organisation_ids)),
                      categories=_json(categories), channel=channel, given_by=given_by,
                      given_at=given,
                      expires_at=expires_at, recorded_by=principal.user_id,
                      recorded_at=uow.now())
    uow.session.add(consent)
    uow.session.flush()
    add_event(uow, consent, "recorded", principal.user_id, version=version,
              supersedes=consent.supersedes_id,
              record_id=source_record.id if source_record is not None else None)
    if supersedes is not None:
        add_event(uow, supersedes, "superseded", principal.user_id, by=consent.id)
    audit.append(uow, principal.actor, "consent.recorded", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id, consent=consent.id,
                 decision=decision, channel=channel, purposes=sorted(set(purposes)),
                 recipients=sorted(organisation_ids), categories=sorted(set(categories)),
                 expires_at=expires_at.isoformat() if expires_at else None, person=person,
                 given_by=given_by, version=version, supersedes=consent.supersedes_id)
    return consent


def amend_consent(uow: UnitOfWork, principal: Principal, consent: Consent,
                  **changes: Any) -> Consent:
    """A new version of `consent` with `changes` (purposes, recipients, categories, channel,
    decision, expires_at, given_by); what is not changed is carried over. The old version is kept,
    never overwritten, and stops authorising."""
    allowed = {"purposes", "recipients", "categories", "channel", "decision", "expires_at",
               "given_at", "given_by"}
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
        "decision": consent.decision, "expires_at": consent.expires_at,
        "given_by": consent.given_by or DEFAULT_GIVEN_BY}
    values.update(changes)
    return record_consent(uow, principal, case, person=consent.person, supersedes=consent,
                          **values)


def is_pseudonym(person: Any) -> bool:
    """The person concerned is named by a pseudonym within the case (`P1`…`P99`), never by
    a name."""
    return isinstance(person, str) and PERSON_RE.fullmatch(person) is not None


def _check_record_unused(uow: UnitOfWork, record: CaseRecord) -> None:
    """One decision form, one consent: a record already recorded is never recorded again."""
    used = uow.session.scalars(select(ConsentEvent.consent_id).where(
        ConsentEvent.kind == "recorded", ConsentEvent.record_id == record.id).limit(1)).first()
    if used is not None:
        raise ConsentInvalid("Cette saisie du formulaire de consentement a déjà été "
                             "enregistrée : une décision ne donne qu'un consentement. "
                             "Recueillez une nouvelle décision de la personne.",
                             code="consent_record_used")


def last_withdrawal(uow: UnitOfWork, case: Case, person: str, purposes: set[str],
                    recipient_ids: set[int]) -> datetime | None:
    """When the person last withdrew a consent naming one of these purposes for one of
    these recipients (None if never)."""
    withdrawn = uow.session.scalars(select(Consent).where(
        Consent.case_id == case.id, Consent.person == person,
        Consent.withdrawn_at.is_not(None)))
    dates = [c.withdrawn_at for c in withdrawn if c.withdrawn_at is not None
             and purposes & scope_of(c).purposes and recipient_ids & scope_of(c).recipient_ids]
    return max(dates, default=None)


def _check_after_withdrawals(uow: UnitOfWork, case: Case, person: str, purposes: set[str],
                             recipient_ids: set[int], given: datetime) -> None:
    """A withdrawal blocks every decision of that scope given no later than it."""
    withdrawn_at = last_withdrawal(uow, case, person, purposes, recipient_ids)
    if withdrawn_at is not None and given <= withdrawn_at:
        raise ConsentInvalid(
            "La personne a retiré son consentement pour cette finalité et ce destinataire le "
            f"{french_date(withdrawn_at)} : seule une nouvelle décision, recueillie après ce "
            "retrait, peut être enregistrée.", code="consent_withdrawn_earlier")


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
        "given_by": consent.given_by, "given_at": consent.given_at.isoformat(),
        "expires_at": _iso(consent.expires_at),
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

    It no longer authorises anything; the cascade of the module guarantees follows (the
    domains concerned react to `ConsentWithdrawn`, once). With `destroy`, the person also
    asks for destruction (`request_destruction`).
    """
    case = uow.session.get(Case, consent.case_id)
    if case is None or not principal.belongs_to(case.organisation_id):
        raise PermissionDenied("Seule l'organisation qui suit la situation peut enregistrer "
                               "le retrait d'un consentement.")
    consent = current_version(uow, consent)
    if consent.decision != GRANTED:
        raise ConsentInvalid("La personne avait refusé : il n'y a pas de consentement à "
                             "retirer.", code="consent_not_granted")
    cascade = Cascade()
    if consent.withdrawn_at is None:
        consent.withdrawn_at, consent.withdrawn_by = uow.now(), principal.user_id
        add_event(uow, consent, "withdrawn", principal.user_id)
        audit.append(uow, principal.actor, "consent.withdrawn", subject_type="case",
                     subject_id=consent.case_id, organisation_id=case.organisation_id,
                     consent=consent.id)
        cascade = _combined(events.publish(uow, events.ConsentWithdrawn(
            principal.actor, case.id, consent.id, consent.uid, case.organisation_id)))
    if destroy:
        more = request_destruction(uow, principal, case)
        return Cascade(cascade.cancelled_outbox + more.cancelled_outbox,
                       cascade.notified_deliveries + more.notified_deliveries, True)
    return cascade


def confirm_destruction(uow: UnitOfWork, principal: Principal, case_id: int,
                        confirm_reference: str) -> Cascade:
    """A destruction request confirmed by copying the case's reference (it cannot be undone):
    the case must be visible to the caller (404 otherwise), then the reference must match
    (Invalid, 422, nothing changes), then `request_destruction`."""
    case = visible_case(uow, principal, case_id)
    if confirm_reference != case.reference:
        raise Invalid("Confirmation incorrecte : recopiez la référence de la situation.",
                      [{"field": "confirm_reference", "message": "Référence différente."}])
    return request_destruction(uow, principal, case)


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
    """Let the domains concerned react to `CaseShredding` (pending transmissions cancelled,
    holders of copies notified), then destroy the case key (`cases.destroy_key`). For
    destruction requests and retention."""
    if uow.dialect == "postgresql":  # two sweeps or requests at once: one shreds
        uow.session.refresh(case, with_for_update=True)
    if case.wrapped_key is None:
        return Cascade(destroyed=True)
    cascade = _combined(events.publish(uow, events.CaseShredding(
        actor, case.id, case.organisation_id, reason)))
    cases.destroy_key(uow, actor, case, reason)
    return Cascade(cascade.cancelled_outbox, cascade.notified_deliveries, True)


def _combined(results: Iterable[Any]) -> Cascade:
    """The handlers' cascades, added up (handlers that report nothing return None)."""
    done = [r for r in results if isinstance(r, Cascade)]
    return Cascade(tuple(i for r in done for i in r.cancelled_outbox),
                   tuple(i for r in done for i in r.notified_deliveries))
