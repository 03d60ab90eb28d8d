"""The activity figures at scale: one year of a territory's facts, counted for the comité.

`situations` people received over twelve months, each with the facts the register writes
(kind, arrival, age band, known, minors, one to three problems, zero to two orientations),
spread over the IS post and four other organisations; then the whole report for the comité's
scope (every indicator, suppression included), timed `queries` times.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from sqlalchemy import insert, text

from engine.bench.common import BULK_BATCH, Progress, ms, p95
from engine.bench.testbed import Testbed
from engine.figures import service as figures
from engine.figures.models import Fact
from engine.identity import service as identity

SCOPE = ("asso-iscg-demo", "asso-victimes-demo", "cd-demo", "cmp-demo", "mairie-demo")
YEAR = "2025"


def _facts(rng: random.Random, organisation_id: int, person: int) -> list[dict[str, Any]]:
    key = f"{person:032x}"
    month = f"{YEAR}-{rng.randint(1, 12):02d}"
    codes = [("personne_type", rng.choice(["victime", "auteur", "temoin", "autre"])),
             ("arrivee", rng.choice(["police", "gendarmerie", "main_courante", "partenaire",
                                     "personne"])),
             ("tranche_age", rng.choice(["moins_18", "18_25", "26_40", "41_60", "plus_60"])),
             ("connu_services_sociaux", rng.choice(["oui", "non", "ne_sait_pas"])),
             ("mineurs_concernes", rng.choice(["oui", "non"]))]
    codes += [("problematiques", p) for p in rng.sample(
        ["violences", "logement", "ressources", "isolement", "addictions"], rng.randint(1, 3))]
    codes += [("orientations", o) for o in rng.sample(
        ["cmp", "association", "services_sociaux", "medecin"], rng.randint(0, 2))]
    return [{"organisation_id": organisation_id, "situation_key": key, "subject": key,
             "month": month, "indicator": indicator, "value": value, "source": "registre"}
            for indicator, value in codes]


def _settle(db: Any) -> None:
    """What autovacuum does soon after a bulk load: statistics, and on PostgreSQL the
    visibility map, without which the covering index cannot answer alone."""
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE figure_fact"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def measure_figures(testbed: Testbed, situations: int, queries: int,
                    progress: Progress) -> dict[str, Any]:
    db = testbed.db
    rng = random.Random(20261130)  # noqa: S311 - reproducible test data, not security
    with db.unit_of_work() as uow:
        ids = [identity.get_organisation(uow, slug).id for slug in SCOPE]
    began, rows, batch = time.perf_counter(), 0, []
    for person in range(situations):
        batch += _facts(rng, ids[person % len(ids)], person)
        if len(batch) >= BULK_BATCH or person == situations - 1:
            with db.engine.begin() as conn:
                conn.execute(insert(Fact), batch)
            rows, batch = rows + len(batch), []
            if person % 50_000 == 0:
                progress(f"chiffres : {person} personnes sur {situations}")
    insert_s = time.perf_counter() - began
    _settle(db)
    period = figures.parse_period(YEAR)
    times = []
    for _ in range(queries):
        started = time.perf_counter()
        with db.unit_of_work() as uow:  # the scope is read as the page reads it
            organisations = [identity.get_organisation(uow, slug) for slug in SCOPE]
            report = figures.report(uow, organisations, period)
        times.append(time.perf_counter() - started)
    shown = next(f for f in report.figures if f.id == "personne_type").total
    return {"situations": situations, "fact_rows": rows, "insert_s": round(insert_s, 2),
            "queries": queries, "indicators": len(report.figures),
            "people_counted": shown.count if shown else None,
            "p50_ms": ms(statistics.median(times)), "p95_ms": ms(p95(times))}
