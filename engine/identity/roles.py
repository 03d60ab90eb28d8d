"""The role catalogue: the roles a membership can carry and that BPMN lanes name."""

from __future__ import annotations

from enum import StrEnum


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


def bound_by_secrecy(role: str | None) -> bool:
    """True when the holders of `role` are bound by professional secrecy."""
    return role in SECRECY_ROLES


def is_known_role(name: str) -> bool:
    """True when `name` is a role of the catalogue (lanes are checked against this)."""
    return name in Role.__members__
