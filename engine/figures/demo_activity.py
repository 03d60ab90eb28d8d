"""A year of fictitious activity for the demo territory, so that the figures page shows real
looking charts at once. Each person is received through the IS's register
(`situations.receive`), exactly as in production: an encrypted identity, blind-index tokens,
and the facts the figures count, written by the same events. Every name is invented."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import func, select

from engine.db import Database, transaction
from engine.figures.models import Fact
from engine.identity import service as identity
from engine.situations import communes
from engine.situations import service as situations
from engine.situations.service import Identity, ReceptionInput

FAMILY = ("Martin", "Bernard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent",
          "Lefebvre", "Michel", "Garcia", "Roux", "Fournier", "Girard", "Bonnet", "Dupont",
          "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Faure", "Andre", "Mercier")
FIRST = ("Camille", "Léa", "Manon", "Inès", "Sarah", "Julie", "Nadia", "Sophie", "Karima",
         "Émilie", "Lucas", "Hugo", "Karim", "Thomas", "Nicolas", "Yanis", "Marie", "Aïcha")
COMMUNES = ("Trappes", "Élancourt", "La Verrière", "Maurepas", "Plaisir")


def _weighted(rng: random.Random, options: dict[str, int]) -> str:
    return rng.choices(list(options), list(options.values()))[0]


def _reception(rng: random.Random, on: date) -> ReceptionInput:
    born = date(on.year - rng.choices([15, 22, 33, 50, 68], [6, 18, 40, 28, 8])[0]
                - rng.randint(0, 5), rng.randint(1, 12), rng.randint(1, 28))
    commune = rng.choice(COMMUNES)
    return ReceptionInput(
        identity=Identity(family_name=rng.choice(FAMILY), first_names=rng.choice(FIRST),
                          birth_date=born, commune=commune,
                          commune_code=communes.code_of(commune) or "",
                          sex=_weighted(rng, {"femme": 70, "homme": 25, "non_renseigne": 5})),
        person_kind=_weighted(rng, {"victime": 70, "auteur": 15, "temoin": 5, "autre": 10}),
        arrival=_weighted(rng, {"police": 35, "gendarmerie": 20, "main_courante": 20,
                                "partenaire": 15, "spontanee": 10}),
        received_on=on,
        problems=tuple(rng.sample(["violences_conjugales", "logement", "difficultes_economiques",
                                   "isolement", "sante_psychique", "addictions",
                                   "acces_droits"], rng.randint(1, 3))),
        orientations=tuple(rng.sample(["association_victimes", "service_social", "cmp",
                                       "hebergement", "justice", "soins"], rng.randint(0, 2))),
        known=_weighted(rng, {"oui": 45, "non": 45, "inconnu": 10}),
        minors_involved=rng.random() < 0.4)


def populate(db: Database, *, year: int, username: str, per_month: int) -> int:
    """`per_month` (± 3) people received each month of `year` by `username`. Idempotent:
    nothing is added once the register counts anyone."""
    with db.unit_of_work() as uow:
        if uow.session.scalar(select(func.count(Fact.id)).where(Fact.source == "registre")):
            return 0
    rng = random.Random(year)  # noqa: S311 - fictitious demo data, no secret
    people = 0
    for month in range(1, 13):
        with transaction(db) as uow:
            principal = identity.principal_for(identity.get_user(uow, username))
            for _ in range(per_month + rng.randint(-3, 3)):
                day = date(year, month, rng.randint(1, 28))
                situations.receive(uow, principal, _reception(rng, day))
                people += 1
    return people
