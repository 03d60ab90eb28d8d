"""Offline verification of an exported `.relais` file (what `relais verify` does).

Pure functions, no database: the signing keys come from exported key directories or from any
`KeyLookup` the caller builds (the CLI uses the local database when no directory is given).
Private keys for decryption are PEM PKCS#8 X25519 files, as `openssl genpkey -algorithm X25519`
writes them; the key id derives from the public key, so the file needs no other label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from engine.documents import envelope
from engine.documents.errors import DocumentError
from engine.keys.directory import directory_lookup, kid_for


@dataclass(frozen=True)
class Verified:
    """An envelope whose signature and integrity hold; content only when a key was given."""

    envelope: envelope.Envelope
    signer: envelope.TrustedKey
    metadata: envelope.Metadata | None = None
    content: bytes | None = None

    def summary(self) -> str:
        """One French sentence for the operator."""
        m = self.envelope.manifest
        to = ", ".join(f"{r.organisation} ({r.kid}"
                       f"{', recouvrement' if r.usage == envelope.USAGE_RECOVERY else ''})"
                       for r in m.recipients)
        return (f"Enveloppe valide : {m.envelope_id}, signée par {m.sender_organisation} "
                f"({self.signer.kid}) le {m.created_at:%d/%m/%Y à %H:%M} UTC, pour {to}. "
                f"Empreinte du manifeste : {self.envelope.manifest_hash}.")


def load_private_key(pem: bytes) -> tuple[str, X25519PrivateKey]:
    """(kid, key) from an unencrypted PEM PKCS#8 X25519 private key."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, X25519PrivateKey):
        raise DocumentError("La clé privée doit être une clé X25519 au format PEM PKCS#8 non "
                            "chiffrée, telle que l'écrit « openssl genpkey -algorithm X25519 ».",
                            code="bad_private_key")
    public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
    return kid_for("X25519", public), key


def private_key_pem(key: X25519PrivateKey) -> bytes:
    """The PEM form `load_private_key` reads (for recovery keys generated with Relais)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def lookup_from_directories(texts: Iterable[str]) -> envelope.KeyLookup:
    """Signing keys from exported key directories; all of them must verify."""
    try:
        return directory_lookup(json.loads(text) for text in texts)
    except (ValueError, KeyError, TypeError) as exc:
        raise DocumentError("Annuaire de clés illisible, altéré ou mal signé : procurez-vous "
                            "un export intact (relais keys export-public).",
                            code="directory_invalid") from exc


def verify(blob: bytes, lookup: envelope.KeyLookup,
           private_key: tuple[str, X25519PrivateKey] | None = None) -> Verified:
    """Check signature, ciphertext hash and recipients; decrypt too when a key is given.
    Raises EnvelopeInvalid with the reason."""
    env = envelope.inspect(blob)
    signer = envelope.verify_signature(env, lookup)
    if private_key is None:
        return Verified(env, signer)
    kid, key = private_key
    metadata, content = envelope.open(env, kid, key, public_key_lookup=lookup)
    return Verified(env, signer, metadata, content)
