"""Key use cases. Private keys are unwrapped in memory for one operation and never stored clear.

Guarantees:
- every private half is stored wrapped by the master key under a context naming its key id
  (invariant 7); recovery keys have no private half here at all;
- an organisation has at most one current pair per usage (`encrypt`, `sign`, `recovery`);
  rotating retires the current pairs, which keep opening and verifying what they sealed
  and signed before; nothing already sealed is re-encrypted;
- creation, rotation and recovery registration are audited in the caller's transaction.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from sqlalchemy import select

from engine.audit import chain as audit
from engine.audit import signing
from engine.db import UnitOfWork
from engine.documents import envelope
from engine.errors import Conflict
from engine.identity.models import Organisation
from engine.keys import directory
from engine.keys.directory import fingerprint, verify_directory
from engine.keys.errors import KeyError_, KeyExpired, KeyNotFound, KeyRejected
from engine.keys.master import MasterKey
from engine.keys.models import KeyPair

if TYPE_CHECKING:
    from engine.audit.chain import Actor

__all__ = ["fingerprint", "verify_directory"]  # re-exported for callers of this service

RAW = serialization.Encoding.Raw
PLATFORM, ORGANISATION = "platform", "organisation"
SIGN, ENCRYPT, RECOVERY = "sign", "encrypt", "recovery"


def _context(kid: str) -> str:
    return f"relais/key-pair/{kid}"


def _raw_private(private: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return private.private_bytes(RAW, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())


def _raw_public(public: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return public.public_bytes(RAW, serialization.PublicFormat.Raw)


# --- platform -------------------------------------------------------------------------------

def ensure_platform_signing_key(uow: UnitOfWork, master: MasterKey) -> KeyPair:
    """The current platform Ed25519 key, created on first use."""
    current = _current(uow, PLATFORM, None, SIGN)
    if current is not None:
        return current
    private = Ed25519PrivateKey.generate()
    public = _raw_public(private.public_key())
    kid = "platform-sign-" + fingerprint(public)[:16]
    pair = KeyPair(kid=kid, owner=PLATFORM, usage=SIGN, algorithm="Ed25519",
                   public_key=public, wrapped_private_key=master.wrap(_raw_private(private),
                                                                      _context(kid)),
                   created_at=uow.now())
    uow.session.add(pair)
    uow.session.flush()
    return pair


def proven_platform_fingerprints(uow: UnitOfWork, master: MasterKey) -> set[str]:
    """Fingerprints of the platform signing keys whose private half the master key opens and
    matches: keys this platform made, not rows someone inserted into the database."""
    pairs = uow.session.scalars(select(KeyPair).where(
        KeyPair.owner == PLATFORM, KeyPair.usage == SIGN, KeyPair.algorithm == "Ed25519"))
    return {fingerprint(pair.public_key) for pair in pairs if _opens(pair, master)}


def _opens(pair: KeyPair, master: MasterKey) -> bool:
    try:
        raw = master.unwrap(pair.wrapped_private_key or b"", _context(pair.kid))
        private = Ed25519PrivateKey.from_private_bytes(raw)
    except (KeyError_, ValueError):
        return False
    return _raw_public(private.public_key()) == pair.public_key


def _current(uow: UnitOfWork, owner: str, organisation_id: int | None,
             usage: str) -> KeyPair | None:
    stmt = (select(KeyPair)
            .where(KeyPair.owner == owner, KeyPair.usage == usage,
                   KeyPair.organisation_id.is_(None) if organisation_id is None
                   else KeyPair.organisation_id == organisation_id,
                   KeyPair.retired_at.is_(None))
            .order_by(KeyPair.id.desc()).limit(1))
    return uow.session.scalars(stmt).first()


def sign(pair: KeyPair, master: MasterKey, message: bytes) -> bytes:
    """Sign with a stored Ed25519 key; the clear private key lives only in this call."""
    if pair.algorithm != "Ed25519" or pair.wrapped_private_key is None:
        raise KeyError_("Cette clé ne sert pas à signer.")
    raw = master.unwrap(pair.wrapped_private_key, _context(pair.kid))
    return Ed25519PrivateKey.from_private_bytes(raw).sign(message)


def public_signing_key(uow: UnitOfWork, kid: str) -> Ed25519PublicKey | None:
    pair = _by_kid(uow, kid)
    if pair is None or pair.algorithm != "Ed25519":
        return None
    return Ed25519PublicKey.from_public_bytes(pair.public_key)


def _by_kid(uow: UnitOfWork, kid: str) -> KeyPair | None:
    return uow.session.scalars(select(KeyPair).where(KeyPair.kid == kid)).first()


# --- organisations --------------------------------------------------------------------------

@dataclass(frozen=True)
class OrganisationKeys:
    """An organisation's current pairs."""

    encryption: KeyPair
    signing: KeyPair


def _new_pair(uow: UnitOfWork, org: Organisation, usage: str,
              not_after: datetime | None) -> KeyPair:
    private: Ed25519PrivateKey | X25519PrivateKey = (
        Ed25519PrivateKey.generate() if usage == SIGN else X25519PrivateKey.generate())
    algorithm = "Ed25519" if usage == SIGN else "X25519"
    public = _raw_public(private.public_key())
    kid = directory.kid_for(algorithm, public)
    pair = KeyPair(kid=kid, owner=ORGANISATION, organisation_id=org.id, usage=usage,
                   algorithm=algorithm, public_key=public,
                   wrapped_private_key=uow.master.wrap(_raw_private(private), _context(kid)),
                   created_at=uow.now(), not_after=not_after)
    uow.session.add(pair)
    return pair


def ensure_organisation_keys(uow: UnitOfWork, org: Organisation, *,
                             not_after: datetime | None = None) -> OrganisationKeys:
    """The organisation's current encryption and signing pairs, created (and audited, as the
    platform) when missing. Safe to call again."""
    pairs = {usage: _current(uow, ORGANISATION, org.id, usage) for usage in (ENCRYPT, SIGN)}
    created = []
    for usage, pair in pairs.items():
        if pair is None:
            pairs[usage] = _new_pair(uow, org, usage, not_after)
            created.append(pairs[usage].kid)
    if created:
        uow.session.flush()
        audit.append(uow, audit.SYSTEM, "keys.organisation_keys_created",
                     subject_type="organisation", subject_id=org.id, kids=created)
    return OrganisationKeys(encryption=pairs[ENCRYPT], signing=pairs[SIGN])


def rotate(uow: UnitOfWork, actor: Actor, org: Organisation, *,
           not_after: datetime | None = None) -> OrganisationKeys:
    """Retire the current encryption and signing pairs and create new ones (audited).

    Retired pairs stay in the directory: they still open and verify what predates the
    rotation. The recovery key is not affected.
    """
    now = uow.now()
    retired = []
    for usage in (ENCRYPT, SIGN):
        current = _current(uow, ORGANISATION, org.id, usage)
        if current is not None:
            current.retired_at = now
            retired.append(current.kid)
    uow.session.flush()
    keys = OrganisationKeys(encryption=_new_pair(uow, org, ENCRYPT, not_after),
                            signing=_new_pair(uow, org, SIGN, not_after))
    uow.session.flush()
    audit.append(uow, actor, "keys.rotated", subject_type="organisation", subject_id=org.id,
                 retired=retired, created=[keys.encryption.kid, keys.signing.kid])
    return keys


def register_recovery_key(uow: UnitOfWork, actor: Actor, org: Organisation,
                          public_key_bytes: bytes) -> KeyPair:
    """Register the organisation's offline X25519 recovery public key (audited); every envelope
    sealed to the organisation from now on also wraps its content key for it. A previous
    recovery key is retired. Registering the current one again changes nothing."""
    public = _checked_recovery_key(public_key_bytes)
    kid = directory.kid_for("X25519", public)
    existing = _by_kid(uow, kid)
    if existing is not None:
        if existing.organisation_id == org.id and existing.usage == RECOVERY \
                and existing.retired_at is None:
            return existing
        raise Conflict("Cette clé publique est déjà enregistrée : générez une nouvelle clé de "
                       "recouvrement.")
    previous = _current(uow, ORGANISATION, org.id, RECOVERY)
    if previous is not None:
        previous.retired_at = uow.now()
    pair = KeyPair(kid=kid, owner=ORGANISATION, organisation_id=org.id, usage=RECOVERY,
                   algorithm="X25519", public_key=public, wrapped_private_key=None,
                   created_at=uow.now())
    uow.session.add(pair)
    uow.session.flush()
    audit.append(uow, actor, "keys.recovery_key_registered", subject_type="organisation",
                 subject_id=org.id, kid=kid, retired=previous.kid if previous else None)
    return pair


def recovery_key_from_pem(pem: bytes) -> bytes:
    """Raw 32-byte X25519 public key from a PEM SubjectPublicKeyInfo (openssl pkey -pubout)."""
    try:
        public = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        public = None
    if not isinstance(public, X25519PublicKey):
        raise KeyRejected("Le fichier doit contenir une clé publique X25519 au format PEM "
                          "(openssl pkey -pubout).")
    return _raw_public(public)


def _checked_recovery_key(public_key_bytes: bytes) -> bytes:
    if len(public_key_bytes) != 32:
        raise KeyRejected("Clé de recouvrement refusée : une clé publique X25519 brute fait "
                          "32 octets.")
    public = X25519PublicKey.from_public_bytes(public_key_bytes)
    try:  # a trial wrap refuses low-order points, with which every seal would fail
        envelope.SUITE.encrypt(b"\x00" * 32, public, info=b"relais/recovery-key-check")
    except ValueError as exc:
        raise KeyRejected("Clé de recouvrement refusée : ce n'est pas une clé X25519 "
                          "utilisable.") from exc
    return public_key_bytes


def _usable(pair: KeyPair, org: Organisation, now: datetime) -> KeyPair:
    if pair.not_after is not None and pair.not_after < now:
        raise KeyExpired(f"La clé {pair.kid} de {org.slug} a expiré le "
                         f"{pair.not_after:%d/%m/%Y} : lancez « relais keys rotate {org.slug} ».")
    return pair


def current_encryption_keys(uow: UnitOfWork, org: Organisation) -> list[envelope.Recipient]:
    """The keys to seal for this organisation: its current encryption key, plus its recovery
    key when one is registered. Creates the organisation's keys on first use."""
    current = _usable(ensure_organisation_keys(uow, org).encryption, org, uow.now())
    recipients = [envelope.Recipient(current.kid, X25519PublicKey.from_public_bytes(
        current.public_key), org.slug, envelope.USAGE_ENCRYPT)]
    recovery = _current(uow, ORGANISATION, org.id, RECOVERY)
    if recovery is not None:
        recipients.append(envelope.Recipient(recovery.kid, X25519PublicKey.from_public_bytes(
            recovery.public_key), org.slug, envelope.USAGE_RECOVERY))
    return recipients


def private_signing_key(uow: UnitOfWork, org: Organisation) -> tuple[str, Ed25519PrivateKey]:
    """(kid, private key) of the organisation's current signing key, unwrapped in memory only.
    Creates the organisation's keys on first use; refuses an expired key."""
    pair = _usable(ensure_organisation_keys(uow, org).signing, org, uow.now())
    raw = uow.master.unwrap(pair.wrapped_private_key or b"", _context(pair.kid))
    return pair.kid, Ed25519PrivateKey.from_private_bytes(raw)


def private_encryption_key(uow: UnitOfWork, kid: str) -> X25519PrivateKey:
    """The X25519 private key `kid` (current or retired), unwrapped in memory only."""
    pair = _by_kid(uow, kid)
    if pair is None or pair.algorithm != "X25519":
        raise KeyNotFound(f"Clé de déchiffrement inconnue : {kid}.")
    if pair.wrapped_private_key is None:
        raise KeyNotFound(f"La clé {kid} est une clé de recouvrement : sa partie privée est "
                          "détenue hors ligne par l'organisation, pas par Relais.")
    raw = uow.master.unwrap(pair.wrapped_private_key, _context(pair.kid))
    return X25519PrivateKey.from_private_bytes(raw)


def organisation_of_key(uow: UnitOfWork, kid: str) -> Organisation | None:
    pair = _by_kid(uow, kid)
    if pair is None or pair.organisation_id is None:
        return None
    return uow.session.get(Organisation, pair.organisation_id)


def public_key_lookup(uow: UnitOfWork) -> envelope.KeyLookup:
    """Organisation signing keys known to this database, for `envelope.verify_signature`."""

    def lookup(kid: str) -> envelope.TrustedKey | None:
        row = uow.session.execute(
            select(KeyPair, Organisation.slug)
            .join(Organisation, Organisation.id == KeyPair.organisation_id)
            .where(KeyPair.kid == kid, KeyPair.owner == ORGANISATION,
                   KeyPair.usage == SIGN)).first()
        if row is None:
            return None
        pair, slug = row
        ends = [t for t in (pair.retired_at, pair.not_after) if t is not None]
        return envelope.TrustedKey(kid=pair.kid, organisation=slug,
                                   public_key=Ed25519PublicKey.from_public_bytes(pair.public_key),
                                   valid_from=pair.created_at,
                                   valid_until=min(ends) if ends else None)

    return lookup


# --- the key directory ----------------------------------------------------------------------

def organisation_key_pairs(uow: UnitOfWork, org: Organisation) -> list[KeyPair]:
    """Every key of the organisation, current and retired, oldest first."""
    return list(uow.session.scalars(
        select(KeyPair).where(KeyPair.owner == ORGANISATION, KeyPair.organisation_id == org.id)
        .order_by(KeyPair.created_at, KeyPair.id)))


def _key_entry(pair: KeyPair) -> dict[str, Any]:
    return {"kid": pair.kid, "algorithm": pair.algorithm, "usage": pair.usage,
            "public_key": base64.b64encode(pair.public_key).decode("ascii"),
            "fingerprint_sha256": fingerprint(pair.public_key),
            "created_at": directory.timestamp(pair.created_at),
            "retired_at": directory.timestamp(pair.retired_at),
            "not_after": directory.timestamp(pair.not_after)}


def export_public(uow: UnitOfWork, org: Organisation) -> dict[str, Any]:
    """The organisation's signed key directory (see `engine.keys.directory`). Creates the
    organisation's keys on first use."""
    ensure_organisation_keys(uow, org)
    platform = ensure_platform_signing_key(uow, uow.master)
    doc: dict[str, Any] = {
        "type": directory.DIRECTORY_TYPE, "version": directory.DIRECTORY_VERSION,
        "organisation": {"slug": org.slug, "name": org.name},
        "issued_at": directory.timestamp(uow.now()),
        "keys": [_key_entry(pair) for pair in organisation_key_pairs(uow, org)],
        "platform_key": {"kid": platform.kid, "algorithm": "Ed25519",
                         "public_key": base64.b64encode(platform.public_key).decode("ascii"),
                         "fingerprint_sha256": fingerprint(platform.public_key)},
    }
    doc["signature"] = base64.b64encode(
        sign(platform, uow.master, directory.signed_bytes(doc))).decode("ascii")
    return doc


class _PlatformSigner:
    """The platform's Ed25519 key as the signer of the audit log's checkpoints."""

    def current_kid(self, uow: UnitOfWork) -> str:
        return ensure_platform_signing_key(uow, uow.master).kid

    def sign(self, uow: UnitOfWork, kid: str, message: bytes) -> bytes:
        pair = _by_kid(uow, kid)
        if pair is None or pair.owner != PLATFORM:
            raise KeyNotFound(f"Clé de la plateforme introuvable : {kid}.")
        return sign(pair, uow.master, message)

    def public_key(self, uow: UnitOfWork, kid: str) -> Ed25519PublicKey | None:
        return public_signing_key(uow, kid)

    def proven_fingerprints(self, uow: UnitOfWork) -> set[str]:
        return proven_platform_fingerprints(uow, uow.master)


signing.provide(_PlatformSigner())  # audit asks keys for signatures, never imports keys
