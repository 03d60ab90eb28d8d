"""The partner slots of a territory: who each protocol sends to, per territory.

A diagram reads each partner as the workflow variable `organisation_<SLOT>` (the slug of the
organisation chosen for the slot) and declares the slots it needs as data inputs of its
process (`<bpmn:dataInput name="organisation_<SLOT>">`): see docs/territories.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.identity.models import OrganisationKind as K

VARIABLE_PREFIX = "organisation_"


@dataclass(frozen=True)
class Slot:
    code: str
    label: str
    kinds: frozenset[str]

    @property
    def variable(self) -> str:
        return VARIABLE_PREFIX + self.code


SLOTS: dict[str, Slot] = {s.code: s for s in (
    Slot("ASSOCIATION", "Association d'aide aux victimes qui tient les dossiers de violences",
         frozenset({K.ASSOCIATION})),
    Slot("IS", "Employeur des intervenants sociaux (commissariat et brigade)",
         frozenset({K.ASSOCIATION, K.DEPARTMENTAL_COUNCIL, K.CCAS, K.COMMUNE})),
    Slot("CG_ITP", "Secrétariat ITP du conseil départemental",
         frozenset({K.DEPARTMENTAL_COUNCIL})),
    Slot("CG_SOCIAL", "Service social du conseil départemental",
         frozenset({K.DEPARTMENTAL_COUNCIL})),
    Slot("CMP", "Centre médico-psychologique", frozenset({K.CMP})),
    Slot("CRIP", "Cellule de recueil des informations préoccupantes", frozenset({K.CRIP})),
    Slot("CDDF", "Commune (conseil pour les droits et devoirs des familles)",
         frozenset({K.COMMUNE})),
    Slot("POLICE", "Commissariat de police", frozenset({K.POLICE})),
    Slot("GENDARMERIE", "Brigade de gendarmerie", frozenset({K.GENDARMERIE})),
    Slot("PARQUET", "Parquet (procureur de la République)", frozenset({K.PARQUET})),
)}


def slot_of_variable(name: str | None) -> str | None:
    """The slot code a data-input name declares (`organisation_CRIP` → `CRIP`), else None."""
    if not name or not name.startswith(VARIABLE_PREFIX):
        return None
    return name[len(VARIABLE_PREFIX):]
