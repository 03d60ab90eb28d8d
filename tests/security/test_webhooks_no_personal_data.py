"""A webhook body never carries a value typed into a form: protocols are run with every
free-text field holding a marker while partners' receivers (every organisation involved,
every event type) take what Relais sends; the marker is looked for in what they received
and in every webhook row."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from helpers import bearer
from protocol_support import Territory
from sqlalchemy import select
from test_no_personal_data_at_rest import _cmp_binome, _violence_conjugale
from webhooks_support import Receiver, register, relay, serve

from engine.audit import service as audit
from engine.db import transaction
from webhooks.models import WebhookAttempt, WebhookMessage
from webhooks.service import EVENT_TYPES

pytest_plugins = ["webhooks_support"]  # the receiver fixtures
ORGANISATIONS = ["asso-iscg-demo", "asso-victimes-demo", "commissariat-demo", "cmp-demo"]


@pytest.fixture
def receivers(allow_loopback: None) -> Iterator[list[Receiver]]:
    servers = [serve(Receiver()) for _ in ORGANISATIONS]
    started = [next(s) for s in servers]
    yield started
    for server in servers:
        next(server, None)


def stored(db) -> list[str]:
    with db.unit_of_work() as uow:
        return [m.payload for m in uow.session.scalars(select(WebhookMessage))] + \
            [a.excerpt or "" for a in uow.session.scalars(select(WebhookAttempt))]


def test_webhook_bodies_never_contain_what_was_typed_into_forms(client, db, clock, receivers):
    admin = bearer(db, "demo-admin")
    for receiver, organisation in zip(receivers, ORGANISATIONS, strict=True):
        register(client, admin, receiver, list(EVENT_TYPES), organisation=organisation)
    t = Territory(client, db, clock)
    marker = f"MARQUEUR{uuid.uuid4().hex[:12]}"
    _violence_conjugale(t, marker)
    _cmp_binome(t, marker)
    with transaction(db) as uow:
        audit.checkpoint(uow)
    relay(db)

    received = [r for receiver in receivers for r in receiver.received]
    types = {r.json["type"] for r in received}
    assert {"delivery.created", "delivery.acknowledged", "task.created",
            "instance.completed", "audit.checkpoint"} <= types
    assert all(r.verified for r in received)
    for r in received:
        assert marker not in r.body and marker not in json.dumps(r.headers)
        assert set(r.json) == {"type", "timestamp", "data"}
    assert all(marker not in text for text in stored(db))
    # the witness: the marker was typed, and reached the document's recipient
    sheet = t.inbox("demo-police")[0]
    assert marker in t.document("demo-police", sheet["id"])
