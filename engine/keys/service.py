"""Key use cases. Private keys are unwrapped in memory for one operation and never stored clear."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select

from engine.db import UnitOfWork
from engine.keys.errors import KeyError_
from engine.keys.master import MasterKey
from engine.keys.models import KeyPair

RAW = serialization.Encoding.Raw


def _context(kid: str) -> str:
    return f"relais/key-pair/{kid}"


def fingerprint(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()


def ensure_platform_signing_key(uow: UnitOfWork, master: MasterKey) -> KeyPair:
    """The current platform Ed25519 key, created on first use."""
    current = _current(uow, "platform", None, "sign")
    if current is not None:
        return current
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)
    kid = "platform-sign-" + fingerprint(public)[:16]
    raw_private = private.private_bytes(RAW, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    pair = KeyPair(kid=kid, owner="platform", usage="sign", algorithm="Ed25519",
                   public_key=public, wrapped_private_key=master.wrap(raw_private, _context(kid)),
                   created_at=uow.now())
    uow.session.add(pair)
    uow.session.flush()
    return pair


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
    if pair.algorithm != "Ed25519":
        raise KeyError_("Cette clé ne sert pas à signer.")
    raw = master.unwrap(pair.wrapped_private_key, _context(pair.kid))
    return Ed25519PrivateKey.from_private_bytes(raw).sign(message)


def public_signing_key(uow: UnitOfWork, kid: str) -> Ed25519PublicKey | None:
    pair = uow.session.scalars(select(KeyPair).where(KeyPair.kid == kid)).first()
    if pair is None or pair.algorithm != "Ed25519":
        return None
    return Ed25519PublicKey.from_public_bytes(pair.public_key)
