"""The signed key directory: what a partner needs to check an organisation's envelopes offline.

Pure functions (no database), shared by `keys.service.export_public` and `relais verify`.

A directory document lists one organisation's public keys (current, retired and recovery) with
their SHA-256 fingerprints and validity, and is signed by the platform Ed25519 key over
`b"relais/key-directory/v1\\x00" || canonical JSON of the document without "signature"`. The
platform's public key is included so anyone can check the signature; it proves authenticity
only once the platform key's fingerprint has been compared out of band (for instance when the
partners sign their convention) or pinned with `trusted_platform_fingerprints`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from engine.canonical import canonical_json
from engine.documents.envelope import TIME_FORMAT, KeyLookup, TrustedKey

DIRECTORY_TYPE = "relais-key-directory"
DIRECTORY_VERSION = 1
SIGNATURE_CONTEXT = b"relais/key-directory/v1\x00"
KID_PREFIX = {"X25519": "x25519", "Ed25519": "ed25519"}


def fingerprint(public_key: bytes) -> str:
    """SHA-256 of the raw public key, lowercase hex: what people compare out of band."""
    return hashlib.sha256(public_key).hexdigest()


def kid_for(algorithm: str, public_key: bytes) -> str:
    """The key id of an organisation key: derived from the public key, so a private key alone
    (for instance an offline recovery key) tells which envelope entry is its own."""
    return f"{KID_PREFIX[algorithm]}-{fingerprint(public_key)[:32]}"


def timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime(TIME_FORMAT)


def signed_bytes(doc: dict[str, Any]) -> bytes:
    """The exact bytes the platform key signs."""
    return SIGNATURE_CONTEXT + canonical_json({k: v for k, v in doc.items() if k != "signature"})


def _b64decode(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("base64")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("base64") from exc


def _platform_key(doc: dict[str, Any]) -> Ed25519PublicKey:
    entry = doc["platform_key"]
    raw = _b64decode(entry["public_key"])
    if entry["algorithm"] != "Ed25519" or entry["fingerprint_sha256"] != fingerprint(raw):
        raise ValueError("platform key")
    return Ed25519PublicKey.from_public_bytes(raw)


def _keys_consistent(doc: dict[str, Any]) -> bool:
    for key in doc["keys"]:
        raw = _b64decode(key["public_key"])
        if key["algorithm"] not in KID_PREFIX or key["fingerprint_sha256"] != fingerprint(raw) \
                or key["kid"] != kid_for(key["algorithm"], raw):
            return False
    return True


def verify_directory(doc: Any,
                     trusted_platform_fingerprints: Collection[str] | None = None) -> bool:
    """True when `doc` is an intact directory signed by its embedded platform key (and, when
    `trusted_platform_fingerprints` is given, that key is one of them). Never raises."""
    try:
        if not isinstance(doc, dict) or doc.get("type") != DIRECTORY_TYPE \
                or doc.get("version") != DIRECTORY_VERSION:
            return False
        platform = _platform_key(doc)
        if trusted_platform_fingerprints is not None and \
                doc["platform_key"]["fingerprint_sha256"] not in trusted_platform_fingerprints:
            return False
        platform.verify(_b64decode(doc["signature"]), signed_bytes(doc))
        return _keys_consistent(doc)
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)


def _valid_until(key: dict[str, Any]) -> datetime | None:
    ends = [t for t in (_parse_time(key.get("retired_at")), _parse_time(key.get("not_after")))
            if t is not None]
    return min(ends) if ends else None


def directory_lookup(docs: Iterable[dict[str, Any]]) -> KeyLookup:
    """A signing-key lookup for `envelope.verify_signature`, from directories that verify.

    Raises ValueError when one of them does not verify: a partner must not trust part of a
    tampered file.
    """
    known: dict[str, TrustedKey] = {}
    for doc in docs:
        if not verify_directory(doc):
            raise ValueError("directory does not verify")
        slug = doc["organisation"]["slug"]
        for key in doc["keys"]:
            if key["usage"] != "sign" or key["algorithm"] != "Ed25519":
                continue
            known[key["kid"]] = TrustedKey(
                kid=key["kid"], organisation=slug,
                public_key=Ed25519PublicKey.from_public_bytes(_b64decode(key["public_key"])),
                valid_from=_parse_time(key["created_at"]), valid_until=_valid_until(key))
    return known.get
