"""A year of fictitious activity for the demo territory, so that the figures page shows real
looking charts at once. Each person received is a real (fictitious) situation with an encrypted
record; its facts are written by the same path as in production (`RecordStored`)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import func, select

from engine.cases import service as cases
from engine.clock import ManualClock
from engine.db import Database, transaction
from engine.figures.models import Fact
from engine.identity import service as identity

SOURCE = "accueil_demo"
COMMUNES = ("trappes", "elancourt", "la_verriere", "maurepas", "plaisir")


def _person(rng: random.Random) -> list[tuple[str, str]]:
    pick = rng.choices
    facts = [("personne_type", pick(["victime", "auteur", "temoin", "autre"], [70, 15, 5, 10])[0]),
             ("sexe", pick(["femme", "homme", "autre"], [68, 30, 2])[0]),
             ("tranche_age", pick(["moins_18", "18_25", "26_40", "41_60", "plus_60"],
                                  [6, 18, 40, 28, 8])[0]),
             ("arrivee", pick(["police", "gendarmerie", "main_courante", "partenaire",
                               "personne"], [35, 20, 20, 15, 10])[0]),
             ("commune", pick(COMMUNES, [40, 20, 10, 15, 15])[0]),
             ("connu_services_sociaux", pick(["oui", "non", "ne_sait_pas"], [45, 45, 10])[0]),
             ("mineurs_concernes", pick(["oui", "non"], [40, 60])[0])]
    for problem in rng.sample(["violences", "logement", "ressources", "parentalite",
                               "isolement", "sante_psychique", "addictions"], rng.randint(1, 3)):
        facts.append(("problematiques", problem))
    for orientation in rng.sample(["association", "services_sociaux", "cmp", "medecin",
                                   "hebergement", "police_justice"], rng.randint(0, 2)):
        facts.append(("orientations", orientation))
    return facts


def populate(db: Database, *, year: int, organisations: dict[str, tuple[str, int]]) -> int:
    """`organisations`: slug → (username who receives, people per month). Idempotent."""
    with db.unit_of_work() as uow:
        if uow.session.scalar(select(func.count(Fact.id))
                              .where(Fact.indicator == "personne_type")):
            return 0  # the register (or an earlier demo) already counts people
    rng, people = random.Random(year), 0  # noqa: S311 - fictitious demo data, no secret
    for month in range(1, 13):
        clock = ManualClock(datetime(year, month, 15, 10, tzinfo=UTC))
        dated = Database(db.url, clock=clock, master=db.master)
        try:
            with transaction(dated) as uow:
                for slug, (username, per_month) in organisations.items():
                    org = identity.get_organisation(uow, slug)
                    principal = identity.principal_for(identity.get_user(uow, username))
                    for _ in range(per_month + rng.randint(-3, 3)):
                        case = cases.open_case(uow, principal, org.id)
                        stats = _person(rng)
                        cases.store_record(uow, principal.actor, case, kind=SOURCE,
                                           payload=dict(stats[:7]), categories={"SOC"},
                                           organisation_id=org.id, stats=stats)
                        people += 1
        finally:
            dated.dispose()
    return people
