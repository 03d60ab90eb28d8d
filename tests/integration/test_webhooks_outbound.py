"""Outbound webhooks: registration through the API (administrators only, URL guarded, secret
shown once), delivery to a real loopback receiver that verifies the Standard Webhooks
signature, retries with the same webhook-id, rotation, disabling after 5 days, leases,
attempts and replay."""

from __future__ import annotations

import pytest
from helpers import bearer
from sqlalchemy import select
from webhooks_support import API, register, relay

from engine.audit import service as audit
from engine.audit.models import AuditEntry
from engine.db import transaction
from webhooks import delivery
from webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

pytest_plugins = ["webhooks_support"]  # the receiver fixtures
ENDPOINTS = f"{API}/webhooks/endpoints"


@pytest.fixture
def admin(db) -> dict[str, str]:
    return bearer(db, "demo-admin")


def checkpoint(db) -> None:
    """Something happens: the platform signs the audit log's head (event audit.checkpoint)."""
    with transaction(db) as uow:
        audit.append(uow, audit.SYSTEM, "test.something")
        audit.checkpoint(uow)


def messages(db) -> list[WebhookMessage]:
    with db.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(WebhookMessage).order_by(WebhookMessage.id)))
        uow.session.expunge_all()  # readable after the unit of work ends
        return rows


def test_an_administrator_registers_an_endpoint_and_gets_its_secret_once(client, db, admin,
                                                                          receiver):
    created = register(client, admin, receiver, ["audit.checkpoint", "delivery.created"])
    assert created["secret"].startswith("whsec_") and created["scheme"] == "v1"
    assert created["organisation"] == "asso-victimes-demo"
    assert created["event_types"] == ["audit.checkpoint", "delivery.created"]
    listed = client.get(ENDPOINTS, headers=admin).get_json()
    assert [e["id"] for e in listed] == [created["id"]]
    assert all("secret" not in e for e in listed)
    one = client.get(f"{ENDPOINTS}/{created['id']}", headers=admin).get_json()
    assert "secret" not in one and one["url"] == receiver.url
    with db.unit_of_work() as uow:  # stored wrapped, never in clear
        row = uow.session.get(WebhookEndpoint, created["id"])
        assert created["secret"].encode() not in row.secret
    assert client.delete(f"{ENDPOINTS}/{created['id']}", headers=admin).status_code == 204
    assert client.get(ENDPOINTS, headers=admin).get_json() == []
    assert client.get(f"{ENDPOINTS}/{created['id']}", headers=admin).status_code == 404


def test_registration_refuses_non_administrators_bad_types_and_guarded_urls(client, db, admin,
                                                                             receiver):
    body = {"organisation": "asso-victimes-demo", "url": receiver.url,
            "event_types": ["audit.checkpoint"]}
    refused = client.post(ENDPOINTS, headers=bearer(db, "demo-asso"), json=body)
    assert refused.status_code == 403
    assert client.post(ENDPOINTS, json=body).status_code == 401
    unknown = client.post(ENDPOINTS, headers=admin, json={**body, "event_types": ["x.y"]})
    assert unknown.status_code == 422 and "x.y" in unknown.get_json()["detail"]
    private = client.post(ENDPOINTS, headers=admin, json={**body, "url": "https://10.0.0.7/h"})
    assert private.status_code == 422
    assert private.get_json()["code"] == "webhook_url_refused"
    plain = client.post(ENDPOINTS, headers=admin, json={**body, "url": "ftp://127.0.0.1/"})
    assert plain.status_code == 422
    assert client.post(ENDPOINTS, headers=admin, json={**body, "scheme": "v2"}).status_code \
        == 422
    assert client.get(ENDPOINTS, headers=admin).get_json() == []
    assert client.get(ENDPOINTS, headers=bearer(db, "demo-asso")).status_code == 403


def test_a_message_is_signed_v1_and_verifies_with_standardwebhooks(client, db, admin,
                                                                    receiver):
    register(client, admin, receiver, ["audit.checkpoint"])
    checkpoint(db)
    assert relay(db) == ["delivered"]
    [got] = receiver.received
    assert got.verified, got.headers
    assert got.json["type"] == "audit.checkpoint"
    assert set(got.json) == {"type", "timestamp", "data"}
    assert set(got.json["data"]) == {"number", "seq", "hash"}
    assert got.headers["content-type"] == "application/json"
    [message] = messages(db)
    assert message.status == "delivered" and message.webhook_id == got.webhook_id


def test_a_v1a_endpoint_gets_an_ed25519_signature_checked_with_its_public_key(
        client, db, admin, receiver_v1a):
    created = register(client, admin, receiver_v1a, ["audit.checkpoint"], scheme="v1a")
    assert created["secret"].startswith("whpk_")
    checkpoint(db)
    assert relay(db) == ["delivered"]
    [got] = receiver_v1a.received
    assert got.verified and got.headers["webhook-signature"].startswith("v1a,")
    receiver_v1a.secret = "whpk_" + "A" * 43 + "="  # another key does not verify it
    assert not receiver_v1a.verify(got.headers, got.body)


def test_an_outage_is_retried_with_the_same_webhook_id_and_every_attempt_is_kept(
        client, db, clock, admin, receiver):
    created = register(client, admin, receiver, ["audit.checkpoint"])
    receiver.answers = [503, 500]
    checkpoint(db)
    assert relay(db) == ["retry"]
    assert relay(db) == []  # not due before its delay
    clock.advance(seconds=6)
    assert relay(db) == ["retry"]
    clock.advance(seconds=200)
    assert relay(db) == []  # the second delay is about 5 minutes
    clock.advance(seconds=200)
    assert relay(db) == ["delivered"]
    ids = {r.webhook_id for r in receiver.received}
    assert len(receiver.received) == 3 and len(ids) == 1
    assert [r.verified for r in receiver.received] == [False, False, True]
    history = client.get(f"{ENDPOINTS}/{created['id']}/attempts", headers=admin).get_json()
    assert [a["number"] for a in history] == [3, 2, 1]
    assert [a["status_code"] for a in history] == [200, 500, 503]
    assert [a["outcome"] for a in history] == ["delivered", "http_error", "http_error"]
    assert history[-1]["excerpt"] == "indisponible" and history[0]["latency_ms"] >= 0


def test_the_retry_schedule_ends_in_failure_and_a_replay_sends_it_again(client, db, clock,
                                                                        admin, receiver):
    register(client, admin, receiver, ["audit.checkpoint"])
    receiver.answers = [503] * 8
    checkpoint(db)
    outcomes = []
    for _ in range(8):
        outcomes += relay(db)
        clock.advance(hours=11)
    assert outcomes == ["retry"] * 7 + ["failed"]
    [message] = messages(db)
    assert message.status == "failed" and message.last_error == "Réponse HTTP 503."
    replayed = client.post(f"{API}/webhooks/messages/{message.id}/replay", headers=admin)
    assert replayed.status_code == 202 and replayed.get_json()["status"] == "pending"
    assert relay(db) == ["delivered"]
    assert {r.webhook_id for r in receiver.received} == {message.webhook_id}
    assert client.post(f"{API}/webhooks/messages/999999/replay",
                       headers=admin).status_code == 404
    assert client.post(f"{API}/webhooks/messages/{message.id}/replay",
                       headers=bearer(db, "demo-asso")).status_code == 403


def test_an_endpoint_failing_for_five_days_is_disabled_and_says_why(client, db, clock, admin,
                                                                    receiver):
    created = register(client, admin, receiver, ["audit.checkpoint"])
    receiver.answers = [503] * 100
    for _day in range(6):
        checkpoint(db)
        relay(db)
        clock.advance(days=1)
    one = client.get(f"{ENDPOINTS}/{created['id']}", headers=admin).get_json()
    assert one["active"] is False
    assert "échecs continus" in one["disabled_reason"] and "503" in one["disabled_reason"]
    sent = len(receiver.received)
    checkpoint(db)
    clock.advance(days=1)
    assert relay(db) == [] and len(receiver.received) == sent  # nothing more is sent
    with db.unit_of_work() as uow:
        assert uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "webhooks.endpoint_disabled")).first() is not None


def test_a_redirect_is_not_followed(client, db, admin, receiver):
    register(client, admin, receiver, ["audit.checkpoint"])
    receiver.answers = [302]
    receiver.extra_headers = {"location": "http://127.0.0.1:9/ailleurs"}
    checkpoint(db)
    assert relay(db) == ["retry"]
    assert len(receiver.received) == 1


def test_rotation_sends_both_signatures_for_24_hours_then_only_the_new_one(client, db, clock,
                                                                          admin, receiver):
    created = register(client, admin, receiver, ["audit.checkpoint"])
    old = receiver.secret
    rotated = client.post(f"{ENDPOINTS}/{created['id']}/rotate", headers=admin).get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != old
    checkpoint(db)
    relay(db)
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split()) == 2
    for secret in (old, rotated["secret"]):
        receiver.secret = secret
        assert receiver.verify(got.headers, got.body)
    clock.advance(hours=24, seconds=1)
    checkpoint(db)
    relay(db)
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split()) == 1
    receiver.secret = old
    assert not receiver.verify(got.headers, got.body)
    receiver.secret = rotated["secret"]
    assert receiver.verify(got.headers, got.body)


def test_a_leased_message_is_handed_out_once_until_its_lease_expires(client, db, clock, admin,
                                                                     receiver):
    register(client, admin, receiver, ["audit.checkpoint"])
    checkpoint(db)
    with transaction(db) as uow:
        first = delivery.claim_due(uow)
    with transaction(db) as uow:
        assert delivery.claim_due(uow) == []  # leased
    # A worker takes it and dies mid-send: counted, running, lease held.
    prepared = delivery._start(db, first[0])
    assert prepared is not None and prepared.number == 1
    assert delivery.send(db, first[0]) == "skipped"  # a duplicate broker message
    clock.advance(seconds=121)  # the lease (RELAIS_OUTBOX_LEASE_SECONDS) expired
    with transaction(db) as uow:
        assert delivery.claim_due(uow) == first
    assert delivery.send(db, first[0]) == "delivered"
    assert delivery.send(db, first[0]) == "skipped"
    assert len(receiver.received) == 1
    with db.unit_of_work() as uow:
        attempts = uow.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id))
        assert [(a.number, a.outcome) for a in attempts] == [(1, "interrupted"),
                                                             (2, "delivered")]


def test_only_subscribed_event_types_of_the_organisation_are_queued(client, db, admin,
                                                                    receiver):
    register(client, admin, receiver, ["delivery.created"])
    checkpoint(db)
    assert messages(db) == []
