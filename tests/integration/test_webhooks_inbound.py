"""Inbound webhooks: a partner's system, signing `v1` with its endpoint's secret, acknowledges
a delivery addressed to its organisation or posts a message. Forged, stale, malformed and
replayed calls change nothing; refusals are problem documents and are audited."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from helpers import bearer
from routing_support import TEMPLATES, actions, instance_status, sent
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook
from webhooks_support import register

from engine.documents.render import TEMPLATE_DIRS_ENV
from engine.routing.models import Receipt
from engine.runtime.models import Message

pytest_plugins = ["webhooks_support"]  # the receiver fixtures


@pytest.fixture(autouse=True)
def _templates(monkeypatch):
    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))


class Partner:
    """A partner's system calling Relais with its endpoint's secret."""

    def __init__(self, client: Any, clock: Any, endpoint: dict[str, Any]):
        self.client, self.clock, self.endpoint = client, clock, endpoint
        self.secret = endpoint["secret"]

    def call(self, body: Any, *, webhook_id: str | None = None, secret: str | None = None,
             skew: timedelta = timedelta(0), headers: dict[str, str] | None = None) -> Any:
        text = body if isinstance(body, str) else json.dumps(body)
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        at = self.clock.now() + skew
        signature = Webhook(secret or self.secret).sign(webhook_id, at, text)
        sent_headers = {"webhook-id": webhook_id,
                        "webhook-timestamp": str(int(at.timestamp())),
                        "webhook-signature": signature, "content-type": "application/json"}
        if headers is not None:
            sent_headers = headers
        return self.client.post(f"/webhooks/in/{self.endpoint['id']}", data=text,
                                headers=sent_headers)


@pytest.fixture
def partner(client, db, clock, receiver) -> Partner:
    endpoint = register(client, bearer(db, "demo-admin"), receiver, ["delivery.created"])
    return Partner(client, clock, endpoint)


def receipts(db) -> int:
    with db.unit_of_work() as uow:
        return len(uow.session.scalars(select(Receipt)).all())


def refused(db) -> list[str]:
    return [json.loads(e.details)["code"] for e in actions(db, "webhooks.inbound_refused")]


def acknowledge(delivery_id: Any) -> dict[str, Any]:
    return {"type": "delivery.acknowledge", "data": {"delivery_id": delivery_id}}


def test_the_partner_acknowledges_a_delivery_once_even_when_the_call_is_replayed(db, partner):
    instance_id, _case, delivery_id = sent(db)
    answer = partner.call(acknowledge(delivery_id), webhook_id="msg_ack_1")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["status"] == "acknowledged"
    assert receipts(db) == 1
    assert instance_status(db, instance_id) == "completed"  # the sender's wait is over
    [ack] = actions(db, "routing.acknowledged")
    assert ack.actor_label == f"webhook:{partner.endpoint['id']}"
    again = partner.call(acknowledge(delivery_id), webhook_id="msg_ack_1")
    assert again.status_code == 200 and again.get_json() == {"status": "duplicate"}
    assert receipts(db) == 1
    assert refused(db) == []


@pytest.mark.parametrize("case", ["forged", "stale", "future", "no_signature", "bad_stamp"])
def test_forged_stale_or_headerless_calls_are_refused_audited_and_change_nothing(db, partner,
                                                                                 case):
    _instance, _case, delivery_id = sent(db)
    body = acknowledge(delivery_id)
    if case == "forged":
        answer = partner.call(body, secret="whsec_" + "QUFB" * 8)
        expected = (401, "webhook_signature_invalid")
    elif case in ("stale", "future"):
        skew = timedelta(minutes=6) * (-1 if case == "stale" else 1)
        answer = partner.call(body, skew=skew)
        expected = (401, "webhook_timestamp_stale")
    elif case == "no_signature":
        answer = partner.call(body, headers={"webhook-id": "msg_x", "webhook-timestamp": "1"})
        expected = (400, "webhook_headers_invalid")
    else:
        answer = partner.call(body, headers={"webhook-id": "msg_x", "webhook-timestamp": "hier",
                                             "webhook-signature": "v1,AAAA"})
        expected = (400, "webhook_headers_invalid")
    assert (answer.status_code, answer.get_json()["code"]) == expected
    assert answer.mimetype == "application/problem+json"
    assert answer.get_json()["detail"]  # a French explanation
    assert receipts(db) == 0
    assert refused(db) == [expected[1]]


@pytest.mark.parametrize("body", ["{pas du json", {"type": "delivery.acknowledge"},
                                  {"type": "autre", "data": {}}, acknowledge("12"),
                                  {"type": "message", "data": {"name": "x"}}])
def test_malformed_bodies_are_400_problems_and_change_nothing(db, partner, body):
    answer = partner.call(body)
    assert answer.status_code == 400 and answer.get_json()["code"] == "webhook_body_invalid"
    assert refused(db) == ["webhook_body_invalid"]


def test_another_organisations_delivery_cannot_be_acknowledged(client, db, clock, receiver):
    _instance, _case, delivery_id = sent(db)  # addressed to asso-victimes-demo
    police = register(client, bearer(db, "demo-admin"), receiver, ["delivery.created"],
                      organisation="commissariat-demo")
    answer = Partner(client, clock, police).call(acknowledge(delivery_id))
    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"
    assert receipts(db) == 0
    assert [e.details for e in actions(db, "routing.access_refused")]


def test_unknown_inactive_and_v1a_endpoints_accept_no_call(client, db, clock, receiver,
                                                            partner):
    admin = bearer(db, "demo-admin")
    v1a = register(client, admin, receiver, ["delivery.created"], scheme="v1a")
    fake = Partner(client, clock, {"id": v1a["id"], "secret": "whsec_" + "QUFB" * 8})
    assert fake.call(acknowledge(1)).status_code == 401
    ghost = Partner(client, clock, {"id": 99999, "secret": partner.secret})
    assert ghost.call(acknowledge(1)).status_code == 401
    client.delete(f"/api/v1/webhooks/endpoints/{partner.endpoint['id']}", headers=admin)
    assert partner.call(acknowledge(1)).status_code == 401
    assert refused(db) == ["webhook_signature_invalid"] * 3


def test_a_message_is_received_as_for_the_organisation(db, partner):
    body = {"type": "message", "data": {"name": "retour_partenaire", "message_id": "m-1",
                                        "correlation": {"case_id": 1}, "payload": {"n": 1}}}
    answer = partner.call(body)
    assert answer.status_code == 200 and answer.get_json()["status"] == "buffered"
    assert partner.call(body).get_json()["status"] == "duplicate"  # same message_id
    with db.unit_of_work() as uow:
        assert len(uow.session.scalars(select(Message).where(
            Message.name == "retour_partenaire")).all()) == 1
    reserved = {"type": "message", "data": {"name": "accuse_reception", "message_id": "m-2",
                                            "correlation": {"case_id": 1}}}
    assert partner.call(reserved).status_code == 403


def test_during_a_rotation_the_old_secret_is_accepted_for_24_hours(client, db, clock,
                                                                   partner):
    _instance, _case, delivery_id = sent(db)
    old = partner.secret
    client.post(f"/api/v1/webhooks/endpoints/{partner.endpoint['id']}/rotate",
                headers=bearer(db, "demo-admin"))
    clock.advance(hours=24, seconds=1)
    assert partner.call(acknowledge(delivery_id), secret=old).status_code == 401
    clock.advance(hours=-2)
    assert partner.call(acknowledge(delivery_id), secret=old).status_code == 200
