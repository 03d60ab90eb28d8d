"""Organisations as administrators manage them: list, create, edit, logo.

Guarantees:
- Only administrators act here (`Role.ADMIN`, checked in each function).
- Every refusal names its field in French (`Invalid.errors`) and changes nothing.
- Every change is audited with the names of the changed fields, never their values.
- A logo is a PNG or JPEG (checked on its first bytes, not on its name) of at most
  MAX_LOGO_BYTES.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import select

from engine.audit import service as audit
from engine.audit.service import Actor
from engine.db import UnitOfWork
from engine.errors import Invalid, NotFound
from engine.identity import service as identity
from engine.identity.models import Organisation, OrganisationKind
from engine.identity.principal import Principal, require_role
from engine.identity.roles import SECRECY_ROLES, Role, is_known_role, secrecy_roles_of

MAX_LOGO_BYTES = 512 * 1024
LOGO_SIGNATURES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
LIMITS = {"name": 200, "address": 300, "phone": 40, "dpo_contact": 300, "signatory": 200}


@dataclass(frozen=True)
class OrganisationChange:
    """What the edit form sends: texts, the offence-data flag, the roles bound by secrecy."""

    name: str
    address: str = ""
    phone: str = ""
    dpo_contact: str = ""
    signatory: str = ""
    offence_data_authorised: bool = False
    bound_by_secrecy: bool = False
    secrecy_roles: tuple[str, ...] = ()


def list_organisations(uow: UnitOfWork, principal: Principal) -> list[Organisation]:
    require_role(principal, Role.ADMIN)
    return list(uow.session.scalars(select(Organisation).order_by(Organisation.name)))


def get(uow: UnitOfWork, principal: Principal, slug: str) -> Organisation:
    require_role(principal, Role.ADMIN)
    return identity.get_organisation(uow, slug)


def create(uow: UnitOfWork, principal: Principal, *, slug: str, kind: str,
           change: OrganisationChange) -> Organisation:
    """A new organisation (identity.create_organisation: slug, kind, flags by kind), then its
    details. Audited by both steps."""
    require_role(principal, Role.ADMIN)
    slug = slug.strip()
    errors = _creation_errors(uow, slug, kind)
    try:
        _check_texts(change)
    except Invalid as exc:
        errors += exc.errors
    if errors:
        raise Invalid("L'organisation n'a pas été créée : corrigez les champs signalés.",
                      errors)
    org = identity.create_organisation(uow, principal.actor, slug=slug, name=change.name,
                                       kind=kind)
    # Flags start from the kind's defaults (police: offence data; council: secrecy); they
    # are changed on the edit page, deliberately, not by an unticked box at creation.
    change = replace(change, offence_data_authorised=org.offence_data_authorised,
                     bound_by_secrecy=org.bound_by_secrecy,
                     secrecy_roles=tuple(sorted(secrecy_roles_of(org))))
    return _apply(uow, principal, org, change, created=True)


def _creation_errors(uow: UnitOfWork, slug: str, kind: str) -> list[dict[str, str]]:
    errors = []
    if not identity.SLUG_RE.match(slug):
        errors.append({"field": "slug", "message": "Identifiant invalide : lettres "
                       "minuscules, chiffres et tirets seulement (64 caractères au plus)."})
    elif identity.find_organisation(uow, slug) is not None:
        errors.append({"field": "slug", "message": f"L'organisation {slug} existe déjà."})
    if kind not in OrganisationKind._value2member_map_:
        errors.append({"field": "kind", "message": "Choisissez le type d'organisation dans "
                       "la liste."})
    return errors


def update(uow: UnitOfWork, principal: Principal, slug: str,
           change: OrganisationChange) -> Organisation:
    """Change an organisation's details (its slug and kind stay). Audited when it changes."""
    require_role(principal, Role.ADMIN)
    org = identity.get_organisation(uow, slug)
    _check_texts(change)
    return _apply(uow, principal, org, change, created=False)


def _check_texts(change: OrganisationChange) -> None:
    errors = []
    if not change.name.strip():
        errors.append({"field": "name", "message": "Le nom de l'organisation est obligatoire."})
    for field, limit in LIMITS.items():
        if len(getattr(change, field).strip()) > limit:
            errors.append({"field": field, "message": f"{limit} caractères au plus."})
    unknown = [r for r in change.secrecy_roles if not is_known_role(r)]
    if unknown:
        errors.append({"field": "secrecy_roles", "message": "Rôle inconnu : "
                       f"{', '.join(unknown)}."})
    if errors:
        raise Invalid("L'organisation n'a pas été enregistrée : corrigez les champs "
                      "signalés.", errors)


def _apply(uow: UnitOfWork, principal: Principal, org: Organisation,
           change: OrganisationChange, *, created: bool) -> Organisation:
    values: dict[str, object] = {f: getattr(change, f).strip() or None for f in LIMITS}
    values["name"] = change.name.strip()
    values["offence_data_authorised"] = bool(change.offence_data_authorised)
    values["bound_by_secrecy"] = bool(change.bound_by_secrecy)
    values["secrecy_roles"] = _secrecy_json(change.secrecy_roles)
    changed = sorted(k for k, v in values.items() if getattr(org, k) != v)
    for field in changed:
        setattr(org, field, values[field])
    if changed or created:
        audit.append(uow, principal.actor, "admin.organisations.created" if created
                     else "admin.organisations.changed", subject_type="organisation",
                     subject_id=org.id, fields=changed)
    return org


def _secrecy_json(roles: Iterable[str]) -> str | None:
    """NULL when the choice equals the catalogue's default, so the default can evolve."""
    chosen = sorted(set(roles))
    return None if set(chosen) == set(SECRECY_ROLES) else json.dumps(chosen)


def set_signatory(uow: UnitOfWork, actor: Actor, org: Organisation,
                  signatory: str) -> Organisation:
    """Who signs `org`'s letters (a function, e.g. « Le commissaire de police »). Audited
    when it changes; the caller checks who may decide it."""
    value = signatory.strip() or None
    if value is not None and len(value) > 200:
        raise Invalid("Le signataire compte au plus 200 caractères.",
                      [{"field": "signatory", "message": "200 caractères au plus."}])
    if org.signatory != value:
        org.signatory = value
        audit.append(uow, actor, "identity.organisation_letterhead_changed",
                     subject_type="organisation", subject_id=org.id, fields=["signatory"])
    return org


def set_logo(uow: UnitOfWork, principal: Principal, slug: str, content: bytes) -> Organisation:
    """Replace the organisation's logo: PNG or JPEG, at most MAX_LOGO_BYTES. Audited."""
    require_role(principal, Role.ADMIN)
    org = identity.get_organisation(uow, slug)
    media_type = next((t for t, magic in LOGO_SIGNATURES.items()
                       if content.startswith(magic)), None)
    if not content:
        _logo_refused("Choisissez un fichier d'image (PNG ou JPEG).")
    if len(content) > MAX_LOGO_BYTES:
        _logo_refused(f"Le logo dépasse {MAX_LOGO_BYTES // 1024} Kio : réduisez l'image.")
    if media_type is None:
        _logo_refused("Le logo doit être une image PNG ou JPEG.")
    org.logo, org.logo_type = content, media_type
    audit.append(uow, principal.actor, "admin.organisations.logo_changed",
                 subject_type="organisation", subject_id=org.id, media_type=media_type,
                 size=len(content))
    return org


def logo_of(uow: UnitOfWork, principal: Principal, slug: str) -> tuple[bytes, str]:
    require_role(principal, Role.ADMIN)
    org = identity.get_organisation(uow, slug)
    if org.logo is None or org.logo_type is None:
        raise NotFound("Cette organisation n'a pas de logo.")
    return org.logo, org.logo_type


def _logo_refused(message: str) -> None:
    raise Invalid(message, [{"field": "logo", "message": message}])
