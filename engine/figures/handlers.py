"""The figures' reactions to domain events: facts written in the same transaction.

`CaseShredding` deletes the facts that, with the others, could point at a person (sex and
commune: in a small commune, sex + age band + month may be one person); docs/figures.md."""

from __future__ import annotations

from sqlalchemy import delete

from engine import events
from engine.cases import service as cases
from engine.db import UnitOfWork
from engine.figures import catalogue
from engine.figures import service as figures
from engine.figures.models import Fact
from engine.identity.models import Organisation

# Facts deleted with their situation: alone they are codes, together they could identify.
IDENTIFYING = ("sexe", "commune")


@events.subscribe(events.RecordStored)
def count_record(uow: UnitOfWork, event: events.RecordStored) -> None:
    case = cases.get_case(uow, event.case_id)
    situation = figures.pseudonym(uow, "situation", case.reference)
    stats = list(event.stats)
    facts = [(i, c) for i, c in stats if i != "binome_cmp"]  # raw answers: see binome_activity
    facts += [("binome_cmp", code) for code in catalogue.binome_activity(event.form, stats)]
    figures.record_facts(uow, organisation_id=event.organisation_id or case.organisation_id,
                         situation=situation, subject=situation,
                         source=event.form or "enregistrement", facts=facts)


@events.subscribe(events.PersonReceived)
def count_person(uow: UnitOfWork, event: events.PersonReceived) -> None:
    case = cases.get_case(uow, event.case_id)
    facts = [("personne_type", event.person_kind), ("arrivee", event.arrival),
             ("connu_services_sociaux", event.known),
             ("mineurs_concernes", "oui" if event.minors_involved else "non"),
             ("sexe", event.sex), ("commune", event.commune or "non_renseignee"),
             *[("problematiques", code) for code in event.problems],
             *[("orientations", code) for code in event.orientations]]
    if event.age_band:
        facts.append(("tranche_age", event.age_band))
    figures.record_facts(uow, organisation_id=event.organisation_id,
                         situation=figures.pseudonym(uow, "situation", case.reference),
                         subject=figures.pseudonym(uow, "person", event.person_id),
                         source="registre", facts=facts, month=event.month)


@events.subscribe(events.DeliveryCreated)
def count_delivery(uow: UnitOfWork, event: events.DeliveryCreated) -> None:
    recipient = uow.session.get(Organisation, event.recipient_organisation_id)
    case = cases.get_case(uow, event.case_id) if event.case_id else None
    situation = figures.pseudonym(uow, "situation", case.reference if case else "aucune")
    facts = [("documents_destinataire", recipient.kind if recipient else "autre")]
    if event.purpose:
        facts.append(("documents_finalite", event.purpose))
    figures.record_facts(uow, organisation_id=event.sender_organisation_id, situation=situation,
                         subject=figures.pseudonym(uow, "delivery", event.delivery_id),
                         source="envoi", facts=facts)


@events.subscribe(events.InstanceCompleted)
def count_completion(uow: UnitOfWork, event: events.InstanceCompleted) -> None:
    if event.organisation_id is None:
        return
    figures.record_facts(uow, organisation_id=event.organisation_id,
                         situation=figures.pseudonym(uow, "instance", event.instance_id),
                         subject=figures.pseudonym(uow, "instance", event.instance_id),
                         source="protocole", facts=[("protocoles_termines", event.process_id)])


@events.subscribe(events.DeliveryAcknowledged)
def count_acknowledgement(uow: UnitOfWork, event: events.DeliveryAcknowledged) -> None:
    if event.hours_to_acknowledge is None:
        return
    figures.record_facts(uow, organisation_id=event.sender_organisation_id,
                         situation=figures.pseudonym(uow, "delivery", event.delivery_id),
                         subject=figures.pseudonym(uow, "delivery", event.delivery_id),
                         source="accuse", facts=[("delai_accuse",
                                                   str(event.hours_to_acknowledge))])


@events.subscribe(events.InstanceStarted)
def count_start(uow: UnitOfWork, event: events.InstanceStarted) -> None:
    if event.organisation_id is None:
        return
    figures.record_facts(uow, organisation_id=event.organisation_id,
                         situation=figures.pseudonym(uow, "instance", event.instance_id),
                         subject=figures.pseudonym(uow, "instance", event.instance_id),
                         source="protocole", facts=[("protocoles_demarres", event.process_id)])


@events.subscribe(events.CaseShredding)
def forget_identifying_facts(uow: UnitOfWork, event: events.CaseShredding) -> int:
    """The situation's sex and commune facts go with it; its other facts stay (each is one
    code of a short list, a month and an organisation, shared by many people)."""
    case = cases.get_case(uow, event.case_id)
    situation = figures.pseudonym(uow, "situation", case.reference)
    result = uow.session.execute(delete(Fact).where(Fact.situation_key == situation,
                                                    Fact.indicator.in_(IDENTIFYING)))
    return int(result.rowcount or 0)
