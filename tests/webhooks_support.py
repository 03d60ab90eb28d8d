"""What the webhook tests share: a real HTTP receiver on loopback that verifies what it gets
(`standardwebhooks` for v1, Ed25519 with the `whpk_…` key for v1a), an endpoint registered
through the API, and the relay + actor run as the scheduler and the worker would.

Only loopback is ever contacted: the receiver listens on 127.0.0.1 and tests set
RELAIS_WEBHOOKS_ALLOW_LOOPBACK=1 so that the SSRF guard lets Relais call it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import webhooks as standardwebhooks_module
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from engine.clock import ManualClock
from engine.db import Database, transaction
from webhooks import delivery
from webhooks.guard import ALLOW_LOOPBACK_ENV
from webhooks.signing import verify_v1a

API = "/api/v1"


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    verified: bool

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A partner's system: answers the next queued status (200 once the queue is empty) and
    keeps every request with the outcome of its signature check."""

    secret: str = ""
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def verify(self, headers: dict[str, str], body: str) -> bool:
        if self.secret.startswith("whsec_"):
            try:
                Webhook(self.secret).verify(body, headers)
                return True
            except WebhookVerificationError:
                return False
        return verify_v1a(self.secret, headers.get("webhook-id", ""),
                          int(headers.get("webhook-timestamp", "0")), body,
                          headers.get("webhook-signature", ""))

    def ok(self) -> list[Received]:
        """Requests that verified and were answered 2xx, at most one per webhook-id."""
        seen: dict[str, Received] = {}
        for r in self.received:
            if r.verified:
                seen.setdefault(r.webhook_id, r)
        return list(seen.values())

    def types(self) -> list[str]:
        return [r.json["type"] for r in self.ok()]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.answers.pop(0) if receiver.answers else 200
            verified = status < 300 and receiver.verify(headers, body)
            receiver.received.append(Received(headers, body, verified))
            try:
                self.send_response(status)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"indisponible")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender died meanwhile (a killed worker)

        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

    return Handler


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> None:
    """Loopback allowed; the partner's `standardwebhooks` reads the test's clock, so that a
    retry hours later on that clock is still within its ±5 minutes."""
    monkeypatch.setenv(ALLOW_LOOPBACK_ENV, "1")

    class PartnerTime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return clock.now().astimezone(tz)

    monkeypatch.setattr(standardwebhooks_module, "datetime", PartnerTime)


def serve(receiver: Receiver) -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(allow_loopback: None) -> Iterator[Receiver]:
    yield from serve(Receiver())


@pytest.fixture
def receiver_v1a(allow_loopback: None) -> Iterator[Receiver]:
    yield from serve(Receiver())


def register(client: Any, headers: dict[str, str], receiver: Receiver, event_types: list[str],
             organisation: str = "asso-victimes-demo", scheme: str = "v1") -> dict[str, Any]:
    """Register `receiver` through the API; it keeps the secret it was given."""
    response = client.post(f"{API}/webhooks/endpoints", headers=headers, json={
        "organisation": organisation, "url": receiver.url, "event_types": event_types,
        "scheme": scheme})
    assert response.status_code == 201, response.get_data(as_text=True)
    endpoint = response.get_json()
    receiver.secret = endpoint["secret"]
    return endpoint


def relay(db: Database, rounds: int = 20) -> list[str]:
    """Claim due messages and send each as the scheduler and the actor would."""
    outcomes: list[str] = []
    for _round in range(rounds):
        with transaction(db) as uow:
            claimed = delivery.claim_due(uow)
        if not claimed:
            return outcomes
        outcomes += [delivery.send(db, message_id) for message_id in claimed]
    raise AssertionError("webhook messages keep coming")
