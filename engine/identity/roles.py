"""The role catalogue: the roles a membership can carry and that BPMN lanes name."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    IS = "IS"
    ASSOCIATION = "ASSOCIATION"
    CG_ITP = "CG_ITP"
    CG_SOCIAL = "CG_SOCIAL"
    CMP = "CMP"
    POLICE = "POLICE"
    GENDARMERIE = "GENDARMERIE"
    DPP = "DPP"
    PSYCHOLOGUE = "PSYCHOLOGUE"
    CDDF = "CDDF"
    PARQUET = "PARQUET"
    URGENCES = "URGENCES"
    COMITE = "COMITE"
    EMPLOYEUR = "EMPLOYEUR"
    ADMIN = "ADMIN"


ROLE_LABELS: dict[Role, str] = {
    Role.IS: "Intervenant social",
    Role.ASSOCIATION: "Association d'aide aux victimes",
    Role.CG_ITP: "Secrétariat ITP (conseil départemental)",
    Role.CG_SOCIAL: "Action sociale (conseil départemental)",
    Role.CMP: "Infirmier·e de CMP",
    Role.POLICE: "Police",
    Role.GENDARMERIE: "Gendarmerie",
    Role.DPP: "Délégué police-population",
    Role.PSYCHOLOGUE: "Psychologue",
    Role.CDDF: "Conseil des droits et devoirs des familles (commune)",
    Role.PARQUET: "Parquet (procureur de la République)",
    Role.URGENCES: "Urgences hospitalières (partenaire du protocole violences conjugales)",
    Role.COMITE: "Comité de suivi ou de pilotage (chiffres seulement)",
    Role.EMPLOYEUR: "Direction de l'employeur des IS (chiffres seulement)",
    Role.ADMIN: "Administrateur de la plateforme",
}


# Professional secrecy (Code pénal 226-13) binds people by their profession or their function,
# not organisations: social workers (CASF L.411-3), child-protection and social-action staff
# of the council (CASF L.221-6, L.226-2-2), CMP nurses and hospital emergency staff (CSP
# L.1110-4), psychologists, the victim-support association's staff (CPP art. 10-2 mission).
# A transmission on a "secret partagé" basis must be addressed to one of these roles (within
# the recipient organisation).
SECRECY_ROLES = frozenset({Role.IS, Role.CG_SOCIAL, Role.CG_ITP, Role.CMP, Role.PSYCHOLOGUE,
                           Role.ASSOCIATION, Role.URGENCES})


# Roles that see activity figures only: never a situation, a name or a document, even in an
# organisation that holds situations (an employer's management in the IS's association).
FIGURES_ONLY_ROLES = frozenset({Role.COMITE, Role.EMPLOYEUR})


def bound_by_secrecy(role: str | None, organisation: Any = None) -> bool:
    """True when the holders of `role` are bound by professional secrecy — in
    `organisation` when given (its own list, set by an administrator), else by default."""
    return role in secrecy_roles_of(organisation)


def secrecy_roles_of(organisation: Any = None) -> frozenset[str]:
    """The roles bound by secrecy in `organisation`: its `secrecy_roles` (a JSON list) when
    an administrator set one, else the catalogue's SECRECY_ROLES."""
    raw = getattr(organisation, "secrecy_roles", None)
    if not raw:
        return frozenset(SECRECY_ROLES)
    try:
        names = json.loads(raw)
    except ValueError:
        return frozenset(SECRECY_ROLES)
    return frozenset(n for n in names if isinstance(n, str) and is_known_role(n))


def is_known_role(name: str) -> bool:
    """True when `name` is a role of the catalogue (lanes are checked against this)."""
    return name in Role.__members__
