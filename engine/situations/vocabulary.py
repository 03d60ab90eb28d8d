"""Codes of the register of people received and their French words.

The codes are what rests in the register (and what activity figures count); pages show the
words. Dictionaries keep the order in which forms list the choices."""

from __future__ import annotations

from datetime import date

PERSON_KINDS: dict[str, str] = {
    "victime": "Victime",
    "auteur": "Auteur ou autrice",
    "temoin": "Témoin",
    "autre": "Autre personne",
}

ARRIVALS: dict[str, str] = {
    "police": "Orientée par la police",
    "gendarmerie": "Orientée par la gendarmerie",
    "main_courante": "À la suite d'une main courante",
    "partenaire": "Orientée par un partenaire",
    "spontanee": "Venue d'elle-même",
}

PROBLEMS: dict[str, str] = {
    "violences_conjugales": "Violences conjugales",
    "violences_intrafamiliales": "Violences intrafamiliales",
    "enfance_en_danger": "Enfant en danger ou en risque de l'être",
    "conflit_familial": "Conflit familial ou de voisinage",
    "sante_psychique": "Souffrance psychique",
    "addictions": "Addictions",
    "logement": "Logement ou hébergement",
    "difficultes_economiques": "Difficultés économiques",
    "isolement": "Isolement, vulnérabilité",
    "acces_droits": "Accès aux droits",
    "autre": "Autre problématique",
}

ORIENTATIONS: dict[str, str] = {
    "association_victimes": "Association d'aide aux victimes",
    "service_social": "Service social du département",
    "cmp": "Centre médico-psychologique",
    "hebergement": "Hébergement d'urgence",
    "justice": "Justice, avocat, accès au droit",
    "soins": "Soins (médecin, hôpital)",
    "commune": "Commune ou CCAS",
    "aucune": "Aucune orientation",
}

SEXES: dict[str, str] = {
    "femme": "Femme",
    "homme": "Homme",
    "non_renseigne": "Non renseigné",
}
UNKNOWN_SEX = "non_renseigne"

KNOWN: dict[str, bool | None] = {"oui": True, "non": False, "inconnu": None}
KNOWN_LABELS: dict[str, str] = {"oui": "Oui", "non": "Non", "inconnu": "Ne sait pas"}


AGE_BANDS = (("moins_18", 18), ("18_25", 26), ("26_40", 41), ("41_60", 61), ("plus_60", 200))


def age_band(born: date | None, on: date) -> str | None:
    """The band of the person's age on `on` (for the figures: never the birth date itself)."""
    if born is None or born > on:
        return None
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return next(code for code, below in AGE_BANDS if age < below)
