"""The person's access to their data and the retention of cases: what reads every domain a
case touches (its records, consents, deliveries and instances), so it sits above them.

Guarantees:
- The access export (`access_export`) is produced only for a professional of the
  organisation holding the case (never an administrator); each production is audited (ids
  and counts only). It holds everything the case keeps about the person — form records,
  consents (every version), legal bases invoked, documents sent — with every field of
  category `THIRD` removed; health fields (`HEALTH`) appear only when the exporting
  organisation is a health organisation (need to know: the person asks the CMP for them).
- Retention: a case is due when its last activity (records, consents, deliveries,
  instances) is older than the longest retention of the purposes it used (at least the
  social file's 2 years). `sweep_retention` crypto-shreds what is due
  (`consent.shred_case`: pending transmissions cancelled, holders of copies notified),
  except cases with a running or suspended instance (reported as held); a dry run changes
  nothing but its own audit row, and only administrators ask for one (`review_retention`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import docx
from sqlalchemy import func, select

import forms
from engine.audit import service as audit
from engine.audit.service import Actor
from engine.cases import service as cases
from engine.cases.models import Case, CaseRecord
from engine.consent import service as consent_service
from engine.consent.catalogue import (
    INFORMATION_LABELS,
    LEGAL_BASES,
    SOCIAL_FILE_RETENTION,
    category_label,
    purpose_label,
    retention_of,
)
from engine.consent.models import Consent
from engine.consent.policy import LEGAL_BASIS_FORM
from engine.consent.rights import (
    CHANNEL_LABELS,
    EXPORT_TEMPLATE,
    organisation_names,
    status_text,
    template,
)
from engine.db import UnitOfWork
from engine.documents import render
from engine.documents.build import label_table
from engine.errors import Invalid, RelaisError
from engine.identity.models import Organisation, OrganisationKind
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role
from engine.routing import service as routing
from engine.routing.models import Delivery
from engine.runtime import service as runtime
from engine.runtime.models import Instance, ProcessVersion

DELIVERY_STATUS_LABELS = {"sealed": "scellé", "delivered": "remis", "opened": "ouvert",
                          "acknowledged": "réception accusée"}


# --- the access export ---------------------------------------------------------------------

@dataclass
class _Counts:
    records: int = 0
    third_removed: int = 0
    health_withheld: int = 0


def access_export(uow: UnitOfWork, principal: Principal, case_id: int,
                  person: str = consent_service.DEFAULT_PERSON) -> tuple[str, bytes]:
    """(file name, docx) of everything the case holds about `person`, third-party data
    removed (see the module guarantees). Audited; Invalid (422) when `person` is not a
    pseudonym `P1`, `P2`…; CaseNotFound (404) outside the case's organisation."""
    if not consent_service.is_pseudonym(person):
        raise Invalid("Personne invalide : P1, P2…",
                      [{"field": "person", "message": "Pseudonyme P1, P2… attendu."}])
    case = consent_service.visible_case(uow, principal, case_id)
    exporter = uow.session.get(Organisation, case.organisation_id)
    assert exporter is not None
    now = uow.now()
    rendered = render.render_docx(template(EXPORT_TEMPLATE), {
        "organisation": exporter.name, "reference": case.reference, "personne": person,
        "date_document": render.french_date(now)})
    document = docx.Document(io.BytesIO(rendered))
    counts = _Counts()
    _records_section(uow, principal, document, case, exporter.kind == OrganisationKind.CMP,
                     counts)
    consents = consent_service.consents_of(uow, case, person)
    _consents_section(uow, document, consents, now)
    deliveries = _documents_section(uow, document, case)
    out = io.BytesIO()
    document.save(out)
    audit.append(uow, principal.actor, "consent.access_exported", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id, person=person,
                 records=counts.records, consents=len(consents), deliveries=deliveries,
                 third_removed=counts.third_removed, health_withheld=counts.health_withheld)
    return f"export-{case.reference}-{person}.docx", out.getvalue()


def _form_of(uow: UnitOfWork, record: CaseRecord) -> forms.Form | None:
    """The form definition a record was made with (its deployment's copy when known)."""
    if not record.form:
        return None
    instance = uow.session.get(Instance, record.instance_id) if record.instance_id else None
    version = uow.session.get(ProcessVersion, instance.process_version_id) if instance else None
    try:
        return runtime.form_of_version(uow, version, record.form) if version \
            else forms.load(record.form)
    except (forms.FormError, RelaisError):  # a form no longer available: fields by name
        return None


def _fields(payload: Mapping[str, Any], form: forms.Form | None, categories: list[str],
            health_ok: bool, counts: _Counts) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    properties = form.properties if form else {}
    for name, value in payload.items():
        prop = properties.get(name, {})
        category = prop.get("x-relais-category")
        if category == "THIRD" or (category is None and "THIRD" in categories):
            counts.third_removed += 1
            continue
        if (category == "HEALTH" or (category is None and "HEALTH" in categories)) \
                and not health_ok:
            counts.health_withheld += 1
            continue
        if value is None or value == "":
            continue
        rows.append((str(prop.get("title") or name), render.format_value(value, prop)))
    return rows


def _records_section(uow: UnitOfWork, principal: Principal, document: Any, case: Case,
                     health_ok: bool, counts: _Counts) -> None:
    document.add_heading("Saisies des professionnels", level=2)
    if case.wrapped_key is None:
        document.add_paragraph("Les données de cette situation ont été détruites le "
                               f"{render.french_date(case.key_destroyed_at or case.opened_at)}"
                               " : il n'en reste aucune copie lisible.")
        return
    records = cases.records_of(uow, case)
    for record in records:
        if record.kind == consent_service.EVIDENCE_KIND:
            document.add_paragraph(f"Formulaire de consentement signé (pièce numérisée), "
                                   f"joint le {render.french_date(record.created_at)}.")
            continue
        payload = cases.read_record(uow, principal.actor, case, record, audited=False)
        form = _form_of(uow, record)
        title = (form.schema.get("title") if form else None) or record.form or record.kind
        document.add_heading(f"{title} — {render.french_date(record.created_at)}", level=3)
        label_table(document, _fields(payload, form, json.loads(record.categories), health_ok,
                                 counts) or [("—", "aucune donnée à afficher")])
        counts.records += 1
        if record.form == LEGAL_BASIS_FORM and payload.get("legal_basis") in LEGAL_BASES:
            basis = LEGAL_BASES[payload["legal_basis"]]
            document.add_paragraph(
                f"Base légale : {basis.label} ({basis.reference}). Information : "
                f"{INFORMATION_LABELS.get(payload.get('information', ''), '—')}.")
    if counts.third_removed:
        document.add_paragraph(f"{counts.third_removed} information(s) concernant des tiers "
                               "ont été retirées de cet export.")
    if counts.health_withheld:
        document.add_paragraph(f"{counts.health_withheld} information(s) de santé ne figurent "
                               "pas ici : demandez-les au centre médico-psychologique qui les "
                               "détient.")


def _consents_section(uow: UnitOfWork, document: Any, consents: list[Consent],
                      at: datetime) -> None:
    document.add_heading("Vos consentements", level=2)
    if not consents:
        document.add_paragraph("Aucun consentement n'a été recueilli.")
        return
    names = organisation_names(uow, sorted({i for c in consents
                                             for i in json.loads(c.recipients)}))
    for consent in consents:
        label_table(document, [
            ("Recueilli le", render.french_date(consent.given_at)),
            ("Version", str(consent.version)),
            ("Décision", "accord" if consent.decision == consent_service.GRANTED else "refus"),
            ("Finalités", " ; ".join(purpose_label(p) for p in json.loads(consent.purposes))),
            ("Destinataires", " ; ".join(names.get(i, str(i))
                                         for i in json.loads(consent.recipients))),
            ("Données", ", ".join(category_label(c) for c in json.loads(consent.categories))),
            ("Forme", CHANNEL_LABELS.get(consent.channel, consent.channel)),
            ("Valable jusqu'au", render.french_date(consent.expires_at)
             if consent.expires_at else "sans date limite"),
            ("État", status_text(uow, consent, at)),
        ])
        document.add_paragraph("")


def _documents_section(uow: UnitOfWork, document: Any, case: Case) -> int:
    document.add_heading("Documents transmis", level=2)
    deliveries = routing.deliveries_of_case(uow, case.id)
    if not deliveries:
        document.add_paragraph("Aucun document n'a été transmis.")
        return 0
    names = organisation_names(uow, sorted({d.recipient_organisation_id for d in deliveries}))
    for delivery in deliveries:
        basis = (f"base légale : {LEGAL_BASES[delivery.legal_basis].label} "
                 f"({LEGAL_BASES[delivery.legal_basis].reference})"
                 if delivery.legal_basis in LEGAL_BASES else "votre consentement")
        label_table(document, [
            ("Document", delivery.document_name),
            ("Envoyé le", render.french_datetime(delivery.delivered_at or delivery.created_at)),
            ("Destinataire", names.get(delivery.recipient_organisation_id, "—")),
            ("Finalité", purpose_label(delivery.purpose)),
            ("Fondement", basis),
            ("Données", ", ".join(category_label(c) for c in json.loads(delivery.categories))),
            ("État", DELIVERY_STATUS_LABELS.get(delivery.status, delivery.status)),
        ])
        document.add_paragraph("")
    document.add_paragraph("Chaque document reprend des saisies présentées plus haut.")
    return len(deliveries)


# --- retention -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RetentionItem:
    """A case whose retention period has run out (ids, codes and dates only)."""

    case_id: int
    reference: str
    organisation: str
    purposes: tuple[str, ...]
    last_activity_at: datetime
    retention_days: int
    due_at: datetime
    held: bool  # a running or suspended instance keeps it until an administrator decides
    gravity: str | None = None  # the gravity of the facts recorded on its sheets, if any

    def as_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "reference": self.reference,
                "organisation": self.organisation, "purposes": list(self.purposes),
                "last_activity_at": self.last_activity_at.isoformat(),
                "retention_days": self.retention_days, "due_at": self.due_at.isoformat(),
                "held": self.held, "gravity": self.gravity}


@dataclass(frozen=True)
class RetentionSweep:
    at: datetime
    dry_run: bool
    due: tuple[RetentionItem, ...]
    shredded: tuple[int, ...]

    @property
    def held(self) -> tuple[int, ...]:
        return tuple(i.case_id for i in self.due if i.held)


def _latest(*values: datetime | None) -> datetime:
    return max(v for v in values if v is not None)


def _retention_item(uow: UnitOfWork, case: Case, slug: str) -> RetentionItem:
    consent_rows = uow.session.execute(select(
        Consent.purposes, Consent.recorded_at, Consent.withdrawn_at).where(
        Consent.case_id == case.id)).all()
    delivery_rows = uow.session.execute(select(
        Delivery.purpose, Delivery.created_at, Delivery.acknowledged_at).where(
        Delivery.case_id == case.id)).all()
    instance_last, live = uow.session.execute(select(
        func.max(Instance.updated_at),
        func.count(Instance.id).filter(Instance.status.in_(("running", "suspended")))).where(
        Instance.case_id == case.id)).one()
    purposes = {p for row in consent_rows for p in json.loads(row[0])} \
        | {row[0] for row in delivery_rows}
    last = _latest(case.last_activity_at, instance_last,
                   *(v for row in consent_rows for v in row[1:]),
                   *(v for row in delivery_rows for v in row[1:]))
    period = retention_of(purposes, case.gravity)
    return RetentionItem(case.id, case.reference, slug, tuple(sorted(purposes)), last,
                         period.days, last + period, bool(live), case.gravity)


def retention_due(uow: UnitOfWork, at: datetime | None = None,
                  organisation_ids: set[int] | None = None) -> list[RetentionItem]:
    """The cases (of these organisations, when given) due for destruction at `at`."""
    when = at or uow.now()
    stmt = (select(Case, Organisation.slug).join(Organisation,
                                                 Organisation.id == Case.organisation_id)
            .where(Case.wrapped_key.is_not(None),
                   Case.last_activity_at <= when - SOCIAL_FILE_RETENTION).order_by(Case.id))
    if organisation_ids is not None:
        stmt = stmt.where(Case.organisation_id.in_(organisation_ids))
    items = [_retention_item(uow, case, slug) for case, slug in uow.session.execute(stmt)]
    return [item for item in items if item.due_at <= when]


def review_retention(uow: UnitOfWork, principal: Principal) -> RetentionSweep:
    """What the retention sweep would destroy now, for an administrator; nothing changes
    but its audit row. PermissionDenied for anyone else."""
    require_role(principal, Role.ADMIN)
    return sweep_retention(uow, principal.actor, dry_run=True)


def run_retention(uow: UnitOfWork, principal: Principal) -> RetentionSweep:
    """Run the retention sweep now for an administrator (what `relais retention` does),
    destroying every due case not held by a running instance. Audited by the sweep, plus
    `admin.ops.retention_swept` naming who pressed the button. PermissionDenied otherwise."""
    require_role(principal, Role.ADMIN)
    sweep = sweep_retention(uow, principal.actor, dry_run=False)
    audit.append(uow, principal.actor, "admin.ops.retention_swept", subject_type="retention",
                 due=len(sweep.due), shredded=len(sweep.shredded), held=len(sweep.held))
    return sweep


def sweep_retention(uow: UnitOfWork, actor: Actor, *, dry_run: bool,
                    at: datetime | None = None) -> RetentionSweep:
    """Crypto-shred every case due (not held), or with `dry_run` only report them. Audited:
    `case.key_destroyed` (reason `retention`) per case, and one summary row."""
    when = at or uow.now()
    due = retention_due(uow, when)
    shredded: list[int] = []
    if not dry_run:
        for item in due:
            if not item.held:
                consent_service.shred_case(uow, actor, cases.get_case(uow, item.case_id),
                                           "retention")
                shredded.append(item.case_id)
    sweep = RetentionSweep(when, dry_run, tuple(due), tuple(shredded))
    if dry_run or due:
        audit.append(uow, actor, "consent.retention_reviewed" if dry_run
                     else "consent.retention_swept", subject_type="retention",
                     due=[i.case_id for i in due], held=list(sweep.held),
                     shredded=shredded, at=when.isoformat())
    return sweep
