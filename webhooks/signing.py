"""Standard Webhooks signatures: `v1` (HMAC-SHA256, secret `whsec_…`) and `v1a` (Ed25519:
Relais signs with its private key, the endpoint verifies with `whpk_…`).

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; `webhook-signature` holds
space-separated `scheme,base64` entries — two during a rotation (new and old secret).
"""

from __future__ import annotations

import base64
import hmac
import os
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from standardwebhooks.webhooks import Webhook

V1, V1A = "v1", "v1a"
SCHEMES = (V1, V1A)
HMAC_PREFIX, PUBLIC_PREFIX = "whsec_", "whpk_"


def new_secret(scheme: str) -> bytes:
    """Raw secret material: 32 random bytes, an HMAC key (v1) or an Ed25519 seed (v1a)."""
    del scheme  # both schemes use 32 random bytes; kept for the call sites' clarity
    return os.urandom(32)


def shown_secret(scheme: str, raw: bytes) -> str:
    """What the endpoint's administrator is given: the HMAC secret, or the public key."""
    if scheme == V1:
        return HMAC_PREFIX + base64.b64encode(raw).decode("ascii")
    public = Ed25519PrivateKey.from_private_bytes(raw).public_key()
    return PUBLIC_PREFIX + base64.b64encode(
        public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def _signed_content(webhook_id: str, timestamp: int, body: str) -> bytes:
    return f"{webhook_id}.{timestamp}.{body}".encode()


def sign(scheme: str, raw: bytes, webhook_id: str, timestamp: int, body: str) -> str:
    """One `scheme,base64` signature entry."""
    if scheme == V1:
        return Webhook(raw).sign(webhook_id, datetime.fromtimestamp(timestamp, UTC), body)
    signature = Ed25519PrivateKey.from_private_bytes(raw).sign(
        _signed_content(webhook_id, timestamp, body))
    return f"{V1A},{base64.b64encode(signature).decode('ascii')}"


def headers(scheme: str, secrets: list[bytes], webhook_id: str, timestamp: int,
            body: str) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret still valid."""
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(sign(scheme, raw, webhook_id, timestamp, body)
                                          for raw in secrets)}


def verify_v1(secrets: list[bytes], webhook_id: str, timestamp: int, body: str,
              signature_header: str) -> bool:
    """True when one `v1` entry of the header matches one of `secrets` (constant time)."""
    expected = [sign(V1, raw, webhook_id, timestamp, body).encode() for raw in secrets]
    for entry in signature_header.split():
        candidate = entry.encode()
        if any(hmac.compare_digest(candidate, e) for e in expected):
            return True
    return False


def verify_v1a(public_key: str, webhook_id: str, timestamp: int, body: str,
               signature_header: str) -> bool:
    """True when one `v1a` entry verifies with the `whpk_…` key (what a partner does)."""
    key = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(public_key.removeprefix(PUBLIC_PREFIX)))
    for entry in signature_header.split():
        scheme, _, value = entry.partition(",")
        if scheme != V1A:
            continue
        try:
            key.verify(base64.b64decode(value), _signed_content(webhook_id, timestamp, body))
            return True
        except (InvalidSignature, ValueError):
            continue
    return False
