"""The key directory as the administration console shows and changes it. Administrators only.

Each use case checks the ADMIN role, then calls `engine.keys.service` (which audits rotation
and recovery registration); exporting the signed directory is audited here, since the CLI's
export is an operator's local read but the console's is a download by a named person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.audit import chain as audit
from engine.db import UnitOfWork
from engine.identity.models import Organisation
from engine.identity.roles import Role
from engine.identity.service import Principal, get_organisation, require_role
from engine.keys import service
from engine.keys.directory import fingerprint
from engine.keys.models import KeyPair

USAGE_LABELS = {service.ENCRYPT: "Chiffrement", service.SIGN: "Signature",
                service.RECOVERY: "Recouvrement (hors ligne)"}
MAX_PEM_BYTES = 4096


@dataclass(frozen=True)
class KeyRow:
    """One key of the directory, as the page lists it."""

    kid: str
    usage: str
    usage_label: str
    algorithm: str
    fingerprint: str
    created_at: datetime
    retired_at: datetime | None
    not_after: datetime | None

    @property
    def status(self) -> str:
        if self.retired_at is not None:
            return "Retirée (ouvre et vérifie encore les envois antérieurs)"
        return "En service"


@dataclass(frozen=True)
class OrganisationKeys:
    slug: str
    name: str
    keys: list[KeyRow]

    @property
    def rotated_at(self) -> datetime | None:
        """When the current keys replaced older ones (None: never rotated)."""
        retired = [k.retired_at for k in self.keys if k.retired_at is not None
                   and k.usage != service.RECOVERY]
        return max(retired) if retired else None


@dataclass(frozen=True)
class PlatformKey:
    kid: str
    fingerprint: str
    created_at: datetime


def _row(pair: KeyPair) -> KeyRow:
    return KeyRow(pair.kid, pair.usage, USAGE_LABELS.get(pair.usage, pair.usage),
                  pair.algorithm, fingerprint(pair.public_key), pair.created_at,
                  pair.retired_at, pair.not_after)


def directory(uow: UnitOfWork, principal: Principal) -> list[OrganisationKeys]:
    """Every organisation with its keys (current, retired, recovery), oldest first."""
    require_role(principal, Role.ADMIN)
    pairs: dict[int, list[KeyRow]] = {}
    for pair in uow.session.scalars(select(KeyPair).where(KeyPair.owner == service.ORGANISATION)
                                    .order_by(KeyPair.created_at, KeyPair.id)):
        pairs.setdefault(pair.organisation_id or 0, []).append(_row(pair))
    orgs = uow.session.scalars(select(Organisation).order_by(Organisation.name, Organisation.id))
    return [OrganisationKeys(o.slug, o.name, pairs.get(o.id, [])) for o in orgs]


def platform_key(uow: UnitOfWork, principal: Principal) -> PlatformKey:
    """The current platform signing key (created on first use): its fingerprint is what
    verifiers pin (`relais verify --platform-key`, `relais audit verify --trusted-key`)."""
    require_role(principal, Role.ADMIN)
    pair = service.ensure_platform_signing_key(uow, uow.master)
    return PlatformKey(pair.kid, fingerprint(pair.public_key), pair.created_at)


def rotate(uow: UnitOfWork, principal: Principal, slug: str) -> service.OrganisationKeys:
    """Retire the organisation's current keys and create new ones (audited `keys.rotated`)."""
    require_role(principal, Role.ADMIN)
    return service.rotate(uow, principal.actor, get_organisation(uow, slug))


def register_recovery(uow: UnitOfWork, principal: Principal, slug: str,
                      pem: bytes) -> KeyPair:
    """Register the organisation's offline recovery public key from its PEM file (audited
    `keys.recovery_key_registered`); KeyRejected when it is not a usable X25519 key."""
    require_role(principal, Role.ADMIN)
    org = get_organisation(uow, slug)
    if len(pem) > MAX_PEM_BYTES:
        raise service.KeyRejected("Fichier trop grand pour une clé publique PEM.")
    return service.register_recovery_key(uow, principal.actor, org,
                                         service.recovery_key_from_pem(pem))


def export_directory(uow: UnitOfWork, principal: Principal, slug: str) -> dict[str, Any]:
    """The organisation's signed key directory (`relais keys export-public`), audited."""
    require_role(principal, Role.ADMIN)
    org = get_organisation(uow, slug)
    doc = service.export_public(uow, org)
    audit.append(uow, principal.actor, "admin.keys.directory_exported",
                 subject_type="organisation", subject_id=org.id,
                 kids=[k["kid"] for k in doc["keys"]])
    return doc
