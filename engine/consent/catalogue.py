"""The catalogues of the consent domain: purposes, legal bases, data categories, and what
each kind of organisation may receive. Code, not configuration: a deployed diagram names
these codes, so they are never renamed; new entries are added with `register_purpose` /
`register_legal_basis` at import time.

Everything here is pure data and pure functions (no database): the policy
(`engine.consent.policy`) and the documentation (`docs/consent.md`) read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from engine.identity.models import Organisation, OrganisationKind
from engine.identity.roles import Role

# --- data categories -----------------------------------------------------------------------

CATEGORY_LABELS: dict[str, str] = {
    "ID": "identité",
    "SOC": "situation sociale",
    "HEALTH": "santé",
    "OFF": "infractions",
    "MINOR": "mineur",
    "THIRD": "tiers",
}


def category_label(code: str) -> str:
    return CATEGORY_LABELS.get(code, code)


# --- purposes ------------------------------------------------------------------------------

SOCIAL_FILE_RETENTION = timedelta(days=730)  # the social file: 2 years after last activity
OFFENCE_PRESCRIPTION = timedelta(days=6 * 365 + 2)  # délits: 6 years (CPP art. 8)


@dataclass(frozen=True)
class Purpose:
    """Why data is shared. `retention` counts from the case's last activity; None means the
    purpose carries no personal data (nothing to keep, nothing to destroy)."""

    code: str
    label: str
    retention: timedelta | None = SOCIAL_FILE_RETENTION


PURPOSES: dict[str, Purpose] = {}


def register_purpose(purpose: Purpose) -> Purpose:
    """Add a purpose; the same code twice with another definition is a programming error."""
    existing = PURPOSES.get(purpose.code)
    if existing is not None and existing != purpose:
        raise ValueError(f"purpose {purpose.code!r} is already registered differently")
    PURPOSES[purpose.code] = purpose
    return purpose


for _purpose in (
    # The victim's dossier at the association serves a complaint she may file years later:
    # kept as long as the offence can be prosecuted.
    Purpose("vc_transmission", "Transmission de la fiche protocole violences conjugales à "
            "l'association désignée", OFFENCE_PRESCRIPTION),
    Purpose("vc_dossier_export_police", "Remise du dossier de la victime au service de police "
            "ou de gendarmerie, à sa demande", OFFENCE_PRESCRIPTION),
    Purpose("cmp_sharing", "Partage de l'orientation au sein du binôme IS / infirmier de CMP"),
    Purpose("itp_presentation", "Présentation de la situation en Instance de Travail "
            "Partenarial"),
    Purpose("cddf_snapshot", "Photographie sociale présentée au conseil des droits et devoirs "
            "des familles"),
    Purpose("fiche_liaison", "Fiche de liaison vers le service social départemental"),
    Purpose("stats_anonymous", "Statistiques anonymes d'activité", None),
    # Purposes of the transmissions made on a legal basis rather than consent.
    Purpose("information_preoccupante", "Information préoccupante transmise à la CRIP"),
    Purpose("secret_partage", "Partage d'informations entre professionnels tenus au secret"),
    Purpose("signalement_violences", "Signalement de violences conjugales au procureur de la "
            "République", OFFENCE_PRESCRIPTION),
    Purpose("requisition_judiciaire", "Réponse à une réquisition judiciaire",
            OFFENCE_PRESCRIPTION),
):
    register_purpose(_purpose)


def purpose_label(code: str) -> str:
    purpose = PURPOSES.get(code)
    return purpose.label if purpose else code


def retention_of(purposes: Iterable[str]) -> timedelta:
    """How long after its last activity a case using `purposes` is kept: the longest of
    their retentions, and at least the social file's (2 years)."""
    periods = [PURPOSES[p].retention for p in purposes if p in PURPOSES]
    return max([SOCIAL_FILE_RETENTION, *(p for p in periods if p is not None)])


# --- information step of a legal basis -----------------------------------------------------

INFORMED = "informed"
NOT_INFORMED = "not_informed_contrary_to_interest"
NOT_APPLICABLE = "not_applicable"
INFORMATION_VALUES = (INFORMED, NOT_INFORMED, NOT_APPLICABLE)
INFORMATION_LABELS = {
    INFORMED: "la personne (ou ses représentants légaux) a été informée",
    NOT_INFORMED: "non informée : l'information serait contraire à l'intérêt de l'enfant ou "
                  "de la personne (motif consigné)",
    NOT_APPLICABLE: "sans objet (procédure judiciaire en cours)",
}


# --- legal bases ---------------------------------------------------------------------------

K = OrganisationKind
SOCIAL_ROLES = frozenset({Role.IS, Role.CG_SOCIAL, Role.CG_ITP, Role.PSYCHOLOGUE})
SECRECY_RECIPIENTS = frozenset({K.DEPARTMENTAL_COUNCIL, K.CCAS, K.ASSOCIATION, K.CMP})


@dataclass(frozen=True)
class LegalBasis:
    """A legal basis that stands in for consent.

    - `roles`: who may invoke it (the author of the `base_legale.json` record must hold one
      of them in the organisation the record was made for);
    - `information`: the accepted answers to the information step (`information` field);
      `NOT_INFORMED` always requires the reason (`information_reason`);
    - `recipient_kinds`: the kinds of organisation it may send to; `requires_secrecy`: the
      recipient must also be flagged `bound_by_secrecy`;
    - `categories`: the only data categories it may carry (strictly necessary data);
    - `requires_review`: never answered automatically: a legal review must approve this
      invocation before any transmission (`reviewer_roles` answer it).
    """

    code: str
    label: str
    reference: str
    roles: frozenset[str]
    information: frozenset[str]
    information_rule: str
    recipient_kinds: frozenset[str]
    categories: frozenset[str]
    requires_secrecy: bool = False
    requires_review: bool = False
    reviewer_roles: frozenset[str] = frozenset()


LEGAL_BASES: dict[str, LegalBasis] = {}


def register_legal_basis(basis: LegalBasis) -> LegalBasis:
    existing = LEGAL_BASES.get(basis.code)
    if existing is not None and existing != basis:
        raise ValueError(f"legal basis {basis.code!r} is already registered differently")
    LEGAL_BASES[basis.code] = basis
    return basis


for _basis in (
    LegalBasis(
        code="ip_crip", label="Information préoccupante transmise à la CRIP (enfant en danger "
        "ou en risque de l'être)", reference="CASF art. L.226-2-1 et L.226-3",
        roles=frozenset({Role.IS, Role.CG_SOCIAL, Role.PSYCHOLOGUE, Role.POLICE,
                         Role.GENDARMERIE}),
        information=frozenset({INFORMED, NOT_INFORMED}),
        information_rule="les parents (ou le tuteur) sont informés, sauf si c'est contraire à "
        "l'intérêt de l'enfant ; ce motif est alors consigné",
        recipient_kinds=frozenset({K.DEPARTMENTAL_COUNCIL}),
        categories=frozenset({"ID", "SOC", "MINOR", "THIRD"})),
    LegalBasis(
        code="secret_partage_adultes", label="Partage d'informations entre professionnels de "
        "l'action sociale tenus au secret (adultes)", reference="CASF art. L.121-6-2",
        roles=SOCIAL_ROLES, information=frozenset({INFORMED}),
        information_rule="la personne est informée du partage",
        recipient_kinds=SECRECY_RECIPIENTS, categories=frozenset({"ID", "SOC"}),
        requires_secrecy=True),
    LegalBasis(
        code="secret_partage_enfance", label="Partage d'informations à caractère secret en "
        "protection de l'enfance", reference="CASF art. L.226-2-2",
        roles=SOCIAL_ROLES, information=frozenset({INFORMED, NOT_INFORMED}),
        information_rule="les parents, le tuteur et l'enfant selon son âge sont informés, "
        "sauf si c'est contraire à l'intérêt de l'enfant ; ce motif est alors consigné",
        recipient_kinds=SECRECY_RECIPIENTS, categories=frozenset({"ID", "SOC", "MINOR"}),
        requires_secrecy=True),
    LegalBasis(
        code="signalement_226_14", label="Signalement de violences conjugales au procureur "
        "sans l'accord de la victime, par un professionnel de santé",
        reference="Code pénal art. 226-14 3°", roles=frozenset({Role.CMP}),
        information=frozenset({INFORMED}),
        information_rule="la victime est informée du signalement quand son accord n'a pu "
        "être obtenu", recipient_kinds=frozenset({K.POLICE, K.GENDARMERIE}),
        categories=frozenset({"ID", "SOC", "OFF"})),
    LegalBasis(
        code="requisition_60_1", label="Réponse à une réquisition judiciaire",
        reference="Code de procédure pénale art. 60-1",
        roles=frozenset({Role.IS, Role.ASSOCIATION, Role.CG_SOCIAL, Role.CG_ITP, Role.CMP,
                         Role.PSYCHOLOGUE}),
        information=frozenset({INFORMED, NOT_APPLICABLE}),
        information_rule="selon les instructions du magistrat ou de l'officier de police "
        "judiciaire (souvent sans objet)",
        recipient_kinds=frozenset({K.POLICE, K.GENDARMERIE}),
        categories=frozenset({"ID", "SOC", "OFF", "MINOR", "THIRD"}),
        requires_review=True,
        reviewer_roles=frozenset({Role.IS, Role.ASSOCIATION, Role.CG_SOCIAL, Role.CG_ITP,
                                  Role.CMP, Role.PSYCHOLOGUE})),
    LegalBasis(
        code="cddf_information", label="Photographie sociale d'un mineur présentée au conseil "
        "des droits et devoirs des familles", reference="CASF art. L.141-1",
        roles=frozenset({Role.IS, Role.PSYCHOLOGUE, Role.CG_SOCIAL}),
        information=frozenset({INFORMED}),
        information_rule="les parents sont informés de la présentation au CDDF",
        recipient_kinds=frozenset({K.COMMUNE}),
        categories=frozenset({"ID", "SOC", "MINOR"})),
):
    register_legal_basis(_basis)


# --- recipient capabilities ----------------------------------------------------------------

HEALTH_KINDS = frozenset({K.CMP})


@dataclass(frozen=True)
class CapabilityProblem:
    code: str
    message: str


def capability_problem(recipient: Organisation,
                       categories: Iterable[str]) -> CapabilityProblem | None:
    """Why `recipient` may not receive these categories at all, whatever the consent or
    legal basis: `HEALTH` only to health organisations (kind `cmp`), `OFF` only to
    organisations flagged `offence_data_authorised`."""
    wanted = set(categories)
    if "HEALTH" in wanted and recipient.kind not in HEALTH_KINDS:
        return CapabilityProblem(
            "recipient_capability_health",
            f"{recipient.name} n'est pas un établissement de santé : les données de santé "
            "(HEALTH) ne peuvent pas lui être transmises, même avec un consentement. "
            "Retirez-les de la transmission.")
    if "OFF" in wanted and not recipient.offence_data_authorised:
        return CapabilityProblem(
            "recipient_capability_offence",
            f"{recipient.name} n'est pas habilitée à recevoir des données relatives aux "
            "infractions (OFF) : seuls la police, la gendarmerie et les associations d'aide "
            "aux victimes agréées le sont. Retirez-les de la transmission ou demandez à "
            "l'administrateur d'enregistrer l'agrément.")
    return None
