"""Routing reports its deliveries as domain events (for webhooks and activity figures): one
`DeliveryCreated` per delivery and one `DeliveryAcknowledged` per signed receipt, carrying
ids and codes only, dispatched when the transaction commits — and none for a refusal."""

from __future__ import annotations

import dataclasses

import pytest
from routing_support import PURPOSE, TEMPLATES, deploy, fill, principal, run_outbox, sent, start
from sqlalchemy import select

from engine import events
from engine.db import transaction
from engine.documents.render import TEMPLATE_DIRS_ENV
from engine.identity import service as identity
from engine.routing import service as routing
from engine.routing.errors import AlreadyAcknowledged
from engine.routing.models import Delivery


@pytest.fixture(autouse=True)
def _templates(monkeypatch):
    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))


@pytest.fixture
def seen():
    """Every delivery event dispatched during the test, in order."""
    caught: list[events.Event] = []

    def catch(_uow, event):
        caught.append(event)

    kinds = (events.DeliveryCreated, events.DeliveryAcknowledged)
    for kind in kinds:
        events.subscribe(kind)(catch)
    yield caught
    for kind in kinds:
        events._handlers[kind].remove(catch)


def test_a_delivery_and_its_receipt_are_reported_once(db, seen, clock):
    _instance_id, case_id, delivery_id = sent(db)
    with db.unit_of_work() as uow:
        delivery = uow.session.get(Delivery, delivery_id)
        sender, recipient = delivery.sender_organisation_id, delivery.recipient_organisation_id
        role = delivery.recipient_role
    [created] = seen
    assert created == events.DeliveryCreated(
        created.actor, delivery_id=delivery_id, sender_organisation_id=sender,
        recipient_organisation_id=recipient, recipient_role=role, purpose=PURPOSE,
        case_id=case_id)
    assert all(isinstance(v, int | str | type(None)) for k, v in
               dataclasses.asdict(created).items() if k != "actor")

    clock.advance(hours=30, minutes=59)  # whole hours, for the figures' median delay
    with transaction(db) as uow:
        routing.acknowledge(uow, principal(uow, "demo-asso"), delivery_id)
    with transaction(db) as uow, pytest.raises(AlreadyAcknowledged):
        routing.acknowledge(uow, principal(uow, "demo-asso"), delivery_id)
    acknowledged = seen[1:]
    assert acknowledged == [events.DeliveryAcknowledged(
        acknowledged[0].actor, delivery_id=delivery_id, sender_organisation_id=sender,
        recipient_organisation_id=recipient, hours_to_acknowledge=30)]
    with db.unit_of_work() as uow:
        assert acknowledged[0].actor.user_id == identity.get_user(uow, "demo-asso").id


def test_a_refused_transmission_reports_nothing(db, seen):
    deploy(db)
    start(db)
    fill(db)  # no consent recorded: the transmission is refused
    assert run_outbox(db) == ["refused"]
    with db.unit_of_work() as uow:
        assert uow.session.scalars(select(Delivery)).all() == []
    assert seen == []
