"""Consent use cases (minimal rule of the documents issue; the consent issue completes it).

Guarantees:
- `record_consent` keeps one immutable decision of the person (granted or refused) for a case,
  recorded by a user of the case's organisation; it is audited with codes and ids only.
- `authorize` is the transmission policy: it returns the consent a transmission rests on, or
  raises `ConsentRefused` with a stable code and a French explanation of what is missing.
  It reads only; auditing the answer is the caller's job (routing audits every refusal).
- The rule: a consent of the case, recorded by the sending organisation, whose person's
  latest decision for this purpose and recipient is `granted`, given no later than `at`, not
  expired and not withdrawn at `at`, naming this purpose and this recipient organisation and
  covering every data category sent. Nothing else authorises (no legal basis yet).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

import forms
from engine.audit import service as audit
from engine.cases.models import Case
from engine.consent.errors import ConsentInvalid, ConsentRefused
from engine.consent.models import Consent
from engine.db import UnitOfWork
from engine.documents.envelope import CODE_RE
from engine.documents.render import french_date
from engine.identity.errors import PermissionDenied
from engine.identity.models import Organisation
from engine.identity.service import Principal

GRANTED, REFUSED = "granted", "refused"
DECISIONS = frozenset({GRANTED, REFUSED})
CHANNELS = frozenset({"oral", "written", "electronic"})


@dataclass(frozen=True)
class Authorization:
    """What a transmission rests on: a consent (its row id and its public uid)."""

    consent_id: int
    consent_uid: str
    given_at: datetime


# --- recording -----------------------------------------------------------------------------

def record_consent(uow: UnitOfWork, principal: Principal, case: Case, *,
                   purposes: Sequence[str], recipients: Sequence[str],
                   categories: Sequence[str], channel: str, decision: str = GRANTED,
                   given_at: datetime | None = None,
                   expires_at: datetime | None = None) -> Consent:
    """Record the person's decision for `case` (recipients are organisation slugs). Audited.

    Only a user of the organisation holding the case records its consents; every code is
    checked (purposes, data categories of `forms.CATEGORIES`, channel, decision, recipients
    that exist). Raises ConsentInvalid (422) with the reason, PermissionDenied otherwise.
    """
    if not any(g.organisation_id == case.organisation_id for g in principal.grants):
        raise PermissionDenied("Seule l'organisation qui suit la situation peut y recueillir "
                               "un consentement.")
    given = given_at or uow.now()
    _check_codes(purposes, categories, channel, decision)
    if expires_at is not None and expires_at <= given:
        raise ConsentInvalid("La date d'expiration du consentement doit suivre celle du "
                             "recueil.", code="consent_invalid")
    organisation_ids = _organisation_ids(uow, recipients)
    consent = Consent(uid=str(uuid.uuid4()), case_id=case.id,
                      organisation_id=case.organisation_id, decision=decision,
                      purposes=_json(purposes), recipients=json.dumps(sorted(organisation_ids)),
                      categories=_json(categories), channel=channel, given_at=given,
                      expires_at=expires_at, recorded_by=principal.user_id,
                      recorded_at=uow.now())
    uow.session.add(consent)
    uow.session.flush()
    audit.append(uow, principal.actor, "consent.recorded", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id, consent=consent.id,
                 decision=decision, channel=channel, purposes=sorted(set(purposes)),
                 recipients=sorted(organisation_ids), categories=sorted(set(categories)),
                 expires_at=expires_at.isoformat() if expires_at else None)
    return consent


def withdraw(uow: UnitOfWork, principal: Principal, consent: Consent) -> Consent:
    """Mark a consent withdrawn now (audited); it no longer authorises anything. Idempotent.

    The cascade (pending transmissions, recipients' copies) belongs to the consent issue.
    """
    case = uow.session.get(Case, consent.case_id)
    if case is None or not any(g.organisation_id == case.organisation_id
                               for g in principal.grants):
        raise PermissionDenied("Seule l'organisation qui suit la situation peut enregistrer "
                               "le retrait d'un consentement.")
    if consent.withdrawn_at is None:
        consent.withdrawn_at, consent.withdrawn_by = uow.now(), principal.user_id
        audit.append(uow, principal.actor, "consent.withdrawn", subject_type="case",
                     subject_id=consent.case_id, organisation_id=case.organisation_id,
                     consent=consent.id)
    return consent


def consents_of(uow: UnitOfWork, case: Case) -> list[Consent]:
    """Every consent of the case, oldest first."""
    return list(uow.session.scalars(select(Consent).where(Consent.case_id == case.id)
                                    .order_by(Consent.given_at, Consent.id)))


def _json(values: Iterable[str]) -> str:
    return json.dumps(sorted(set(values)), ensure_ascii=False)


def _check_codes(purposes: Sequence[str], categories: Sequence[str], channel: str,
                 decision: str) -> None:
    if not purposes or not all(isinstance(p, str) and CODE_RE.fullmatch(p) for p in purposes):
        raise ConsentInvalid("Indiquez au moins une finalité (un code, par exemple "
                             "« vc_transmission »).")
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


# --- the policy ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Request:
    sender_org_id: int
    recipient: Organisation
    purpose: str
    categories: frozenset[str]
    at: datetime


def authorize(uow: UnitOfWork, case: Case, sender_org_id: int, recipient_org_id: int,
              purpose: str, categories: Iterable[str], at: datetime) -> Authorization:
    """The consent authorising this transmission at `at`, or ConsentRefused saying why not."""
    recipient = uow.session.get(Organisation, recipient_org_id)
    if recipient is None:
        raise ConsentRefused("consent_out_of_scope", "Destinataire inconnu : aucune "
                             "transmission possible.")
    request = _Request(sender_org_id, recipient, purpose, frozenset(categories), at)
    consents = [c for c in consents_of(uow, case) if c.given_at <= at]
    named = [c for c in consents if _names(c, request)]
    if named and named[-1].decision == REFUSED:
        raise ConsentRefused("consent_refused", _refused_message(named[-1], request),
                             consent_id=named[-1].id)
    covering = [c for c in named if c.decision == GRANTED and _covers(c, request)]
    for consent in reversed(covering):
        if _live(consent, at):
            return Authorization(consent.id, consent.uid, consent.given_at)
    if covering:
        raise _dead(covering[-1], request)
    granted = [c for c in consents if c.decision == GRANTED]
    if not granted:
        raise ConsentRefused("consent_missing", _missing_message(request))
    closest = ([c for c in named if c.decision == GRANTED] or granted)[-1]
    raise ConsentRefused("consent_out_of_scope", _scope_message(closest, request),
                         consent_id=closest.id)


def _list(raw: str) -> list:
    return json.loads(raw)


def _names(consent: Consent, request: _Request) -> bool:
    return request.purpose in _list(consent.purposes) \
        and request.recipient.id in _list(consent.recipients)


def _covers(consent: Consent, request: _Request) -> bool:
    return request.categories <= set(_list(consent.categories)) \
        and consent.organisation_id == request.sender_org_id


def _live(consent: Consent, at: datetime) -> bool:
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
            f"(finalité « {request.purpose} »).")


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
