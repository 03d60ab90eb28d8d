"""Sending webhook messages: claimed by the relay like outbox rows, sent by an actor.

Guarantees (at least once to the endpoint, one `webhook-id` per message whatever happens):
- `claim_due` leases due messages (FOR UPDATE SKIP LOCKED on PostgreSQL); a message is handed
  out again only once its lease expired (the worker that held it died);
- `send` counts the attempt in its own commit, then calls the endpoint outside any
  transaction: the SSRF guard is decided again, the connection goes to the address it
  decided, 15 s timeout, no redirect followed;
- the outcome is recorded as one attempt row; failures are retried at about 5 s, 5 min,
  30 min, 2 h, 5 h, 10 h and 10 h (±10 % jitter); an endpoint failing for 5 days is disabled
  with the reason shown to its administrators.
"""

from __future__ import annotations

import http.client
import logging
import random
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from engine.audit import service as audit
from engine.audit.service import SYSTEM
from engine.db import Database, UnitOfWork, transaction
from engine.jobs.outbox import lease
from webhooks import guard, leases, signing
from webhooks.errors import UrlRefused
from webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from webhooks.service import signing_secrets

log = logging.getLogger("relais.webhooks")

TIMEOUT_SECONDS = 15.0
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)  # seconds, after failure 1, 2, …
JITTER = 0.1
DISABLE_AFTER = timedelta(days=5)
EXCERPT_CHARS = 200
_random = random.SystemRandom()


@dataclass(frozen=True)
class Outcome:
    outcome: str  # delivered http_error refused error (interrupted: a worker died)
    status_code: int | None
    latency_ms: int | None
    excerpt: str | None


@dataclass(frozen=True)
class Prepared:
    """What one attempt sends, computed inside the attempt's first transaction."""

    url: str
    headers: dict[str, str]
    body: str
    number: int


def claim_due(uow: UnitOfWork, limit: int = 100) -> list[int]:
    """Lease due messages of active endpoints; their ids go to the actor after commit."""
    messages = leases.claim(uow, WebhookMessage, select(WebhookMessage).join(
        WebhookEndpoint, WebhookEndpoint.id == WebhookMessage.endpoint_id).where(
        WebhookEndpoint.active.is_(True)), limit)
    for message in messages:
        if message.status == "running":  # outlived its lease: the attempt is presumed dead
            uow.session.add(WebhookAttempt(
                message_id=message.id, endpoint_id=message.endpoint_id,
                number=message.attempts, started_at=uow.now(), outcome="interrupted"))
    return leases.release(uow, messages)


def _start(db: Database, message_id: int) -> Prepared | None:
    """Count the attempt and sign it, in its own commit (a crash mid-send is still counted)."""
    with transaction(db) as uow:
        message = leases.lock(uow, WebhookMessage, message_id)
        if message is None or message.status in ("delivered", "failed") \
                or leases.held(uow, message):
            return None
        endpoint = uow.session.get(WebhookEndpoint, message.endpoint_id)
        if endpoint is None or not endpoint.active:
            return None
        message.status, message.attempts = "running", message.attempts + 1
        message.next_attempt_at = uow.now() + lease()
        timestamp = int(uow.now().timestamp())
        headers = signing.headers(endpoint.scheme, signing_secrets(uow, endpoint),
                                  message.webhook_id, timestamp, message.payload)
        return Prepared(endpoint.url, headers, message.payload, message.attempts)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address the guard decided, whatever the name resolves to now."""

    def __init__(self, target: guard.Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: guard.Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout,
                         context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(prepared: Prepared) -> Outcome:
    """One HTTP POST: guard decided again, no redirect followed, 15 s timeout."""
    try:
        target = guard.decide(prepared.url)
    except UrlRefused as exc:
        return Outcome("refused", None, None, exc.message[:EXCERPT_CHARS])
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = kind(target, TIMEOUT_SECONDS)
    started = time.monotonic()
    try:
        conn.request("POST", target.path, body=prepared.body.encode("utf-8"),
                     headers={**prepared.headers, "content-type": "application/json",
                              "user-agent": "Relais-Webhooks/1"})
        response = conn.getresponse()
        excerpt = response.read(1024).decode("utf-8", "replace")[:EXCERPT_CHARS]
    except (OSError, http.client.HTTPException) as exc:
        latency = int((time.monotonic() - started) * 1000)
        return Outcome("error", None, latency, type(exc).__name__)
    finally:
        conn.close()
    latency = int((time.monotonic() - started) * 1000)
    ok = 200 <= response.status < 300
    return Outcome("delivered" if ok else "http_error", response.status, latency, excerpt)


def send(db: Database, message_id: int) -> str:
    """One attempt at one message; returns what happened (for logs and tests)."""
    prepared = _start(db, message_id)
    if prepared is None:
        return "skipped"
    outcome = post(prepared)
    with transaction(db) as uow:
        message = leases.lock(uow, WebhookMessage, message_id)
        if message is None or message.status != "running":
            return "skipped"
        return _record(uow, message, prepared.number, outcome)


def _record(uow: UnitOfWork, message: WebhookMessage, number: int, outcome: Outcome) -> str:
    now = uow.now()
    uow.session.add(WebhookAttempt(
        message_id=message.id, endpoint_id=message.endpoint_id, number=number,
        started_at=now, outcome=outcome.outcome, status_code=outcome.status_code,
        latency_ms=outcome.latency_ms, excerpt=outcome.excerpt))
    endpoint = uow.session.get(WebhookEndpoint, message.endpoint_id)
    assert endpoint is not None  # a foreign key
    if outcome.outcome == "delivered":
        message.status, message.delivered_at, message.last_error = "delivered", now, None
        endpoint.failing_since = None
        return "delivered"
    message.failures += 1
    message.last_error = _reason(outcome)
    endpoint.failing_since = endpoint.failing_since or now
    if now - endpoint.failing_since >= DISABLE_AFTER:
        _disable(uow, endpoint, message.last_error)
    if message.failures > len(RETRY_DELAYS):
        message.status = "failed"
        return "failed"
    delay = RETRY_DELAYS[message.failures - 1] * _random.uniform(1 - JITTER, 1 + JITTER)
    message.status, message.next_attempt_at = "pending", now + timedelta(seconds=delay)
    log.warning("webhook message %s failed (attempt %s), will retry", message.id, number)
    return "retry"


def _reason(outcome: Outcome) -> str:
    if outcome.outcome == "http_error":
        return f"Réponse HTTP {outcome.status_code}."
    if outcome.outcome == "refused":
        return f"Adresse refusée à l'envoi : {outcome.excerpt}"
    return f"Connexion impossible ({outcome.excerpt})."


def _disable(uow: UnitOfWork, endpoint: WebhookEndpoint, last_error: str) -> None:
    assert endpoint.failing_since is not None
    endpoint.active, endpoint.disabled_at = False, uow.now()
    endpoint.disabled_reason = (
        "Désactivé automatiquement : échecs continus depuis le "
        f"{endpoint.failing_since:%d/%m/%Y à %H:%M} UTC. Dernière erreur : {last_error}")[:500]
    audit.append(uow, SYSTEM, "webhooks.endpoint_disabled", subject_type="webhook",
                 subject_id=endpoint.id, organisation_id=endpoint.organisation_id)
