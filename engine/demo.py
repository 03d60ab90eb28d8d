"""The demo territory of API.md: organisations, users and roles, created idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from engine.audit import service as audit
from engine.audit.service import SYSTEM
from engine.db import Database, transaction
from engine.identity import service as identity
from engine.identity.models import OrganisationKind as K
from engine.identity.roles import Role

# The demo password exists only here and only for the demo accounts.
DEMO_PASSWORD = "demo-relais-2026"  # noqa: S105

ORGANISATIONS = (
    ("asso-iscg-demo", "Association ISCG (démo) — intervenants sociaux", K.ASSOCIATION),
    ("asso-victimes-demo", "France Victimes (démo) — aide aux victimes", K.ASSOCIATION),
    ("cd-demo", "Conseil départemental (démo) — action sociale territoriale",
     K.DEPARTMENTAL_COUNCIL),
    ("cmp-demo", "Centre médico-psychologique (démo)", K.CMP),
    ("commissariat-demo", "Commissariat de police (démo)", K.POLICE),
    ("plateforme-demo", "Administration de la plateforme (démo)", K.PLATFORM),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    organisation: str
    role: Role


USERS = (
    DemoUser("demo-is", "Camille Martin (IS, démo)", "asso-iscg-demo", Role.IS),
    DemoUser("demo-asso", "Nadia Benali (association, démo)", "asso-victimes-demo",
             Role.ASSOCIATION),
    DemoUser("demo-itp", "Julien Petit (secrétariat ITP, démo)", "cd-demo", Role.CG_ITP),
    DemoUser("demo-cmp", "Sophie Laurent (infirmière CMP, démo)", "cmp-demo", Role.CMP),
    DemoUser("demo-police", "Brigadier Thomas Roux (démo)", "commissariat-demo", Role.POLICE),
    DemoUser("demo-dpp", "Gérard Moreau (délégué police-population, démo)",
             "commissariat-demo", Role.DPP),
    DemoUser("demo-admin", "Administratrice (démo)", "plateforme-demo", Role.ADMIN),
)


def create_demo(db: Database) -> list[str]:
    """Create what is missing of the demo territory; returns what was created."""
    created: list[str] = []
    with transaction(db) as uow:
        for slug, name, kind in ORGANISATIONS:
            if identity.find_organisation(uow, slug) is None:
                identity.create_organisation(uow, SYSTEM, slug=slug, name=name, kind=kind)
                created.append(slug)
        for spec in USERS:
            user = identity.find_user(uow, spec.username)
            if user is None:
                user = identity.create_user(uow, SYSTEM, username=spec.username,
                                            display_name=spec.display_name,
                                            password=DEMO_PASSWORD)
                created.append(spec.username)
            org = identity.get_organisation(uow, spec.organisation)
            identity.grant_role(uow, SYSTEM, user, org, spec.role)
        if created:
            audit.append(uow, SYSTEM, "platform.demo_created", created=len(created))
            audit.checkpoint(uow)
    return created


def demo_password_in_use(db: Database) -> list[str]:
    """Demo accounts that still accept the demo password (`serve` warns about them)."""
    with db.unit_of_work() as uow:
        return [spec.username for spec in USERS
                if (user := identity.find_user(uow, spec.username)) is not None
                and user.active and identity.password_matches(user, DEMO_PASSWORD)]
