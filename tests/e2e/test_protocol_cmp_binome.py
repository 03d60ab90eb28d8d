"""Binôme IS / infirmier de CMP (Nancy model), through the REST API as the demo personas:
orientation, appointment (timer), the person's agreement, social and psychiatric parts in
parallel, the psychiatric part sealed to the CMP only, the orientation signed by both (taken
up again on disagreement), shared beyond the pair only with the person's consent."""

from __future__ import annotations

import pytest
from protocol_support import GRANTED, REFUSED, Territory
from sqlalchemy import select

from engine.figures.models import Fact

HEALTH_TEXT = "Discours désorganisé, idées de persécution."
PSY = "Volet psychiatrique (binôme IS / CMP)"
ORIENTATION = "Fiche d'orientation du binôme IS / CMP"


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def oriented(t: Territory, urgent: bool = False) -> dict:
    pair = t.start("demo-is", "cmp_binome")
    t.complete("demo-is", pair["id"], {"mode_saisine": "police", "motif": "souffrance_psychique",
                                        "urgence_psychiatrique": urgent,
                                        "personne_nom": "Moreau", "personne_prenom": "Hugo",
                                        "personne_naissance": "1978-02-14",
                                        "personne_telephone": "06 00 00 00 00"})
    return pair


def appointment(t: Territory, pair: dict) -> None:
    t.complete("demo-is", pair["id"], {"rdv_date": t.days(1), "rdv_heure": "10:00",
                                        "lieu_rendez_vous": "commissariat"})
    assert t.tasks("demo-is", pair["id"]) == []  # nothing before the appointment
    assert t.later(days=2) == 1


def test_health_part_is_sealed_to_the_cmp_and_the_orientation_signed_by_both(t):
    pair = oriented(t)
    appointment(t, pair)
    agreement = t.task("demo-is", pair["id"])
    form = t.form("demo-is", agreement["id"])
    assert form["properties"]["recipients"]["const"] == ["cmp-demo"]
    assert form["properties"]["purposes"]["const"] == ["cmp_sharing"]
    assert form["properties"]["categories"]["const"] == ["HEALTH", "ID", "SOC"]
    t.complete("demo-is", pair["id"], GRANTED)

    # The joint interview: each professional fills their part; neither sees the other's task.
    assert [x["name"] for x in t.tasks("demo-is", pair["id"])] == ["Volet social"]
    assert [x["name"] for x in t.tasks("demo-cmp", pair["id"])] == ["Volet psychiatrique"]
    t.complete("demo-cmp", pair["id"], {"etat_psychique": HEALTH_TEXT,
                                         "suivi_psychiatrique": "rupture", "risque": "modere",
                                         "traitement": "Traitement interrompu en mars.",
                                         "preconisation_soins": "consultation_cmp"})
    t.complete("demo-is", pair["id"], {"logement": "precaire", "ressources": "minima_sociaux",
                                        "entourage": "isole", "connue_services_sociaux": "non",
                                        "besoins": ["acces_droits", "logement"],
                                        "observations_sociales": "Dettes de loyer."})
    [sealed] = t.received("demo-cmp", PSY)
    detail = t.delivery("demo-cmp", sealed["id"])
    assert detail["categories"] == ["HEALTH", "ID", "SOC"] and detail["recipient_role"] == "CMP"
    assert HEALTH_TEXT in t.document("demo-cmp", sealed["id"])
    assert t.inbox("demo-is") == []
    t.get("demo-is", f"/deliveries/{sealed['id']}/document", status=403)  # sender side
    for outsider in ("demo-social", "demo-police", "demo-asso"):
        t.get(outsider, f"/deliveries/{sealed['id']}", status=404)

    # The orientation is proposed, then signed by both; a refusal to sign takes it up again.
    t.complete("demo-is", pair["id"], {"orientation": "medecin_traitant"})
    assert t.tasks("demo-is", pair["id"]) == []  # the nurse signs first
    t.complete("demo-cmp", pair["id"], {"orientation": "medecin_traitant",
                                         "accord_cmp": "desaccord"})
    sign_is = t.task("demo-is", pair["id"])
    assert t.form("demo-is", sign_is["id"])["properties"]["orientation"]["const"] == \
        "medecin_traitant"  # the IS sees the outcome, never the assessment
    t.complete("demo-is", pair["id"], {"orientation": "medecin_traitant",
                                        "accord_is": "accord"})
    assert t.task("demo-is", pair["id"])["name"] == "Proposer l'orientation"
    t.complete("demo-is", pair["id"], {"orientation": "services_sociaux",
                                        "motif_orientation": "Ouvrir ses droits, se loger."})
    t.complete("demo-cmp", pair["id"], {"orientation": "services_sociaux",
                                         "accord_cmp": "accord"})
    t.complete("demo-is", pair["id"], {"orientation": "services_sociaux", "accord_is": "accord"})

    # Beyond the pair: only with the person's consent, and without any health data.
    share = t.task("demo-is", pair["id"])
    form = t.form("demo-is", share["id"])
    assert form["properties"]["recipients"]["const"] == ["cd-demo"]
    assert form["properties"]["categories"]["const"] == ["ID", "SOC"]
    t.complete("demo-is", pair["id"], GRANTED)
    assert t.status(pair["id"]) == "completed"
    [sheet] = t.received("demo-social", ORIENTATION)
    assert t.delivery("demo-social", sheet["id"])["categories"] == ["ID", "SOC"]
    text = t.document("demo-social", sheet["id"])
    assert "Service social départemental" in text and "Ouvrir ses droits, se loger." in text
    assert HEALTH_TEXT not in text and "Traitement interrompu" not in text
    assert t.inbox("demo-itp") == []  # the council's ITP secretariat has no part in it

    transmitted = t.audit("routing.transmitted")
    assert [(row["purpose"], row["categories"]) for row in transmitted] == [
        ("cmp_sharing", ["HEALTH", "ID", "SOC"]), ("fiche_liaison", ["ID", "SOC"])]
    assert len(t.audit("consent.recorded")) == 2
    assert t.incidents() == []
    # The convention's shared report: counted once, from the forms, without any typed text.
    assert binome_activity(t) == ["entretien_commun", "orientation_autre", "orientation_autre",
                                  "orientation_recue"]  # the IS signed twice (taken up again)


def binome_activity(t: Territory) -> list[str]:
    with t.db.unit_of_work() as uow:
        return sorted(uow.session.scalars(select(Fact.value)
                                          .where(Fact.indicator == "binome_cmp")))


def test_without_the_persons_agreement_there_is_no_pair_and_an_emergency_goes_to_hospital(t):
    pair = oriented(t)
    appointment(t, pair)
    t.complete("demo-is", pair["id"], REFUSED)
    assert t.status(pair["id"]) == "completed"
    assert t.tasks("demo-cmp") == [] and t.inbox("demo-cmp") == []

    urgent = oriented(t, urgent=True)
    assert t.task("demo-is", urgent["id"])["name"] == \
        "Orienter vers les urgences psychiatriques"
    t.complete("demo-is", urgent["id"])
    assert t.status(urgent["id"]) == "completed"
    assert t.audit("routing.transmitted") == []
    assert binome_activity(t) == ["orientation_recue", "orientation_recue",
                                  "urgence_psychiatrique"]  # no interview, no orientation


def test_sharing_beyond_the_pair_refused_stays_with_the_person(t):
    pair = oriented(t)
    appointment(t, pair)
    t.complete("demo-is", pair["id"], GRANTED)
    t.complete("demo-cmp", pair["id"], {"etat_psychique": HEALTH_TEXT, "risque": "faible",
                                         "suivi_psychiatrique": "jamais",
                                         "preconisation_soins": "aucune"})
    t.complete("demo-is", pair["id"], {"logement": "stable", "ressources": "activite",
                                        "entourage": "famille", "connue_services_sociaux": "oui",
                                        "besoins": ["aucun"]})
    t.complete("demo-is", pair["id"], {"orientation": "services_sociaux"})
    t.complete("demo-cmp", pair["id"], {"orientation": "services_sociaux",
                                         "accord_cmp": "accord"})
    t.complete("demo-is", pair["id"], {"orientation": "services_sociaux", "accord_is": "accord"})
    t.complete("demo-is", pair["id"], REFUSED)
    assert t.status(pair["id"]) == "completed"
    assert t.inbox("demo-social") == []
    assert [row["purpose"] for row in t.audit("routing.transmitted")] == ["cmp_sharing"]
