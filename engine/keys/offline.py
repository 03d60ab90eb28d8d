"""Offline verification of an exported `.relais` file (what `relais verify` does).

Pure functions, no database: the signing keys come from exported key directories or from any
`KeyLookup` the caller builds (the CLI uses the local database when no directory is given).

A directory carries the platform's public key, so anyone can sign a forged one with their own:
it proves something only against a platform key fingerprint obtained out of band and pinned
by the caller (`lookup_from_directories(..., pinned=...)`); trusting the embedded key instead
must be asked for explicitly (`pinned=None`).
Private keys for decryption are PEM PKCS#8 X25519 files, as `openssl genpkey -algorithm X25519`
writes them; the key id derives from the public key, so the file needs no other label.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from engine.documents import envelope
from engine.documents.errors import DocumentError, EnvelopeInvalid
from engine.keys.directory import directory_lookup, kid_for, verify_directory

FINGERPRINT_RE = re.compile(r"[0-9a-f]{64}")


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
                f"Empreinte du manifeste : {self.envelope.manifest_hash}."
                + ("" if self.content is not None else
                   " Sans clé privée, les clés enveloppées ne sont contrôlées que dans leur "
                   "forme : seul un destinataire prouve, en l'ouvrant, que la sienne s'ouvre."))


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


def parse_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as people copy it (any case, `:` or spaces between bytes)."""
    cleaned = re.sub(r"[\s:]", "", text).lower()
    if not FINGERPRINT_RE.fullmatch(cleaned):
        raise DocumentError(f"Empreinte de clé de plateforme illisible ({text.strip()[:80]!r}) : "
                            "attendu 64 chiffres hexadécimaux (SHA-256).",
                            code="bad_fingerprint")
    return cleaned


def pinned_fingerprints(given: Iterable[str], pin_file: str | None) -> list[str]:
    """Fingerprints given on the command line plus those of a pinned file."""
    pins = [parse_fingerprint(text) for text in given]
    return pins + (read_pinned_fingerprints(Path(pin_file)) if pin_file else [])


def read_pinned_fingerprints(path: Path) -> list[str]:
    """The fingerprints of a pinned file: one per line, blank lines and `#` comments ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"Fichier d'empreintes épinglées illisible : {path}.",
                            code="bad_fingerprint") from exc
    pins = [parse_fingerprint(line) for line in lines
            if line.strip() and not line.lstrip().startswith("#")]
    if not pins:
        raise DocumentError(f"Aucune empreinte dans le fichier épinglé {path}.",
                            code="bad_fingerprint")
    return pins


@dataclass(frozen=True)
class Directories:
    """Signing keys from verified directories, and the platform keys that signed them."""

    lookup: envelope.KeyLookup
    platform_fingerprints: frozenset[str]
    pinned: bool

    def describe(self) -> str:
        """Which platform key the directories were checked against, in French."""
        fingerprints = ", ".join(sorted(self.platform_fingerprints))
        if self.pinned:
            return ("Annuaire signé par la clé de plateforme épinglée (empreinte SHA-256 "
                    f"{fingerprints}).")
        return ("Attention : clé de plateforme NON épinglée, prise dans l'annuaire lui-même "
                f"(empreinte SHA-256 {fingerprints}) : comparez-la hors ligne.")


def lookup_from_directories(texts: Iterable[str],
                            pinned: Collection[str] | None) -> Directories:
    """Signing keys from exported key directories; all of them must verify, and must be signed
    by a platform key of `pinned` (fingerprints) unless `pinned` is None — the caller's
    explicit choice to trust the key each directory embeds."""
    docs = _intact_directories(texts)
    used = frozenset(doc["platform_key"]["fingerprint_sha256"] for doc in docs)
    if pinned is not None and not used <= set(pinned):
        raise DocumentError(
            "Annuaire signé par une clé de plateforme non épinglée (empreinte "
            f"{', '.join(sorted(used - set(pinned)))}) au lieu de "
            f"{', '.join(sorted(pinned))} : annuaire contrefait ou d'une autre plateforme.",
            code="platform_key_mismatch")
    return Directories(directory_lookup(docs), used, pinned is not None)


def _intact_directories(texts: Iterable[str]) -> list[dict[str, Any]]:
    try:
        docs = [json.loads(text) for text in texts]
    except ValueError:
        docs = None
    if not docs or not all(verify_directory(doc) for doc in docs):
        raise DocumentError("Annuaire de clés illisible, altéré ou mal signé : procurez-vous "
                            "un export intact (relais keys export-public).",
                            code="directory_invalid")
    return docs


def check_wrapped_keys(env: envelope.Envelope) -> None:
    """What can be checked of the (unsigned) wrapped keys without a private key: one entry per
    signed recipient, in the manifest's order, each distinct. A swap of entries between
    recipients changes the order; a copy repeats an entry. Raises EnvelopeInvalid."""
    signed = [r.kid for r in env.manifest.recipients]
    present = [w.kid for w in env.wrapped_keys]
    payloads = {(w.enc, w.wrapped) for w in env.wrapped_keys}
    encs = {w.enc for w in env.wrapped_keys}
    if present != signed or len(payloads) != len(present) or len(encs) != len(present):
        raise EnvelopeInvalid("wrapped_keys_swapped",
                              "Clés enveloppées permutées ou recopiées : elles ne suivent pas "
                              "les destinataires du manifeste signé, un par un et dans l'ordre.")


def verify(blob: bytes, lookup: envelope.KeyLookup,
           private_key: tuple[str, X25519PrivateKey] | None = None) -> Verified:
    """Check signature, ciphertext hash and recipients; decrypt too when a key is given.
    Raises EnvelopeInvalid with the reason."""
    env = envelope.inspect(blob)
    signer = envelope.verify_signature(env, lookup)
    check_wrapped_keys(env)
    if private_key is None:
        return Verified(env, signer)
    kid, key = private_key
    metadata, content = envelope.open(env, kid, key, public_key_lookup=lookup)
    return Verified(env, signer, metadata, content)

