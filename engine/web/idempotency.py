"""Idempotency-Key on creating POSTs: a retried request gets the first answer, not a duplicate."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.errors import Conflict, Invalid
from engine.web.context import uow
from engine.web.models import IdempotentRequest

MAX_KEY = 200


def idempotent(user_id: int, create: Callable[[], tuple[dict[str, Any], int]]) -> Any:
    """Run `create` once per (user, key); commits its unit of work with the stored answer."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        body, status = create()
        uow().commit()
        return body, status
    if not key.strip() or len(key) > MAX_KEY:
        raise Invalid("En-tête Idempotency-Key invalide (1 à 200 caractères).",
                      [{"field": "Idempotency-Key", "message": "Valeur invalide."}])
    fingerprint = hashlib.sha256(request.method.encode() + request.path.encode()
                                 + request.get_data()).hexdigest()
    previous = uow().session.scalars(select(IdempotentRequest).where(
        IdempotentRequest.user_id == user_id, IdempotentRequest.key == key)).first()
    if previous is not None:
        if previous.fingerprint != fingerprint:
            raise Invalid("Cette Idempotency-Key a déjà servi pour une autre requête.",
                          code="idempotency_key_reused")
        return json.loads(previous.body), previous.status, {"Idempotent-Replayed": "true"}
    body, status = create()
    uow().session.add(IdempotentRequest(user_id=user_id, key=key, fingerprint=fingerprint,
                                        status=status, body=json.dumps(body),
                                        created_at=uow().now()))
    try:
        uow().commit()
    except IntegrityError:
        uow().rollback()
        raise Conflict("Une requête avec la même Idempotency-Key est en cours : réessayez.",
                       code="idempotency_conflict") from None
    return body, status
