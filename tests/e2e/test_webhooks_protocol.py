"""Partners' systems follow the domestic-violence protocol through webhooks: the association's
system (v1, checked with the `standardwebhooks` package) and the IS service's (v1a, checked
with Ed25519 and its `whpk_…` key) are real HTTP receivers on loopback. Each event arrives
exactly once per `webhook-id`, verifiable — through a receiver outage (503, then the retry
with the same id) and, on the Redis broker, through a worker killed mid-send."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import bearer
from protocol_support import Territory
from sqlalchemy import select
from test_protocol_violence_conjugale import file_sheet, send_sheet
from webhooks_support import Receiver, register, relay, serve

from engine.audit import service as audit
from engine.db import transaction
from engine.jobs.broker import NAMESPACE_ENV
from engine.jobs.runner import Jobs
from webhooks.guard import ALLOW_LOOPBACK_ENV
from webhooks.models import WebhookMessage
from webhooks.service import EVENT_TYPES

pytest_plugins = ["webhooks_support"]  # the receiver fixtures
ROOT = Path(__file__).resolve().parents[2]
LEASE_ENV = "RELAIS_OUTBOX_LEASE_SECONDS"


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def owed(db, endpoint_id: int) -> dict[str, str]:
    """webhook-id → status of every message owed to the endpoint."""
    with db.unit_of_work() as uow:
        return {m.webhook_id: m.status for m in uow.session.scalars(
            select(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint_id))}


def exactly_once(receiver: Receiver, db, endpoint_id: int) -> None:
    """Every message was delivered; each verified once per webhook-id, with one body."""
    messages = owed(db, endpoint_id)
    assert messages and set(messages.values()) == {"delivered"}
    verified = [r for r in receiver.received if r.verified]
    assert {r.webhook_id for r in verified} == set(messages)
    assert len(verified) == len(messages)
    bodies = {(r.json["type"], str(sorted(r.json["data"].items()))) for r in verified}
    assert len(bodies) == len(verified)  # one event, one webhook-id


def test_the_protocol_is_followed_by_both_partners_systems_through_an_outage(
        t, client, db, clock, receiver, receiver_v1a):
    association, service_is = receiver, receiver_v1a
    admin = bearer(db, "demo-admin")
    asso = register(client, admin, association, list(EVENT_TYPES))
    iscg = register(client, admin, service_is, list(EVENT_TYPES),
                    organisation="asso-iscg-demo", scheme="v1a")
    association.answers = [503]  # the association's system is down at first

    instance, delivery_id = send_sheet(t, "Élodie", t.days(-3))
    assert relay(db).count("retry") == 1
    assert association.types() == []
    clock.advance(seconds=6)
    relay(db)
    assert "delivery.created" in association.types()
    [created] = [r for r in association.ok() if r.json["type"] == "delivery.created"]
    assert created.json["data"]["delivery_id"] == delivery_id
    retried = [r for r in association.received if r.webhook_id == created.webhook_id]
    assert [r.verified for r in retried] == [False, True]  # 503, then the same id again

    file_sheet(t, delivery_id)  # the association acknowledges: the IS's instance ends
    with transaction(db) as uow:
        audit.checkpoint(uow)
    relay(db)

    assert {"delivery.created", "task.created", "instance.completed",
            "audit.checkpoint"} <= set(association.types())
    assert {"task.created", "delivery.acknowledged", "instance.completed",
            "audit.checkpoint"} <= set(service_is.types())
    assert "delivery.created" not in service_is.types()  # not addressed to the IS service
    [acked] = [r for r in service_is.ok() if r.json["type"] == "delivery.acknowledged"]
    assert acked.json["data"]["delivery_id"] == delivery_id
    assert acked.headers["webhook-signature"].startswith("v1a,")
    [done] = [r for r in service_is.ok() if r.json["type"] == "instance.completed"]
    assert done.json["data"] == {"instance_id": instance["id"],
                                 "process_id": "violence_conjugale"}
    exactly_once(association, db, asso["id"])
    exactly_once(service_is, db, iscg["id"])


class SlowReceiver(Receiver):
    """Holds its first request until released: the worker sending it can be killed."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.holding = threading.Event()

    def verify(self, headers: dict[str, str], body: str) -> bool:
        if not self.holding.is_set():
            self.holding.set()
            self.release.wait(20)
        return super().verify(headers, body)


@pytest.fixture
def redis_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """RELAIS_TEST_BROKER_URL (Redis) with a key namespace of this test's own."""
    url = os.environ.get("RELAIS_TEST_BROKER_URL")
    if not url or not url.startswith(("redis://", "rediss://")):
        pytest.skip("Courtier Redis non configuré : définissez RELAIS_TEST_BROKER_URL.")
    import redis

    namespace = f"relais-webhooks-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv(NAMESPACE_ENV, namespace)
    monkeypatch.setenv(LEASE_ENV, "10")
    yield url
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{namespace}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def worker(settings, broker_url: str, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAIS_")}
    env.update({"RELAIS_HOME": str(settings.home), "RELAIS_DATABASE_URL": settings.database_url,
                "RELAIS_MASTER_KEY_FILE": str(settings.master_key_file),
                "RELAIS_BROKER_URL": broker_url, NAMESPACE_ENV: os.environ[NAMESPACE_ENV],
                LEASE_ENV: "10", ALLOW_LOOPBACK_ENV: "1"})
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--threads", "1"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait(condition, what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} : non atteint\n{log.read_text(errors='replace')}")
        time.sleep(0.05)


def test_a_worker_killed_mid_send_loses_nothing_and_the_retry_keeps_the_webhook_id(
        client, db, clock, settings, redis_url, allow_loopback, tmp_path):
    slow = SlowReceiver()
    served = serve(slow)
    next(served)
    jobs = Jobs(db, redis_url)
    first = worker(settings, redis_url, tmp_path / "w1.log")
    second = None
    try:
        endpoint = register(client, bearer(db, "demo-admin"), slow, ["audit.checkpoint"])
        with transaction(db) as uow:
            audit.checkpoint(uow)
        jobs.tick()
        wait(slow.holding.is_set, "le premier envoi", tmp_path / "w1.log")
        first.send_signal(signal.SIGKILL)  # a crash while the partner holds the request
        first.wait(timeout=10)
        slow.release.set()
        assert set(owed(db, endpoint["id"]).values()) == {"running"}

        second = worker(settings, redis_url, tmp_path / "w2.log")
        clock.advance(seconds=60)  # the lease of the dead attempt expired
        jobs.tick()
        wait(lambda: set(owed(db, endpoint["id"]).values()) == {"delivered"},
             "la reprise par le second worker", tmp_path / "w2.log")
        ids = [r.webhook_id for r in slow.received]
        assert len(ids) == 2 and len(set(ids)) == 1  # the same message, the same id
        assert len(slow.ok()) == 1 and slow.ok()[0].json["type"] == "audit.checkpoint"
        history = client.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}/attempts",
                             headers=bearer(db, "demo-admin")).get_json()
        assert [(a["number"], a["outcome"]) for a in history] == [(2, "delivered"),
                                                                  (1, "interrupted")]
    finally:
        slow.release.set()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
        jobs.stop()
        jobs.broker.close()
        next(served, None)
