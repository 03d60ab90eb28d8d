"""Domain events become webhook messages and email notices, in the transaction that
produced them.

Each handler decides which organisations are told and writes one message per subscribed
endpoint (`service.enqueue`) and one notice per person who asked (`notices.notify`); nothing
is sent from here. Data: identifiers, codes and dates.
"""

from __future__ import annotations

from engine import events
from engine.db import UnitOfWork
from engine.routing import service as routing
from webhooks import notices
from webhooks.service import enqueue


@events.subscribe(events.DeliveryCreated)
def delivery_created(uow: UnitOfWork, event: events.DeliveryCreated) -> None:
    enqueue(uow, "delivery.created", {
        "delivery_id": event.delivery_id, "sender_organisation_id": event.sender_organisation_id,
        "recipient_organisation_id": event.recipient_organisation_id,
        "recipient_role": event.recipient_role, "purpose": event.purpose},
        [event.recipient_organisation_id])
    notices.notify(uow, "document", event.recipient_organisation_id, event.recipient_role)


@events.subscribe(events.DeliveryAcknowledged)
def delivery_acknowledged(uow: UnitOfWork, event: events.DeliveryAcknowledged) -> None:
    enqueue(uow, "delivery.acknowledged", {
        "delivery_id": event.delivery_id,
        "recipient_organisation_id": event.recipient_organisation_id},
        [event.sender_organisation_id])


@events.subscribe(events.TaskCreated)
def task_created(uow: UnitOfWork, event: events.TaskCreated) -> None:
    enqueue(uow, "task.created", {
        "task_id": event.task_id, "instance_id": event.instance_id, "role": event.role,
        "process_id": event.process_id}, [event.organisation_id])
    notices.notify(uow, "task", event.organisation_id, event.role)


@events.subscribe(events.InstanceCompleted)
def instance_completed(uow: UnitOfWork, event: events.InstanceCompleted) -> None:
    enqueue(uow, "instance.completed", {
        "instance_id": event.instance_id, "process_id": event.process_id},
        [event.organisation_id])


@events.subscribe(events.ConsentWithdrawn)
def consent_withdrawn(uow: UnitOfWork, event: events.ConsentWithdrawn) -> None:
    """Told to the organisations that received documents under that consent."""
    received = routing.deliveries_of_case(uow, event.case_id, consent_id=event.consent_id)
    enqueue(uow, "consent.withdrawn", {"consent_uid": event.consent_uid},
            {d.recipient_organisation_id for d in received})


@events.subscribe(events.IncidentOpened)
def incident_opened(uow: UnitOfWork, event: events.IncidentOpened) -> None:
    enqueue(uow, "incident.opened", {
        "incident_id": event.incident_id, "instance_id": event.instance_id,
        "kind": event.kind}, None)


@events.subscribe(events.AuditCheckpointed)
def audit_checkpointed(uow: UnitOfWork, event: events.AuditCheckpointed) -> None:
    enqueue(uow, "audit.checkpoint", {
        "number": event.number, "seq": event.seq, "hash": event.hash}, None)
