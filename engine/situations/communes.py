"""The territory's communes: the reference list the register's « commune de résidence » is
chosen from (never typed text — a typed name is mapped to the list, anything else refused).

The list is the demo territory's (the communauté d'agglomération de Saint-Quentin-en-Yvelines,
Yvelines), keyed by INSEE code; an installation serving another territory replaces `COMMUNES`.
The code is what the activity figures count; the name is what pages show.
"""

from __future__ import annotations

import unicodedata

OUTSIDE = "hors_territoire"

COMMUNES: dict[str, str] = {
    "78168": "Coignières",
    "78208": "Élancourt",
    "78297": "Guyancourt",
    "78644": "La Verrière",
    "78165": "Les Clayes-sous-Bois",
    "78356": "Magny-les-Hameaux",
    "78383": "Maurepas",
    "78423": "Montigny-le-Bretonneux",
    "78490": "Plaisir",
    "78621": "Trappes",
    "78674": "Villepreux",
    "78688": "Voisins-le-Bretonneux",
}


def _key(text: str) -> str:
    """Accents, case, hyphens, apostrophes and spaces ignored: « la verriere » finds La Verrière."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


# The form's choices, in alphabetical order (accents ignored), then « Hors du territoire ».
CHOICES: dict[str, str] = {**{code: COMMUNES[code] for code in sorted(
    COMMUNES, key=lambda c: _key(COMMUNES[c]))}, OUTSIDE: "Hors du territoire"}

_BY_KEY = {_key(name): code for code, name in CHOICES.items()} | {
    _key(code): code for code in CHOICES}


def code_of(text: str) -> str | None:
    """The code of a commune given by its code or its name (any accents or case), else None."""
    return _BY_KEY.get(_key(text)) if text.strip() else None


def name_of(code: str) -> str:
    return CHOICES.get(code, code)
