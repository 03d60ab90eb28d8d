"""Fiche de liaison (Alpes-Maritimes model), through the REST API as the demo personas: the
sheet written with the person, who reads it again (corrections) and agrees to it going to the
council's social-action office; the office acknowledges and says what became of the
orientation, which returns to the IS (or, after 30 days without an answer, the sheet is
closed). A child possibly in danger goes to the CRIP instead, on its legal basis."""

from __future__ import annotations

from typing import Any

import pytest
from protocol_support import GRANTED, REFUSED, Territory

SHEET = "Fiche de liaison"
REPORT = "Information préoccupante"


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def sheet(precisions: str, danger: bool = False) -> dict[str, Any]:
    return {"contact_professionnel": "Camille Martin, 06 00 00 00 01",
            "personne_nom": "Bernard", "personne_prenom": "Yasmine",
            "personne_naissance": "1990-06-01", "personne_adresse": "3 rue des Lilas, Nice",
            "motif": "parentalite", "precisions": precisions,
            "connue_services_sociaux": "non", "enfants_au_foyer": True,
            "enfant_en_danger": danger}


def written_and_agreed(t: Territory) -> dict[str, Any]:
    liaison = t.start("demo-is", "fiche_liaison")
    t.complete("demo-is", liaison["id"], sheet("Demande un suivi éducatif pour son fils."))
    t.complete("demo-is", liaison["id"], {"relecture": "a_corriger"})
    assert t.task("demo-is", liaison["id"])["name"] == "Rédiger la fiche avec la personne"
    t.complete("demo-is", liaison["id"], sheet("Demande un soutien éducatif pour son fils "
                                               "aîné, scolarisé en 4e."))
    t.complete("demo-is", liaison["id"], {"relecture": "validee"})
    agreement = t.task("demo-is", liaison["id"])
    form = t.form("demo-is", agreement["id"])
    assert form["properties"]["recipients"]["const"] == ["cd-demo"]
    assert form["properties"]["purposes"]["const"] == ["fiche_liaison"]
    return liaison


def test_sheet_validated_with_the_person_sent_acknowledged_and_the_feedback_returns(t):
    liaison = written_and_agreed(t)
    t.complete("demo-is", liaison["id"], GRANTED)
    [received] = t.received("demo-social", SHEET)
    assert t.received("demo-crip", SHEET) == [] and t.inbox("demo-itp") == []
    text = t.document("demo-social", received["id"])
    assert "soutien éducatif pour son fils aîné" in text  # the corrected text, as validated
    assert "suivi éducatif pour son fils." not in text
    assert "Camille Martin, 06 00 00 00 01" in text and "Parentalité, suivi éducatif" in text
    assert t.tasks("demo-social") == []  # the office answers once it has acknowledged
    t.acknowledge("demo-social", received["id"])
    t.complete("demo-social", liaison["id"], {"suite_donnee": "rendez_vous",
                                               "situation_connue": "inconnue",
                                               "date_premier_contact": t.days(5)})
    feedback = t.task("demo-is", liaison["id"])
    form = t.form("demo-is", feedback["id"])
    assert form["properties"]["suite_donnee"]["const"] == "rendez_vous"
    assert form["properties"]["situation_connue"]["const"] == "inconnue"
    t.complete("demo-is", liaison["id"], {"suite_donnee": "rendez_vous",
                                          "situation_connue": "inconnue",
                                          "suite_is": "cloture"})
    assert t.status(liaison["id"]) == "completed"
    [row] = t.audit("routing.transmitted")
    assert row["purpose"] == "fiche_liaison" and row["consent"] and row["legal_basis"] is None
    assert len(t.audit("routing.acknowledged")) == 1


def test_without_an_answer_within_30_days_the_sheet_is_closed_and_a_refusal_sends_nothing(t):
    liaison = written_and_agreed(t)
    t.complete("demo-is", liaison["id"], GRANTED)
    [received] = t.received("demo-social", SHEET)
    t.acknowledge("demo-social", received["id"])
    assert t.task("demo-social", liaison["id"])["name"] == "Faire un retour sur l'orientation"
    assert t.later(days=31) == 1
    assert t.status(liaison["id"]) == "completed"
    assert t.tasks("demo-social", liaison["id"]) == []

    refused = written_and_agreed(t)
    t.complete("demo-is", refused["id"], REFUSED)
    assert t.status(refused["id"]) == "completed"
    assert len(t.received("demo-social", SHEET)) == 1


def test_a_child_possibly_in_danger_goes_to_the_crip_on_its_legal_basis(t):
    liaison = t.start("demo-is", "fiche_liaison")
    t.complete("demo-is", liaison["id"], sheet("Violences sur l'enfant évoquées.", danger=True))
    assert t.task("demo-is", liaison["id"])["name"] == "Rédiger l'information préoccupante"
    t.complete("demo-is", liaison["id"], {
        "personne_nom": "Bernard", "personne_adresse": "3 rue des Lilas, Nice",
        "enfant_nom": "Bernard", "enfant_prenom": "Noé", "enfant_naissance": "2019-04-02",
        "date_information": t.days(0), "source_information": "propos_enfant",
        "enfants": "Léa, 3 ans", "responsables_legaux": "Mme Bernard, M. Bernard",
        "elements_danger": "L'enfant dit être frappé par son père (entretien du jour).",
        "danger_grave": False})
    basis = t.task("demo-is", liaison["id"])
    assert t.form("demo-is", basis["id"])["properties"]["legal_basis"]["const"] == "ip_crip"
    t.complete("demo-is", liaison["id"], {"legal_basis": "ip_crip",
                                          "justification": "Enfant en danger.",
                                          "information": "informed"})
    [report] = t.received("demo-crip", REPORT)
    assert t.inbox("demo-social") == []  # not the sector office: the CRIP
    detail = t.delivery("demo-crip", report["id"])
    assert detail["manifest"]["legal_basis"] == "ip_crip" and detail["purpose"] == \
        "information_preoccupante"
    assert detail["categories"] == ["ID", "MINOR", "SOC", "THIRD"]
    text = t.document("demo-crip", report["id"])
    assert "frappé par son père" in text and "Informée de la transmission" in text
    assert "Noé" in text and "2 avril 2019" in text and "Propos de l'enfant" in text
    assert t.get("demo-is", f"/cases/{liaison['case_id']}/consents") == []
    t.acknowledge("demo-crip", report["id"])
    # The CRIP tells the reporting professional what became of it (CASF L.226-5).
    assert t.tasks("demo-social", liaison["id"]) == []  # the CRIP, not the sector office
    t.complete("demo-crip", liaison["id"], {"suites_crip": "evaluation_en_cours"})
    feedback = t.task("demo-is", liaison["id"])
    assert t.form("demo-is", feedback["id"])["properties"]["suites_crip"]["const"] == \
        "evaluation_en_cours"
    t.complete("demo-is", liaison["id"], {"suites_crip": "evaluation_en_cours",
                                          "pris_connaissance": True})
    assert t.status(liaison["id"]) == "completed"
    [row] = t.audit("routing.transmitted")
    assert row["legal_basis"] == "ip_crip" and row["consent"] is None
    assert [r["legal_basis"] for r in t.audit("consent.legal_basis_invoked")] == ["ip_crip"]


def test_serious_danger_is_reported_to_the_procureur_and_the_crip_is_informed(t):
    liaison = t.start("demo-is", "fiche_liaison")
    t.complete("demo-is", liaison["id"], sheet("Brûlures sur les bras de l'enfant.", danger=True))
    t.complete("demo-is", liaison["id"], {
        "personne_nom": "Bernard", "personne_adresse": "3 rue des Lilas, Nice",
        "enfant_nom": "Bernard", "enfant_prenom": "Noé", "enfant_naissance": "2019-04-02",
        "date_information": t.days(0), "source_information": "constat_professionnel",
        "responsables_legaux": "Mme Bernard, M. Bernard",
        "elements_danger": "Brûlures récentes constatées pendant l'entretien.",
        "danger_grave": True})
    basis = t.task("demo-is", liaison["id"])
    assert t.form("demo-is", basis["id"])["properties"]["legal_basis"]["const"] == \
        "maltraitance_226_14"
    t.complete("demo-is", liaison["id"], {"legal_basis": "maltraitance_226_14",
                                          "justification": "Sévices constatés.",
                                          "information": "not_informed_contrary_to_interest",
                                          "information_reason": "Le père est mis en cause."})
    [report] = t.received("demo-parquet", "Signalement au procureur de la République")
    detail = t.delivery("demo-parquet", report["id"])
    assert detail["manifest"]["legal_basis"] == "maltraitance_226_14"
    assert detail["purpose"] == "signalement_procureur"
    text = t.document("demo-parquet", report["id"])
    assert "Brûlures récentes" in text and "Code pénal art. 226-14 1°" in text
    assert t.received("demo-police", "Signalement au procureur de la République") == []
    # Then the CRIP is informed, on its own basis (CASF L.226-4 II).
    t.complete("demo-is", liaison["id"], {"legal_basis": "ip_crip",
                                          "justification": "Copie du signalement.",
                                          "information": "informed"})
    [copy] = t.received("demo-crip", REPORT)
    assert t.delivery("demo-crip", copy["id"])["manifest"]["legal_basis"] == "ip_crip"
    assert [r["legal_basis"] for r in t.audit("routing.transmitted")] == \
        ["maltraitance_226_14", "ip_crip"]
    assert t.get("demo-is", f"/cases/{liaison['case_id']}/consents") == []
