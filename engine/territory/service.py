"""Territory use cases: the only entry point for web, CLI, demo and the runtime.

Guarantees:
- Only administrators create or change a territory (`Role.ADMIN`, checked here).
- Each slot holds an organisation of a compatible kind (`slots.SLOTS`), refused otherwise
  with a French message on the slot's field; nothing is changed on any refusal.
- An organisation belongs to at most one territory (the table's primary key, and a French
  refusal naming the other territory before the database would).
- Every change is audited (`territory.created`, `territory.changed`) with slot codes and
  organisation ids only.
- `start_parameters` gives a starting protocol its partners, or refuses the start in French
  naming the missing partner: a diagram never meets a missing organisation mid-flow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from engine.audit import service as audit
from engine.audit.service import Actor
from engine.db import UnitOfWork
from engine.errors import NotFound
from engine.identity.models import ORGANISATION_KIND_LABELS, Organisation, OrganisationKind
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role
from engine.territory.errors import TerritoryInvalid, TerritoryMissing
from engine.territory.models import Territory, TerritoryMember, TerritoryPartner
from engine.territory.slots import SLOTS

MAX_NAME = 200


@dataclass(frozen=True)
class TerritoryView:
    """A territory as pages show it: its partners by slot and its member organisations."""

    territory: Territory
    partners: dict[str, Organisation]
    members: list[Organisation]


# --- reading -------------------------------------------------------------------------------

def list_territories(uow: UnitOfWork, principal: Principal) -> list[TerritoryView]:
    require_role(principal, Role.ADMIN)
    rows = uow.session.scalars(select(Territory).order_by(Territory.name))
    return [_view(uow, t) for t in rows]


def get_territory(uow: UnitOfWork, principal: Principal, territory_id: int) -> TerritoryView:
    require_role(principal, Role.ADMIN)
    territory = uow.session.get(Territory, territory_id)
    if territory is None:
        raise NotFound("Territoire inconnu.")
    return _view(uow, territory)


def territory_of(uow: UnitOfWork, organisation_id: int) -> Territory | None:
    """The territory `organisation_id` belongs to, if any."""
    member = uow.session.get(TerritoryMember, organisation_id)
    return None if member is None else uow.session.get(Territory, member.territory_id)


def _view(uow: UnitOfWork, territory: Territory) -> TerritoryView:
    partners = {p.slot: uow.session.get(Organisation, p.organisation_id)
                for p in uow.session.scalars(select(TerritoryPartner).where(
                    TerritoryPartner.territory_id == territory.id))}
    members = list(uow.session.scalars(
        select(Organisation).join(TerritoryMember,
                                  TerritoryMember.organisation_id == Organisation.id)
        .where(TerritoryMember.territory_id == territory.id).order_by(Organisation.name)))
    ordered = {code: partners[code] for code in SLOTS if partners.get(code) is not None}
    return TerritoryView(territory, ordered, members)


# --- changing ------------------------------------------------------------------------------

def create_territory(uow: UnitOfWork, principal: Principal, *, name: str,
                     partners: Mapping[str, str | None],
                     members: Iterable[str] = ()) -> TerritoryView:
    """A new territory named `name`, its partners (slot → organisation slug; empty = none)
    and its other member organisations (slugs: e.g. the IS's employer). Audited."""
    require_role(principal, Role.ADMIN)
    return _create(uow, principal.actor, name=name, partners=partners, members=members)


def set_up_territory(uow: UnitOfWork, actor: Actor, *, name: str,
                     partners: Mapping[str, str | None],
                     members: Iterable[str] = ()) -> TerritoryView | None:
    """Create the territory `name` unless it exists (the demo set-up and platform scripts:
    the caller decides who may). Same checks and audit as `create_territory`; None when
    it already existed."""
    if uow.session.scalars(select(Territory).where(Territory.name == name)).first():
        return None
    return _create(uow, actor, name=name, partners=partners, members=members)


def _create(uow: UnitOfWork, actor: Actor, *, name: str, partners: Mapping[str, str | None],
            members: Iterable[str]) -> TerritoryView:
    clean_name = _check_name(uow, name, None)
    chosen, others = _resolve(uow, partners, members)
    territory = Territory(name=clean_name, created_at=uow.now())
    uow.session.add(territory)
    uow.session.flush()
    _store(uow, territory, chosen, others)
    audit.append(uow, actor, "territory.created", subject_type="territory",
                 subject_id=territory.id, **_summary(chosen, others))
    return _view(uow, territory)


def update_territory(uow: UnitOfWork, principal: Principal, territory_id: int, *, name: str,
                     partners: Mapping[str, str | None],
                     members: Iterable[str] = ()) -> TerritoryView:
    """Replace the name, partners and members of a territory. Audited when it changes;
    running instances keep the partners they started with."""
    require_role(principal, Role.ADMIN)
    territory = uow.session.get(Territory, territory_id)
    if territory is None:
        raise NotFound("Territoire inconnu.")
    clean_name = _check_name(uow, name, territory.id)
    chosen, others = _resolve(uow, partners, members, territory.id)
    before = _view(uow, territory)
    old = (territory.name, {k: o.id for k, o in before.partners.items()},
           sorted(o.id for o in before.members))
    territory.name = clean_name
    _store(uow, territory, chosen, others)
    after = _view(uow, territory)
    new = (territory.name, {k: o.id for k, o in after.partners.items()},
           sorted(o.id for o in after.members))
    if old != new:
        audit.append(uow, principal.actor, "territory.changed", subject_type="territory",
                     subject_id=territory.id, **_summary(chosen, others))
    return after


def _check_name(uow: UnitOfWork, name: str, own_id: int | None) -> str:
    clean = (name or "").strip()
    if not clean:
        raise TerritoryInvalid("name", "Le nom du territoire est obligatoire.")
    if len(clean) > MAX_NAME:
        raise TerritoryInvalid("name", f"Le nom du territoire compte au plus {MAX_NAME} "
                               "caractères.")
    other = uow.session.scalars(select(Territory).where(Territory.name == clean)).first()
    if other is not None and other.id != own_id:
        raise TerritoryInvalid("name", f"Un territoire s'appelle déjà « {clean} ».")
    return clean


def _resolve(uow: UnitOfWork, partners: Mapping[str, str | None], members: Iterable[str],
             own_id: int | None = None) -> tuple[dict[str, Organisation], list[Organisation]]:
    """The organisations chosen for each slot and as members, every rule checked first."""
    chosen: dict[str, Organisation] = {}
    for code, slug in partners.items():
        if code not in SLOTS:
            raise TerritoryInvalid(f"partner_{code}", f"Partenaire inconnu : {code}.")
        if not slug:
            continue
        field = f"partner_{code}"
        org = _organisation(uow, slug, field)
        slot = SLOTS[code]
        if org.kind not in slot.kinds:
            kinds = ", ".join(sorted(ORGANISATION_KIND_LABELS[OrganisationKind(k)].lower()
                                     for k in slot.kinds))
            raise TerritoryInvalid(field, f"« {slot.label} » : {org.name} ne convient pas, "
                                   f"il faut une organisation de type {kinds}.")
        _check_free(uow, org, own_id, field)
        chosen[code] = org
    others: list[Organisation] = []
    for slug in members:
        if not slug:
            continue
        org = _organisation(uow, slug, "members")
        _check_free(uow, org, own_id, "members")
        if org not in others:
            others.append(org)
    return chosen, others


def _organisation(uow: UnitOfWork, slug: str, field: str) -> Organisation:
    org = uow.session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    if org is None or not org.active:
        raise TerritoryInvalid(field, "Organisation inconnue ou désactivée : choisissez-en "
                               "une dans la liste.")
    return org


def _check_free(uow: UnitOfWork, org: Organisation, own_id: int | None, field: str) -> None:
    current = territory_of(uow, org.id)
    if current is not None and current.id != own_id:
        raise TerritoryInvalid(field, f"{org.name} appartient déjà au territoire « "
                               f"{current.name} » : une organisation n'appartient qu'à un "
                               "seul territoire.")


def _store(uow: UnitOfWork, territory: Territory, chosen: Mapping[str, Organisation],
           others: list[Organisation]) -> None:
    uow.session.execute(delete(TerritoryPartner).where(
        TerritoryPartner.territory_id == territory.id))
    uow.session.execute(delete(TerritoryMember).where(
        TerritoryMember.territory_id == territory.id))
    uow.session.flush()
    member_ids: list[int] = []
    for org in [*chosen.values(), *others]:
        if org.id not in member_ids:
            member_ids.append(org.id)
    for org_id in member_ids:
        uow.session.add(TerritoryMember(organisation_id=org_id, territory_id=territory.id))
    for code, org in chosen.items():
        uow.session.add(TerritoryPartner(territory_id=territory.id, slot=code,
                                         organisation_id=org.id))
    uow.session.flush()


def _summary(chosen: Mapping[str, Organisation], others: list[Organisation]) -> dict[str, Any]:
    return {"partners": {k: o.id for k, o in chosen.items()},
            "members": sorted(o.id for o in others)}


# --- what a starting protocol reads --------------------------------------------------------

def start_parameters(uow: UnitOfWork, organisation_id: int,
                     needed: Iterable[str]) -> dict[str, Any]:
    """The workflow data a protocol started by `organisation_id` receives: for each partner
    it declares, `organisation_<SLOT>` (the slug) and `territoire[<SLOT>]` (slug, name,
    address, phone, signatory — the letterhead a letter of that partner carries).

    `needed` are the slots the diagram declares: a start with no territory, or a territory
    lacking one of them, is refused (`TerritoryMissing`, in French, naming the partner)."""
    needed = list(needed)
    if not needed:
        return {}
    territory = territory_of(uow, organisation_id)
    if territory is None:
        org = uow.session.get(Organisation, organisation_id)
        raise TerritoryMissing(
            f"Ce protocole ne peut pas démarrer : {org.name if org else 'votre organisation'} "
            "n'est rattachée à aucun territoire. Un administrateur doit l'ajouter à un "
            "territoire et y choisir ses partenaires.")
    view = _view(uow, territory)
    unknown = [code for code in needed if code not in SLOTS]
    missing = [code for code in needed if code in SLOTS and code not in view.partners]
    if unknown:
        raise TerritoryMissing("Ce protocole attend un partenaire que Relais ne connaît pas "
                               f"({', '.join(unknown)}) : corrigez le diagramme.")
    if missing:
        labels = " ; ".join(f"« {SLOTS[code].label} »" for code in missing)
        raise TerritoryMissing(
            f"Ce protocole ne peut pas démarrer : le territoire « {territory.name} » n'a pas "
            f"de partenaire {labels}. Un administrateur doit le choisir dans les paramètres "
            "du territoire.")
    # Only the declared partners: a lane named after a role the diagram did not declare
    # keeps binding to the starter's organisation (runtime.execution._bind_lane).
    chosen = {code: view.partners[code] for code in needed}
    data: dict[str, Any] = {SLOTS[code].variable: org.slug for code, org in chosen.items()}
    data["territoire"] = {code: {"organisation": org.slug, "nom": org.name,
                                 "adresse": org.address or "", "telephone": org.phone or "",
                                 "signataire": org.signatory or ""}
                          for code, org in chosen.items()}
    return data
