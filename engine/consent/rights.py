"""The person's rights that rest on the consent domain alone: the consent receipt, and the
labels and templates the person's documents share. The access export and retention read
every domain of the case and live in `engine.dossiers.rights`.

Guarantees:
- The receipt (`consent_receipt`) is produced only for a professional of the organisation
  holding the case (never an administrator); each production is audited (ids only).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from engine.audit import service as audit
from engine.cases import service as cases
from engine.consent import mentions
from engine.consent import service as consent_service
from engine.consent.catalogue import (
    category_label,
    given_by_label,
    purpose_label,
)
from engine.consent.models import Consent
from engine.db import UnitOfWork
from engine.documents import build, render
from engine.identity.models import Organisation, User
from engine.identity.service import Principal

TEMPLATES = Path(__file__).parent / "templates"
RECEIPT_TEMPLATE = "recu_consentement.docx"
EXPORT_TEMPLATE = "export_acces.docx"
CHANNEL_LABELS = {"oral": "oral", "written": "écrit (formulaire signé)",
                  "electronic": "électronique"}
STATUS_LABELS = {"active": "en vigueur", "refused": "refus de la personne",
                 "superseded": "remplacé par une version plus récente", "withdrawn": "retiré",
                 "expired": "expiré"}



def template(name: str) -> bytes:
    """One of the consent domain's document templates (`templates/`)."""
    return (TEMPLATES / name).read_bytes()


def organisation_names(uow: UnitOfWork, ids: list[int]) -> dict[int, str]:
    return {o.id: o.name for o in uow.session.scalars(
        select(Organisation).where(Organisation.id.in_(ids)))}


PSEUDONYM = re.compile(r"P\d+")


# --- the consent receipt -------------------------------------------------------------------

def person_words(person: str) -> str:
    """How a document the person keeps names them: never the pseudonym of the situation's
    people (« P1 »), which means nothing to them."""
    return "vous (la personne concernée)" if PSEUDONYM.fullmatch(person or "") else person


def consent_receipt(uow: UnitOfWork, principal: Principal, consent: Consent) -> tuple[str, bytes]:
    """(file name, docx) of the receipt the person keeps: what they decided, to whom, for
    what, which data, until when, who gave the agreement, and how to withdraw — stamped like
    every document the organisation issues (letterhead, author, 226-13, the RGPD notice with
    the controller, DPO, retention and the right to complain to the CNIL). Audited."""
    case = cases.get_case(uow, consent.case_id)
    consent_service.require_case_professional(principal, case, "imprimer ce reçu")
    recipients = json.loads(consent.recipients)
    names = organisation_names(uow, [*recipients, case.organisation_id])
    author = uow.session.get(User, consent.recorded_by)
    now = uow.now()
    values = {
        "organisation": names[case.organisation_id], "reference": case.reference,
        "personne": person_words(consent.person),
        "accord_donne_par": given_by_label(consent.given_by),
        "date_recueil": render.french_date(consent.given_at),
        "recueilli_par": author.display_name if author else "—",
        "decision": "vous acceptez ce partage" if consent.decision == consent_service.GRANTED
        else "vous refusez ce partage",
        "finalites": " ; ".join(purpose_label(p) for p in json.loads(consent.purposes)),
        "destinataires": " ; ".join(names.get(i, str(i)) for i in recipients),
        "categories": ", ".join(f"{category_label(c)} ({c})"
                                for c in json.loads(consent.categories)),
        "canal": CHANNEL_LABELS.get(consent.channel, consent.channel),
        "expiration": render.french_date(consent.expires_at) if consent.expires_at
        else "sans date limite, jusqu'à votre retrait",
        "etat": status_text(uow, consent, now), "identifiant": consent.uid,
        "version": consent.version, "date_document": render.french_date(now)}
    organisation = uow.session.get(Organisation, case.organisation_id)
    assert organisation is not None
    purposes = json.loads(consent.purposes)
    content = build.stamp(render.render_docx(template(RECEIPT_TEMPLATE), values),
                          mentions.mentions_for(uow, organisation, principal.user_id,
                                                purposes[0] if purposes else None, now))
    consent_service.add_event(uow, consent, "receipt_printed", principal.user_id)
    audit.append(uow, principal.actor, "consent.receipt_printed", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id, consent=consent.id)
    return f"recu-consentement-{case.reference}-v{consent.version}.docx", content


def status_text(uow: UnitOfWork, consent: Consent, at: datetime) -> str:
    status = consent_service.status_of(uow, consent, at)
    text = STATUS_LABELS[status]
    if status == "withdrawn" and consent.withdrawn_at:
        text += f" le {render.french_date(consent.withdrawn_at)}"
    return text
