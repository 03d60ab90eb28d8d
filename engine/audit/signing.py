"""Who signs the audit log's checkpoints: an interface the audit domain needs and the keys
domain provides (dependency inversion, so that audit never imports keys: keys logs to the
audit chain, audit only asks for signatures).

`engine.keys.service` registers the platform key as the signer when it is imported (every
entry point — `engine.platform`, the CLI, the web app, the jobs — imports it before any
checkpoint is taken). Without a provider, taking or checking a checkpoint fails loudly.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from engine.audit.errors import AuditError

if TYPE_CHECKING:
    from engine.db import UnitOfWork


class CheckpointSigner(Protocol):
    def current_kid(self, uow: UnitOfWork) -> str:
        """The id of the current platform signing key (created on first use)."""

    def sign(self, uow: UnitOfWork, kid: str, message: bytes) -> bytes:
        """The Ed25519 signature of `message` by the platform key `kid`."""

    def public_key(self, uow: UnitOfWork, kid: str) -> Ed25519PublicKey | None:
        """The Ed25519 public key stored under `kid`, if any."""

    def proven_fingerprints(self, uow: UnitOfWork) -> set[str]:
        """Fingerprints of the platform keys whose private half the master key opens."""


_provider: list[CheckpointSigner] = []


def provide(signer: CheckpointSigner) -> None:
    """Register the signer (the keys domain, at import)."""
    _provider[:] = [signer]


def signer() -> CheckpointSigner:
    if not _provider:
        raise AuditError("Aucune clé de la plateforme n'est disponible pour signer le journal "
                         "(le domaine des clés n'est pas chargé).")
    return _provider[0]


def fingerprint(public_key: bytes) -> str:
    """SHA-256 of a raw public key, lowercase hex (the same as the key directory's)."""
    return hashlib.sha256(public_key).hexdigest()
