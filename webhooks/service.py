"""Webhook endpoints and their messages: registration, rotation, history, replay, and the
messages owed to endpoints when something happens.

Platform administrators manage endpoints (checked here). Payloads are
`{"type", "timestamp", "data"}` with identifiers, types and dates only; the partner fetches
anything else through the authenticated, audited API.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine.audit import service as audit
from engine.canonical import canonical_json
from engine.db import UnitOfWork
from engine.errors import Invalid
from engine.identity import service as identity
from engine.identity.models import Organisation
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role
from webhooks import guard, signing
from webhooks.errors import EndpointNotFound, MessageNotFound
from webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

EVENT_TYPES = ("delivery.created", "delivery.acknowledged", "task.created",
               "instance.completed", "consent.withdrawn", "incident.opened", "audit.checkpoint")
ROTATION_OVERLAP = timedelta(hours=24)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- secrets -------------------------------------------------------------------------------

def _context(endpoint: WebhookEndpoint, generation: int) -> str:
    return f"relais/webhook-secret/{endpoint.id}/{generation}"


def _new_secret(uow: UnitOfWork, endpoint: WebhookEndpoint) -> str:
    """Give the endpoint fresh secret material (wrapped); return what its owner is shown."""
    raw = signing.new_secret(endpoint.scheme)
    endpoint.secret = uow.master.wrap(raw, _context(endpoint, endpoint.generation))
    return signing.shown_secret(endpoint.scheme, raw)


def signing_secrets(uow: UnitOfWork, endpoint: WebhookEndpoint) -> list[bytes]:
    """The current secret, then the previous one while its 24 h overlap lasts."""
    secrets = [uow.master.unwrap(endpoint.secret, _context(endpoint, endpoint.generation))]
    if endpoint.previous_secret is not None and endpoint.previous_valid_until is not None \
            and uow.now() < endpoint.previous_valid_until:
        secrets.append(uow.master.unwrap(endpoint.previous_secret,
                                         _context(endpoint, endpoint.generation - 1)))
    return secrets


# --- endpoints -----------------------------------------------------------------------------

def _checked_types(event_types: Iterable[str]) -> list[str]:
    wanted = sorted(set(event_types))
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if not wanted or unknown:
        message = ("Types d'événements inconnus : " + ", ".join(unknown) if unknown
                   else "Choisissez au moins un type d'événement.")
        raise Invalid(message + f" (parmi {', '.join(EVENT_TYPES)}).",
                      [{"field": "event_types", "message": message}])
    return wanted


def create_endpoint(uow: UnitOfWork, principal: Principal, *, organisation: str, url: str,
                    event_types: Iterable[str], scheme: str = signing.V1
                    ) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint (administrators); returns it and its secret, shown once."""
    require_role(principal, Role.ADMIN)
    if scheme not in signing.SCHEMES:
        raise Invalid("Schéma de signature inconnu : v1 ou v1a.",
                      [{"field": "scheme", "message": "v1 ou v1a"}])
    types = _checked_types(event_types)
    guard.decide(url)
    org = identity.get_organisation(uow, organisation)
    endpoint = WebhookEndpoint(organisation_id=org.id, url=url, event_types=json.dumps(types),
                               scheme=scheme, secret=b"", generation=1, active=True,
                               created_by=principal.user_id, created_at=uow.now())
    uow.session.add(endpoint)
    uow.session.flush()
    shown = _new_secret(uow, endpoint)
    audit.append(uow, principal.actor, "webhooks.endpoint_created", subject_type="webhook",
                 subject_id=endpoint.id, organisation_id=org.id, event_types=types,
                 scheme=scheme)
    return endpoint, shown


def endpoint_of(uow: UnitOfWork, principal: Principal, endpoint_id: int) -> WebhookEndpoint:
    require_role(principal, Role.ADMIN)
    endpoint = uow.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        raise EndpointNotFound()
    return endpoint


def endpoints(uow: UnitOfWork, principal: Principal) -> list[WebhookEndpoint]:
    require_role(principal, Role.ADMIN)
    return list(uow.session.scalars(select(WebhookEndpoint)
                                    .where(WebhookEndpoint.deleted_at.is_(None))
                                    .order_by(WebhookEndpoint.id)))


def delete_endpoint(uow: UnitOfWork, principal: Principal, endpoint_id: int) -> None:
    """Stop the endpoint for good; its history stays readable in the audit log."""
    endpoint = endpoint_of(uow, principal, endpoint_id)
    endpoint.deleted_at, endpoint.active = uow.now(), False
    audit.append(uow, principal.actor, "webhooks.endpoint_deleted", subject_type="webhook",
                 subject_id=endpoint.id, organisation_id=endpoint.organisation_id)


def rotate(uow: UnitOfWork, principal: Principal, endpoint_id: int) -> tuple[WebhookEndpoint,
                                                                              str]:
    """A new secret; the old one still signs (and is accepted) for 24 hours."""
    endpoint = endpoint_of(uow, principal, endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_valid_until = uow.now() + ROTATION_OVERLAP
    endpoint.generation += 1
    shown = _new_secret(uow, endpoint)
    audit.append(uow, principal.actor, "webhooks.secret_rotated", subject_type="webhook",
                 subject_id=endpoint.id, organisation_id=endpoint.organisation_id,
                 generation=endpoint.generation)
    return endpoint, shown


def describe(uow: UnitOfWork, endpoint: WebhookEndpoint,
             secret: str | None = None) -> dict[str, Any]:
    org = uow.session.get(Organisation, endpoint.organisation_id)
    assert org is not None  # a foreign key
    out: dict[str, Any] = {
        "id": endpoint.id, "organisation": org.slug, "url": endpoint.url,
        "event_types": json.loads(endpoint.event_types), "scheme": endpoint.scheme,
        "active": endpoint.active, "disabled_at": iso(endpoint.disabled_at),
        "disabled_reason": endpoint.disabled_reason, "created_at": iso(endpoint.created_at),
        "previous_secret_valid_until": iso(endpoint.previous_valid_until)}
    if secret is not None:
        out["secret"] = secret
    return out


# --- history and replay --------------------------------------------------------------------

def attempts(uow: UnitOfWork, principal: Principal, endpoint_id: int,
             limit: int = 500) -> list[dict[str, Any]]:
    """Every attempt made for the endpoint, newest first."""
    endpoint = endpoint_of(uow, principal, endpoint_id)
    rows = uow.session.execute(
        select(WebhookAttempt, WebhookMessage)
        .join(WebhookMessage, WebhookMessage.id == WebhookAttempt.message_id)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.id.desc()).limit(limit))
    return [{"id": a.id, "message_id": m.id, "webhook_id": m.webhook_id,
             "event_type": m.event_type, "number": a.number, "started_at": iso(a.started_at),
             "outcome": a.outcome, "status_code": a.status_code, "latency_ms": a.latency_ms,
             "excerpt": a.excerpt, "message_status": m.status} for a, m in rows]


def replay(uow: UnitOfWork, principal: Principal, message_id: int) -> WebhookMessage:
    """Send one message again (same webhook-id), with a fresh retry cycle."""
    require_role(principal, Role.ADMIN)
    message = uow.session.get(WebhookMessage, message_id)
    if message is None:
        raise MessageNotFound()
    endpoint_of(uow, principal, message.endpoint_id)
    message.status, message.failures, message.next_attempt_at = "pending", 0, uow.now()
    audit.append(uow, principal.actor, "webhooks.message_replayed", subject_type="webhook",
                 subject_id=message.endpoint_id, message=message.id)
    return message


# --- messages owed -------------------------------------------------------------------------

def enqueue(uow: UnitOfWork, event_type: str, data: dict[str, Any],
            organisation_ids: Iterable[int | None] | None) -> list[WebhookMessage]:
    """One message per active endpoint subscribed to `event_type` — of `organisation_ids`,
    or of every organisation when None (platform-wide events). Written in the caller's
    transaction; sent later by the relay and the actor."""
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True),
                                         WebhookEndpoint.deleted_at.is_(None))
    if organisation_ids is not None:
        wanted = {o for o in organisation_ids if o is not None}
        if not wanted:
            return []
        stmt = stmt.where(WebhookEndpoint.organisation_id.in_(wanted))
    now = uow.now()
    body = canonical_json({"type": event_type, "timestamp": iso(now),
                           "data": data}).decode("utf-8")
    messages = [WebhookMessage(endpoint_id=e.id, webhook_id=f"msg_{uuid.uuid4().hex}",
                               event_type=event_type, payload=body, status="pending",
                               attempts=0, failures=0, next_attempt_at=now, created_at=now)
                for e in uow.session.scalars(stmt.order_by(WebhookEndpoint.id))
                if event_type in json.loads(e.event_types)]
    uow.session.add_all(messages)
    return messages
