"""Proofs of a delivery: the sender's signature on the manifest and the recipient's signed
receipts, checked against the keys in service at the time they were made.

Guarantees:
- `manifest_signature_status` and `receipt_summary` only read: they report `valid` or
  `invalid` with a stable code, never raise for a bad proof.
- `verify_receipt` accepts exactly the recipient organisation's receipt for this delivery's
  manifest, signed by one of its keys valid when received; anything else is ReceiptInvalid
  with its code (`malformed`, `receipt_mismatch`, `wrong_signer`, `unknown_key`,
  `key_not_valid`, `bad_signature`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import select

from engine.db import UnitOfWork
from engine.documents import envelope
from engine.identity.models import Organisation
from engine.keys import service as keys
from engine.routing.errors import ReceiptInvalid
from engine.routing.models import Delivery, Receipt

RECEIPT_CONTEXT = b"relais/receipt/v1\x00"
RECEIPT_TYPE = "relais-receipt"
RECEIPT_KEYS = frozenset({"type", "version", "envelope_id", "manifest_sha256",
                          "sender_organisation", "recipient_organisation", "signer_kid",
                          "received_at"})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def manifest_signature_status(uow: UnitOfWork, delivery: Delivery) -> dict[str, Any]:
    """Does the recorded manifest carry a valid signature of its sender organisation?"""
    raw = delivery.manifest.encode("utf-8")
    try:
        data = envelope.load_canonical(raw)
        kid, sender = data["sender_kid"], data["sender_organisation"]
        created = datetime.strptime(data["created_at"], envelope.TIME_FORMAT).replace(tzinfo=UTC)
    except (ValueError, KeyError, TypeError):
        return {"status": "invalid", "code": "malformed", "signer_kid": None}
    key = keys.public_key_lookup(uow)(kid)
    problem = _key_problem(key, sender, created)
    if problem is None:
        assert key is not None
        try:
            key.public_key.verify(delivery.signature, envelope.signed_message(raw))
        except InvalidSignature:
            problem = "bad_signature"
    if problem is None and hashlib.sha256(raw).hexdigest() != delivery.manifest_sha256:
        problem = "hash_mismatch"
    return {"status": "invalid" if problem else "valid", "code": problem, "signer_kid": kid}


def _key_problem(key: envelope.TrustedKey | None, organisation: str,
                 at: datetime) -> str | None:
    if key is None:
        return "unknown_key"
    if key.organisation != organisation:
        return "wrong_sender"
    if (key.valid_from and at < key.valid_from.replace(microsecond=0)) or \
            (key.valid_until and at > key.valid_until):
        return "key_not_valid"
    return None


def receipts_of(uow: UnitOfWork, delivery: Delivery) -> list[Receipt]:
    return list(uow.session.scalars(select(Receipt).where(Receipt.delivery_id == delivery.id)
                                    .order_by(Receipt.id)))


def receipt_summary(uow: UnitOfWork, delivery: Delivery, receipt: Receipt) -> dict[str, Any]:
    try:
        verify_receipt(uow, delivery, receipt.statement.encode("utf-8"), receipt.signature)
        status, code = "valid", None
    except ReceiptInvalid as exc:
        status, code = "invalid", exc.code
    return {"id": receipt.id, "statement": json.loads(receipt.statement),
            "signature": base64.b64encode(receipt.signature).decode("ascii"),
            "signer_kid": receipt.signer_kid, "received_at": _iso(receipt.received_at),
            "signature_status": status, "code": code}


def describe_receipt(uow: UnitOfWork, receipt: Receipt) -> dict[str, Any]:
    delivery = uow.session.get(Delivery, receipt.delivery_id)
    assert delivery is not None
    return receipt_summary(uow, delivery, receipt)


def verify_receipt(uow: UnitOfWork, delivery: Delivery, statement: bytes,
                   signature: bytes) -> dict[str, Any]:
    """Check that (statement, signature) is the recipient organisation's receipt for exactly
    this delivery's manifest; returns the statement. ReceiptInvalid says what is wrong:
    `malformed`, `receipt_mismatch` (another envelope, a replay), `wrong_signer`,
    `unknown_key`, `key_not_valid`, `bad_signature` (forged or altered)."""
    try:
        data = envelope.load_canonical(statement)
        if not isinstance(data, dict) or set(data) != RECEIPT_KEYS \
                or data["type"] != RECEIPT_TYPE or data["version"] != 1:
            raise ValueError("receipt")
        received = datetime.strptime(data["received_at"], envelope.TIME_FORMAT) \
            .replace(tzinfo=UTC)
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise ReceiptInvalid("malformed", "Accusé de réception illisible ou mal formé.") \
            from None
    recipient = uow.session.get(Organisation, delivery.recipient_organisation_id)
    assert recipient is not None
    if data["envelope_id"] != delivery.envelope_id \
            or data["manifest_sha256"] != delivery.manifest_sha256:
        raise ReceiptInvalid("receipt_mismatch", "Cet accusé de réception concerne un autre "
                             "envoi : il ne prouve rien pour celui-ci (rejeu refusé).")
    if data["recipient_organisation"] != recipient.slug:
        raise ReceiptInvalid("wrong_signer", "Cet accusé de réception n'émane pas de "
                             f"l'organisation destinataire ({recipient.slug}).")
    key = keys.public_key_lookup(uow)(data["signer_kid"])
    problem = _key_problem(key, recipient.slug, received)
    if problem is not None:
        raise ReceiptInvalid(problem if problem != "wrong_sender" else "wrong_signer",
                             "La clé qui a signé cet accusé de réception n'est pas une clé en "
                             f"service de {recipient.slug}.")
    assert key is not None
    try:
        key.public_key.verify(signature, RECEIPT_CONTEXT + statement)
    except InvalidSignature:
        raise ReceiptInvalid("bad_signature", "Signature de l'accusé de réception invalide : "
                             "il a été falsifié ou modifié.") from None
    return data
