"""Inbound webhooks: a partner's system answers, signed `v1` with its endpoint's secret.

Checks, in order: the endpoint exists, is active and signs with `v1`; the three headers are
there; the timestamp is within ±5 minutes of the database clock; one `v1` signature matches
the current (or, during a rotation, the previous) secret. Only then is the `webhook-id`
looked up: an already accepted id answers 2xx and changes nothing. A refusal is audited in
its own commit and nothing else is kept.

The endpoint's organisation acts: acknowledging a delivery addressed to it (the signed
receipt is made by routing as for the API) or posting a message (as `POST /messages`). The
administrator who registered the endpoint answers for it (the receipt's `acknowledged_by`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine.audit import service as audit
from engine.audit.service import SYSTEM, Actor
from engine.db import UnitOfWork
from engine.identity.models import Organisation
from engine.identity.roles import Role
from engine.identity.service import Grant, Principal
from engine.routing import service as routing
from engine.runtime import service as runtime
from engine.web.input import InvalidJson, parse_json
from webhooks import signing
from webhooks.errors import InboundRefused
from webhooks.models import WebhookEndpoint, WebhookInbound
from webhooks.service import signing_secrets

TOLERANCE = timedelta(minutes=5)
MAX_ID_CHARS = 100


def _refuse(uow: UnitOfWork, endpoint_id: int, status: int, code: str,
            message: str) -> InboundRefused:
    """Roll back, audit the refusal in its own commit, return the error to raise."""
    uow.rollback()
    audit.append(uow, SYSTEM, "webhooks.inbound_refused", subject_type="webhook",
                 subject_id=endpoint_id, code=code)
    uow.commit()
    return InboundRefused(message, code=code, status=status)


def _authentic(uow: UnitOfWork, endpoint_id: int, headers: Mapping[str, str],
               body: str) -> tuple[WebhookEndpoint, str]:
    """The endpoint and the call's webhook-id, once the signature and timestamp hold."""
    endpoint = uow.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not endpoint.active or endpoint.deleted_at is not None \
            or endpoint.scheme != signing.V1:
        raise _refuse(uow, endpoint_id, 401, "webhook_signature_invalid",
                      "Appel non authentifié : point de réception inconnu ou inactif.")
    webhook_id = headers.get("webhook-id", "")
    stamp, signature = headers.get("webhook-timestamp", ""), headers.get("webhook-signature", "")
    if not webhook_id or not stamp or not signature or len(webhook_id) > MAX_ID_CHARS:
        raise _refuse(uow, endpoint_id, 400, "webhook_headers_invalid",
                      "En-têtes webhook-id, webhook-timestamp et webhook-signature requis.")
    if not stamp.isdigit():
        raise _refuse(uow, endpoint_id, 400, "webhook_headers_invalid",
                      "webhook-timestamp doit être un nombre de secondes (heure Unix).")
    if abs(uow.now().timestamp() - int(stamp)) > TOLERANCE.total_seconds():
        raise _refuse(uow, endpoint_id, 401, "webhook_timestamp_stale",
                      "Horodatage hors de la fenêtre de ±5 minutes : appel refusé.")
    if not signing.verify_v1(signing_secrets(uow, endpoint), webhook_id, int(stamp), body,
                             signature):
        raise _refuse(uow, endpoint_id, 401, "webhook_signature_invalid",
                      "Signature invalide : appel refusé.")
    return endpoint, webhook_id


def _as_organisation(uow: UnitOfWork, endpoint: WebhookEndpoint) -> Principal:
    """The endpoint's organisation as a principal: every professional role there."""
    org = uow.session.get(Organisation, endpoint.organisation_id)
    assert org is not None  # a foreign key
    grants = tuple(Grant(org.id, org.slug, org.name, role.value)
                   for role in Role if role != Role.ADMIN)
    return Principal(endpoint.created_by or 0, f"webhook:{endpoint.id}",
                     f"Point de réception n° {endpoint.id}", grants)


def _parsed(uow: UnitOfWork, endpoint_id: int, body: str) -> tuple[str, dict[str, Any]]:
    try:
        document = parse_json(body)  # the limits every JSON body of the platform has
    except InvalidJson:
        document = None
    kind = document.get("type") if isinstance(document, dict) else None
    data = document.get("data") if isinstance(document, dict) else None
    if kind not in ("delivery.acknowledge", "message") or not isinstance(data, dict):
        raise _refuse(uow, endpoint_id, 400, "webhook_body_invalid",
                      "Corps attendu : {\"type\": \"delivery.acknowledge\" ou \"message\", "
                      "\"data\": {…}}.")
    return kind, data


def _field(uow: UnitOfWork, endpoint_id: int, data: dict[str, Any], name: str,
           kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _refuse(uow, endpoint_id, 400, "webhook_body_invalid",
                      f"Champ « data.{name} » absent ou mal typé.")
    return value


def receive(uow: UnitOfWork, endpoint_id: int, headers: Mapping[str, str],
            body: bytes) -> dict[str, Any]:
    """Authenticate, de-duplicate and act on one inbound call; the caller commits."""
    text = body.decode("utf-8", "replace")
    endpoint, webhook_id = _authentic(uow, endpoint_id, headers, text)
    kind, data = _parsed(uow, endpoint_id, text)
    seen = uow.session.scalars(select(WebhookInbound).where(
        WebhookInbound.endpoint_id == endpoint.id, WebhookInbound.webhook_id == webhook_id)
    ).first()
    if seen is not None:
        return {"status": "duplicate"}
    uow.session.add(WebhookInbound(endpoint_id=endpoint.id, webhook_id=webhook_id, kind=kind,
                                   received_at=uow.now()))
    if kind == "delivery.acknowledge":
        delivery_id = _field(uow, endpoint_id, data, "delivery_id", int)
        receipt = routing.acknowledge(uow, _as_organisation(uow, endpoint), delivery_id)
        return {"status": "acknowledged", "receipt_id": receipt.id}
    return _message(uow, endpoint, data)


def _message(uow: UnitOfWork, endpoint: WebhookEndpoint, data: dict[str, Any]) -> dict[str, Any]:
    name = _field(uow, endpoint.id, data, "name", str)
    message_id = _field(uow, endpoint.id, data, "message_id", str)
    correlation = _field(uow, endpoint.id, data, "correlation", dict)
    payload = data.get("payload") or {}
    if not isinstance(payload, dict):
        raise _refuse(uow, endpoint.id, 400, "webhook_body_invalid",
                      "Champ « data.payload » mal typé.")
    actor = Actor(user_id=None, label=f"webhook:{endpoint.id}",
                  organisation_id=endpoint.organisation_id)
    message, delivered = runtime.receive_message(
        uow, actor, name=name, correlation=correlation, payload=payload,
        message_id=message_id, visible_to={endpoint.organisation_id})
    status = "duplicate" if message is None else ("delivered" if delivered else "buffered")
    return {"status": status, "delivered_to": delivered}

