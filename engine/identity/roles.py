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
    Role.COMITE: "Comité de suivi ou de pilotage (chiffres seulement)",
    Role.ADMIN: "Administrateur de la plateforme",
}


def is_known_role(name: str) -> bool:
    """True when `name` is a role of the catalogue (lanes are checked against this)."""
    return name in Role.__members__
