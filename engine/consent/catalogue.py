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
CRIME_PRESCRIPTION = timedelta(days=20 * 365 + 5)  # crimes: 20 years (CPP art. 7)
# The gravity recorded on a sheet (field `gravite`) decides how long a purpose that follows
# it is kept: as long as the offence can be prosecuted.
GRAVITY_RETENTION = {"contravention": SOCIAL_FILE_RETENTION, "delit": OFFENCE_PRESCRIPTION,
                     "crime": CRIME_PRESCRIPTION}
GRAVITY_LABELS = {"contravention": "contravention", "delit": "délit", "crime": "crime"}

# RGPD lawfulness (art. 6) — distinct from the agreement that lifts professional secrecy.
PUBLIC_TASK = "RGPD art. 6.1.e : mission d'intérêt public (action sociale)"
LEGAL_OBLIGATION = "RGPD art. 6.1.c : obligation légale"
OFFENCE_DATA = ("RGPD art. 10 et loi Informatique et libertés art. 46 : données relatives aux "
                "infractions, traitées par un organisme habilité")
HEALTH_CONSENT = "RGPD art. 9.2.a : consentement explicite de la personne (données de santé)"
HEALTH_CARE = ("RGPD art. 9.2.h : prise en charge sanitaire ou sociale, par des professionnels "
               "tenus au secret")


@dataclass(frozen=True)
class Purpose:
    """Why data is shared. `retention` counts from the case's last activity; None means the
    purpose carries no personal data (nothing to keep, nothing to destroy); with
    `follows_gravity` the gravity recorded on the sheet decides (`retention_of`).
    `gdpr_basis` is its lawfulness (RGPD art. 6), `gdpr_special` its condition for special
    (art. 9 §2) or offence (art. 10) data: both apart from whatever lifts secrecy."""

    code: str
    label: str
    retention: timedelta | None = SOCIAL_FILE_RETENTION
    gdpr_basis: str = PUBLIC_TASK
    gdpr_special: tuple[str, ...] = ()
    follows_gravity: bool = False


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
    # kept as long as the offence can be prosecuted (the gravity recorded on the sheet).
    Purpose("vc_transmission", "Transmission de la fiche protocole violences conjugales à "
            "l'association désignée", OFFENCE_PRESCRIPTION,
            gdpr_special=(HEALTH_CONSENT, OFFENCE_DATA), follows_gravity=True),
    Purpose("vc_dossier_export_police", "Remise du dossier de la victime, à sa demande",
            OFFENCE_PRESCRIPTION, gdpr_special=(HEALTH_CONSENT, OFFENCE_DATA),
            follows_gravity=True),
    Purpose("cmp_sharing", "Partage de l'orientation au sein du binôme IS / infirmier de CMP",
            gdpr_special=(HEALTH_CARE,)),
    Purpose("itp_presentation", "Présentation de la situation en Instance de Travail "
            "Partenarial"),
    Purpose("cddf_snapshot", "Photographie sociale présentée au conseil pour les droits et "
            "devoirs des familles"),
    Purpose("fiche_liaison", "Fiche de liaison vers le service social départemental"),
    Purpose("orientation_is", "Orientation d'une personne par la police ou la gendarmerie "
            "vers l'intervenant social"),
    Purpose("stats_anonymous", "Statistiques anonymes d'activité", None),
    # Purposes of the transmissions made on a legal basis rather than consent.
    Purpose("information_preoccupante", "Information préoccupante transmise à la CRIP",
            gdpr_basis=LEGAL_OBLIGATION),
    Purpose("secret_partage", "Partage d'informations entre professionnels tenus au secret"),
    Purpose("signalement_violences", "Signalement de violences conjugales au procureur de la "
            "République", OFFENCE_PRESCRIPTION, gdpr_special=(OFFENCE_DATA,),
            follows_gravity=True),
    Purpose("signalement_procureur", "Signalement au procureur de la République (personne en "
            "péril, mineur ou personne vulnérable maltraités)", OFFENCE_PRESCRIPTION,
            gdpr_basis=LEGAL_OBLIGATION, gdpr_special=(OFFENCE_DATA,), follows_gravity=True),
    Purpose("requisition_judiciaire", "Réponse à une réquisition judiciaire",
            OFFENCE_PRESCRIPTION, gdpr_basis=LEGAL_OBLIGATION, gdpr_special=(OFFENCE_DATA,)),
):
    register_purpose(_purpose)


def purpose_label(code: str) -> str:
    purpose = PURPOSES.get(code)
    return purpose.label if purpose else code


def retention_of(purposes: Iterable[str], gravity: str | None = None) -> timedelta:
    """How long after its last activity a case using `purposes` is kept: the longest of
    their retentions, and at least the social file's (2 years). A purpose that follows the
    gravity is kept as long as the gravity recorded on the sheet (`gravite`: contravention,
    délit, crime — CPP art. 7, 8, 9) allows prosecution; without a recorded gravity, its own
    retention (a délit's)."""
    periods = [_retention(PURPOSES[p], gravity) for p in purposes if p in PURPOSES]
    return max([SOCIAL_FILE_RETENTION, *(p for p in periods if p is not None)])


def _retention(purpose: Purpose, gravity: str | None) -> timedelta | None:
    if purpose.follows_gravity and gravity in GRAVITY_RETENTION:
        return GRAVITY_RETENTION[gravity]
    return purpose.retention


def gdpr_bases(purpose: str) -> tuple[str, ...]:
    """The RGPD lawfulness of `purpose`: its art. 6 basis, then its art. 9 §2 / art. 10
    conditions (empty for an unknown purpose)."""
    found = PURPOSES.get(purpose)
    return (found.gdpr_basis, *found.gdpr_special) if found else ()


# --- who gave the agreement -------------------------------------------------------------------

# The standard consent form's `given_by` (forms/consentement.json): who gave the agreement.
GIVEN_BY_LABELS = {
    "personne": "la personne elle-même",
    "representant_legal": "son représentant légal (tuteur, curateur selon la mesure)",
    "mineur_et_parents": "le mineur avec les titulaires de l'autorité parentale",
}
GIVEN_BY_UNKNOWN = "non précisé (recueilli avant que Relais ne l'enregistre)"


def given_by_label(code: str | None) -> str:
    """Who gave the agreement, in words; a consent recorded before the field existed says so."""
    return GIVEN_BY_LABELS.get(code or "", GIVEN_BY_UNKNOWN)


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
# Whoever meets a person in danger may have to report it (Code pénal 223-6, 226-14 1°).
REPORTING_ROLES = SOCIAL_ROLES | {Role.ASSOCIATION, Role.CMP}
SECRECY_RECIPIENTS = frozenset({K.DEPARTMENTAL_COUNCIL, K.CCAS, K.ASSOCIATION, K.CMP, K.CRIP})
NOT_INFORMED_RULE = "sauf si c'est contraire à l'intérêt de l'enfant ou de la personne ; ce " \
    "motif est alors consigné"


@dataclass(frozen=True)
class LegalBasis:
    """A legal basis that stands in for consent.

    - `roles`: who may invoke it (the author of the `base_legale.json` record must hold one
      of them in the organisation the record was made for);
    - `information`: the accepted answers to the information step (`information` field);
      `NOT_INFORMED` always requires the reason (`information_reason`);
    - `recipient_kinds`: the kinds of organisation it may send to; `requires_secrecy`: the
      transmission must be addressed to a role bound by professional secrecy
      (`engine.identity.roles.SECRECY_ROLES`) — or, addressed to no role, to an organisation
      flagged `bound_by_secrecy`;
    - `categories`: the only data categories it may carry (strictly necessary data);
    - `requires_review`: never answered automatically: a legal review must approve this
      invocation before any transmission (`reviewer_roles` answer it);
    - `objection_blocks`: False where the law asks that the person be informed, not that
      they agree: their informed objection (`objection`) is recorded and shown, it does not
      stop the transmission.
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
    objection_blocks: bool = False


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
        information_rule="les parents (ou le tuteur) sont informés, " + NOT_INFORMED_RULE,
        recipient_kinds=frozenset({K.CRIP}),
        categories=frozenset({"ID", "SOC", "MINOR", "THIRD"})),
    LegalBasis(
        code="secret_partage_adultes", label="Partage d'informations à caractère secret entre "
        "professionnels de l'action sociale, avec le maire ou son coordonnateur (adultes)",
        reference="CASF art. L.121-6-2",
        roles=SOCIAL_ROLES, information=frozenset({INFORMED}),
        information_rule="la personne est informée du partage",
        recipient_kinds=SECRECY_RECIPIENTS, categories=frozenset({"ID", "SOC"}),
        requires_secrecy=True),
    LegalBasis(
        code="secret_partage_enfance", label="Partage d'informations à caractère secret en "
        "protection de l'enfance", reference="CASF art. L.226-2-2",
        roles=SOCIAL_ROLES, information=frozenset({INFORMED, NOT_INFORMED}),
        information_rule="les parents, le tuteur et l'enfant selon son âge sont informés, "
        + NOT_INFORMED_RULE + " ; leur opposition est consignée et ne bloque pas le partage",
        recipient_kinds=SECRECY_RECIPIENTS, categories=frozenset({"ID", "SOC", "MINOR"}),
        requires_secrecy=True),
    LegalBasis(
        code="signalement_226_14", label="Signalement au procureur de la République de "
        "violences conjugales sans l'accord de la victime (danger immédiat, emprise), par un "
        "professionnel de santé", reference="Code pénal art. 226-14 3°",
        roles=frozenset({Role.CMP}), information=frozenset({INFORMED}),
        information_rule="le professionnel s'efforce d'obtenir l'accord de la victime ; à "
        "défaut, il l'informe du signalement", recipient_kinds=frozenset({K.PARQUET}),
        categories=frozenset({"ID", "SOC", "THIRD"})),
    LegalBasis(
        code="danger_grave_223_6", label="Signalement au procureur de la République d'une "
        "personne en péril grave (crime ou délit contre l'intégrité corporelle à empêcher)",
        reference="Code pénal art. 223-6", roles=REPORTING_ROLES,
        information=frozenset({INFORMED, NOT_INFORMED}),
        information_rule="la personne est informée, " + NOT_INFORMED_RULE,
        recipient_kinds=frozenset({K.PARQUET}),
        categories=frozenset({"ID", "SOC", "MINOR", "THIRD"})),
    LegalBasis(
        code="maltraitance_226_14", label="Signalement au procureur de la République de "
        "privations ou sévices infligés à un mineur ou à une personne hors d'état de se "
        "protéger", reference="Code pénal art. 226-14 1° ; CASF art. L.226-4 II",
        roles=REPORTING_ROLES, information=frozenset({INFORMED, NOT_INFORMED}),
        information_rule="les représentants légaux sont informés, " + NOT_INFORMED_RULE
        + " ; copie au président du conseil départemental (CASF L.226-4 II)",
        recipient_kinds=frozenset({K.PARQUET}),
        categories=frozenset({"ID", "SOC", "MINOR", "THIRD"})),
    LegalBasis(
        code="requisition_60_1", label="Réponse à une réquisition judiciaire",
        reference="Code de procédure pénale art. 60-1, 77-1-1 et 99-3",
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
        code="requisition_adressee", label="Réquisition judiciaire adressée par un officier "
        "ou un agent de police judiciaire", reference="Code de procédure pénale art. 60-1, "
        "77-1-1 et 99-3", roles=frozenset({Role.POLICE, Role.GENDARMERIE}),
        information=frozenset({NOT_APPLICABLE}),
        information_rule="sans objet : la procédure judiciaire décide de l'information",
        recipient_kinds=frozenset({K.ASSOCIATION, K.DEPARTMENTAL_COUNCIL, K.CCAS, K.CMP,
                                   K.CRIP, K.COMMUNE}),
        categories=frozenset({"ID", "SOC"})),
    LegalBasis(
        code="cddf_information", label="Photographie sociale d'un mineur présentée au conseil "
        "pour les droits et devoirs des familles",
        reference="CASF art. L.121-6-2 et L.141-1",
        roles=frozenset({Role.IS, Role.PSYCHOLOGUE, Role.CG_SOCIAL}),
        information=frozenset({INFORMED}),
        information_rule="les parents sont informés de la présentation au CDDF",
        recipient_kinds=frozenset({K.COMMUNE}),
        categories=frozenset({"ID", "SOC", "MINOR"})),
):
    register_legal_basis(_basis)


# --- recipient capabilities ----------------------------------------------------------------

HEALTH_KINDS = frozenset({K.CMP})
# The victim-support association may receive health data (injuries, medical certificate,
# ITT) under the victim's explicit consent naming that category (RGPD art. 9.2.a), never
# on a legal basis; so may the police or gendarmerie unit to which she asks that her
# dossier be handed for her complaint.
HEALTH_BY_CONSENT_KINDS = frozenset({K.ASSOCIATION, K.POLICE, K.GENDARMERIE})


@dataclass(frozen=True)
class CapabilityProblem:
    code: str
    message: str


def capability_problem(recipient: Organisation, categories: Iterable[str], *,
                       by_consent: bool = False) -> CapabilityProblem | None:
    """Why `recipient` may not receive these categories at all: `HEALTH` only to health
    organisations (kind `cmp`), or under an explicit consent (`by_consent`) to an
    association, police or gendarmerie; `OFF` only to organisations flagged
    `offence_data_authorised`."""
    wanted = set(categories)
    health_ok = recipient.kind in HEALTH_KINDS or (
        by_consent and recipient.kind in HEALTH_BY_CONSENT_KINDS)
    if "HEALTH" in wanted and not health_ok:
        return CapabilityProblem(
            "recipient_capability_health",
            f"{recipient.name} n'est pas un établissement de santé : les données de santé "
            "(HEALTH) ne peuvent lui être transmises qu'avec le consentement explicite de la "
            "personne, et seulement s'il s'agit d'une association d'aide aux victimes ou du "
            "service d'enquête auquel la victime remet son dossier. "
            "Retirez-les de la transmission.")
    if "OFF" in wanted and not recipient.offence_data_authorised:
        return CapabilityProblem(
            "recipient_capability_offence",
            f"{recipient.name} n'est pas habilitée à recevoir des données relatives aux "
            "infractions (OFF) : seuls la police, la gendarmerie, le parquet et les "
            "associations habilitées le sont. Retirez-les de la transmission ou demandez à "
            "l'administrateur d'enregistrer l'habilitation.")
    return None


def holder_problem(holder: Organisation, categories: Iterable[str]) -> CapabilityProblem | None:
    """Why the organisation holding the case may not send these categories: it may not keep
    offence data (`OFF`) unless authorised (loi Informatique et libertés art. 46)."""
    if "OFF" in set(categories) and not holder.offence_data_authorised:
        return CapabilityProblem(
            "holder_capability_offence",
            f"{holder.name} n'est pas habilitée à détenir des données relatives aux "
            "infractions (OFF, loi Informatique et libertés art. 46) : elle ne peut pas les "
            "transmettre. Retirez-les ou demandez à l'administrateur d'enregistrer "
            "l'habilitation.")
    return None


def modeler_vocabulary() -> dict[str, list[dict[str, str]]]:
    """Purposes and data categories, with their French labels, for the modeler's consent
    checkpoint (registered in the runtime's catalogue by `engine.consent.connectors`)."""
    return {
        "purposes": [{"code": p.code, "label": p.label} for p in PURPOSES.values()],
        "categories": [{"code": code, "label": label} for code, label in CATEGORY_LABELS.items()],
    }
