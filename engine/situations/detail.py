"""The situation page's read model: people, register, notes, protocols and their state,
documents with receipts, consents in plain words, and a timeline in words from the audit log.

Everything is in French words: no code, slug, process id or ISO date leaves this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import load_only

from engine.audit import service as audit
from engine.audit.models import AuditEntry
from engine.cases import service as cases
from engine.cases.models import Case
from engine.consent import catalogue
from engine.consent import service as consent
from engine.db import UnitOfWork
from engine.documents.render import french_datetime
from engine.dossiers.models import Piece
from engine.identity.models import Organisation, User
from engine.identity.service import Principal
from engine.itp.models import ItpBooking, ItpSession
from engine.routing import service as routing
from engine.routing.models import Delivery
from engine.runtime import service as runtime
from engine.runtime.models import HumanTask, Incident, Instance, ProcessVersion
from engine.situations import service
from engine.situations.vocabulary import (
    ARRIVALS,
    KNOWN_LABELS,
    ORIENTATIONS,
    PERSON_KINDS,
    PROBLEMS,
)

INSTANCE_STATES = {"running": "en cours", "suspended": "suspendu", "completed": "terminé",
                   "terminated": "arrêté"}
DELIVERY_STATES = {routing.SEALED: "en préparation", routing.DELIVERED: "remis, pas encore ouvert",
                   routing.OPENED: "ouvert par le destinataire",
                   routing.ACKNOWLEDGED: "accusé de réception signé", "cancelled": "annulé"}
CONSENT_STATES = {"active": "en vigueur", "refused": "refusé", "superseded": "remplacé",
                  "withdrawn": "retiré", "expired": "expiré"}
CHANNELS = {"oral": "oralement", "written": "par écrit", "electronic": "par voie électronique"}


@dataclass
class Event:
    at: datetime
    what: str
    who: str = ""


@dataclass
class Step:
    name: str
    task_id: int | None = None  # set when the viewer may do it
    due_at: datetime | None = None


@dataclass
class Protocol:
    id: int
    name: str
    state: str
    started_at: datetime
    ready: list[Step] = field(default_factory=list)
    done: list[Event] = field(default_factory=list)
    problem: str | None = None
    itp_session: str | None = None  # « 8 décembre 2026 à 14 h 00, salle du conseil »


@dataclass
class Document:
    name: str
    direction: str  # « envoyé à … » or « reçu de … »
    at: datetime | None
    state: str
    receipt_at: datetime | None = None
    delivery_id: int | None = None  # set when the viewer may open it
    piece_id: int | None = None  # a piece kept in the situation (openable by its holder)


@dataclass
class ConsentView:
    id: int
    decision: str
    state: str
    purposes: list[str]
    recipients: list[str]
    categories: list[str]
    channel: str
    given_at: datetime
    expires_at: datetime | None
    withdrawable: bool = False  # granted and still in force: the page offers its withdrawal
    given_by: str = ""


@dataclass
class ReceptionView:
    received_on: Any
    person: str
    kind: str
    arrival: str
    problems: list[str]
    orientations: list[str]
    known: str
    minors: bool


@dataclass
class Situation:
    id: int
    reference: str
    destroyed: bool
    opened_at: datetime
    people: list[service.Person]
    receptions: list[ReceptionView]
    notes: list[tuple[datetime, str]]
    protocols: list[Protocol]
    documents: list[Document]
    consents: list[ConsentView]
    timeline: list[Event]
    startable: list[tuple[str, str]]  # (process id for the form, name)
    may_receive: bool


def situation(uow: UnitOfWork, principal: Principal, case_id: int) -> Situation:
    """Everything the situation page shows, for a professional of its organisation. Audited."""
    case = cases.visible_case(uow, principal, case_id)
    people = service.people_of(uow, principal, case)
    instances = list(uow.session.scalars(select(Instance).where(Instance.case_id == case.id)
                                         .order_by(Instance.id)))
    names = service.protocol_names(uow, {i.process_id for i in instances})
    audit.append(uow, principal.actor, "situations.viewed", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id)
    return Situation(
        id=case.id, reference=case.reference, destroyed=case.wrapped_key is None,
        opened_at=case.opened_at, people=people,
        receptions=_receptions(uow, case, people),
        notes=service.notes_of(uow, principal, case),
        protocols=[_protocol(uow, principal, i, names[i.process_id]) for i in instances],
        documents=_documents(uow, principal, case),
        consents=[_consent(uow, c) for c in consent.consents_of(uow, case)],
        timeline=_timeline(uow, case, instances, names),
        startable=startable(uow, principal), may_receive=service.may_receive(principal))


def startable(uow: UnitOfWork, principal: Principal) -> list[tuple[str, str]]:
    """The protocols the principal may start (only those), newest versions, without loading
    their diagrams (this runs for the menu of every page)."""
    newest = (select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
              .where(ProcessVersion.withdrawn_at.is_(None))  # withdrawn: not startable
              .group_by(ProcessVersion.process_id).subquery())
    versions = uow.session.scalars(
        select(ProcessVersion).options(load_only(ProcessVersion.process_id, ProcessVersion.name,
                                                 ProcessVersion.starter_role))
        .join(newest, (ProcessVersion.process_id == newest.c.process_id)
              & (ProcessVersion.version == newest.c.v)).order_by(ProcessVersion.name))
    return [(v.process_id, v.name) for v in versions if runtime.can_start(principal, v)]


def _receptions(uow: UnitOfWork, case: Case, people: list[service.Person]) -> list[ReceptionView]:
    names = {p.id: p.identity.display if p.identity else "(données détruites)" for p in people}
    known = {True: "oui", False: "non", None: "inconnu"}
    return [ReceptionView(
        received_on=r.received_on, person=names.get(r.person_id, ""),
        kind=PERSON_KINDS.get(r.person_kind, ""), arrival=ARRIVALS.get(r.arrival, ""),
        problems=[PROBLEMS[c] for c in json.loads(r.problems) if c in PROBLEMS],
        orientations=[ORIENTATIONS[c] for c in json.loads(r.orientations) if c in ORIENTATIONS],
        known=KNOWN_LABELS[known[r.known_to_social_services]], minors=r.minors_involved)
        for r in service.receptions_of(uow, case)]


def _protocol(uow: UnitOfWork, principal: Principal, instance: Instance, name: str) -> Protocol:
    rows = list(uow.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)
                                    .order_by(HumanTask.id)))
    mine = {t["id"] for t in runtime.instance_summary(uow, principal, instance)["ready_tasks"]}
    incident = uow.session.scalars(select(Incident).where(
        Incident.instance_id == instance.id, Incident.resolved_at.is_(None))).first()
    return Protocol(
        id=instance.id, name=name, state=INSTANCE_STATES.get(instance.status, "inconnu"),
        started_at=instance.started_at,
        ready=[Step(r.name, r.id if r.id in mine else None, r.due_at)
               for r in rows if r.state == "ready"],
        done=[Event(r.completed_at, r.name) for r in rows
              if r.state == "completed" and r.completed_at],
        problem=(f"Une étape automatique a échoué : {incident.error} L'équipe d'administration "
                 "est prévenue ; vous n'avez rien à refaire, le protocole reprendra après "
                 "correction.") if incident else None,
        itp_session=_itp_session(uow, instance))


def _itp_session(uow: UnitOfWork, instance: Instance) -> str | None:
    """The ITP session the request is booked into, in words (date, time and place)."""
    session = uow.session.scalars(
        select(ItpSession).join(ItpBooking, ItpBooking.session_id == ItpSession.id)
        .where(ItpBooking.instance_id == instance.id)
        .order_by(ItpBooking.booked_at.desc())).first()
    if session is None:
        return None
    text = french_datetime(session.starts_at)
    if session.place:
        text += f", {session.place}"
    return text + (" (séance annulée)" if session.cancelled_at else "")


def _documents(uow: UnitOfWork, principal: Principal, case: Case) -> list[Document]:
    orgs = {o.id: o.name for o in uow.session.scalars(select(Organisation))}
    sent = [Document(d.document_name, f"envoyé à {orgs.get(d.recipient_organisation_id, '')}",
                     d.delivered_at or d.created_at, DELIVERY_STATES.get(d.status, ""),
                     d.acknowledged_at)
            for d in routing.deliveries_of_case(uow, case.id)]
    received = []
    for piece, delivery in uow.session.execute(
            select(Piece, Delivery).outerjoin(Delivery, Delivery.id == Piece.delivery_id)
            .where(Piece.case_id == case.id).order_by(Piece.document_date, Piece.id)):
        origin = f"reçu de {orgs.get(delivery.sender_organisation_id, '')}" if delivery \
            else "produit dans cette situation"
        received.append(Document(piece.document_name, origin, piece.document_date, "classé",
                                 delivery.acknowledged_at if delivery else None,
                                 piece_id=piece.id))
    return sent + received


def consent_view(uow: UnitOfWork, item: Any) -> ConsentView:
    """One consent in plain words (purposes, recipients' names, data, how, until when)."""
    return _consent(uow, item)


def _consent(uow: UnitOfWork, item: Any) -> ConsentView:
    ids = json.loads(item.recipients)
    orgs = {o.id: o.name for o in uow.session.scalars(
        select(Organisation).where(Organisation.id.in_(ids)))}
    status = consent.status_of(uow, item, uow.now())
    return ConsentView(
        id=item.id, decision="accordé" if item.decision == "granted" else "refusé",
        state=CONSENT_STATES.get(status, ""), withdrawable=status == "active"
        and item.decision == consent.GRANTED,
        purposes=[catalogue.PURPOSES[p].label if p in catalogue.PURPOSES else "autre finalité"
                  for p in json.loads(item.purposes)],
        recipients=[orgs.get(i, "organisation inconnue") for i in ids],
        categories=[catalogue.category_label(c) for c in json.loads(item.categories)],
        channel=CHANNELS.get(item.channel, ""), given_at=item.given_at,
        expires_at=item.expires_at, given_by=catalogue.given_by_label(item.given_by))


# --- timeline ------------------------------------------------------------------------------

CASE_ACTIONS = {
    "case.opened": "Situation ouverte",
    "situations.person_received": "Personne reçue",
    "situations.person_added": "Personne ajoutée à la situation",
    "situations.orientation_received": "Situation ouverte à la réception d'une orientation de "
                                       "la police ou de la gendarmerie",
    "consent.recorded": "Consentement recueilli",
    "consent.withdrawn": "Consentement retiré",
    "consent.legal_basis_invoked": "Transmission sur une base légale",
    "consent.legal_review_opened": "Vérification juridique demandée",
    "consent.legal_review_answered": "Vérification juridique rendue",
    "consent.receipt_printed": "Reçu de consentement imprimé",
    "consent.access_exported": "Copie de ses données remise à la personne",
    "consent.destruction_requested": "Destruction des données demandée",
    "case.key_destroyed": "Données de la situation détruites",
    "dossiers.destroyed": "Dossier détruit",
}
RECORD_KINDS = {"note": "Note ajoutée", "form": "Formulaire enregistré"}


def _timeline(uow: UnitOfWork, case: Case, instances: list[Instance],
              names: dict[str, str]) -> list[Event]:
    """What happened and when, newest first, in words (codes and ids never shown)."""
    by_instance = {str(i.id): names[i.process_id] for i in instances}
    deliveries = {str(d.id): d.document_name for d in routing.deliveries_of_case(uow, case.id)}
    entries = uow.session.scalars(select(AuditEntry).where(or_(
        (AuditEntry.subject_type == "case") & (AuditEntry.subject_id == str(case.id)),
        (AuditEntry.subject_type == "instance") & AuditEntry.subject_id.in_(by_instance),
        (AuditEntry.subject_type == "delivery") & AuditEntry.subject_id.in_(deliveries),
    )).order_by(AuditEntry.seq.desc()).limit(200))
    tasks = {str(t.id): t.name for t in uow.session.scalars(select(HumanTask).where(
        HumanTask.instance_id.in_([i.id for i in instances])))} if instances else {}
    users = {u.id: u.display_name for u in uow.session.scalars(select(User))}
    events = []
    for entry in entries:
        what = _words(entry, json.loads(entry.details), by_instance, deliveries, tasks)
        if what:
            events.append(Event(entry.at, what, users.get(entry.actor_user_id or 0, "")))
    return events


def _words(entry: AuditEntry, details: dict[str, Any], protocols: dict[str, str],
           deliveries: dict[str, str], tasks: dict[str, str]) -> str | None:
    action = entry.action
    if action in CASE_ACTIONS:
        return CASE_ACTIONS[action]
    if action == "case.record_stored":
        return RECORD_KINDS.get(details.get("kind", ""))
    protocol = protocols.get(entry.subject_id or "", "")
    if action == "runtime.instance_started":
        return f"Protocole « {protocol} » lancé"
    if action == "runtime.instance_completed":
        return f"Protocole « {protocol} » terminé"
    if action == "runtime.task_completed":
        return f"« {tasks.get(str(details.get('task')), 'Étape')} » fait ({protocol})"
    if action == "consent.transmission_cancelled":
        return f"Transmission annulée ({protocol})"
    document = deliveries.get(entry.subject_id or "", "")
    if action == "routing.transmitted":
        return f"Document « {document} » envoyé"
    if action == "routing.acknowledged":
        return f"Accusé de réception reçu pour « {document} »"
    return None
