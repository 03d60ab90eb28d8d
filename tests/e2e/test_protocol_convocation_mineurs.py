"""Convocation des mineurs (Trappes model), through the REST API as the demo personas: the
minor identified from a hand-rail extract, eligibility checked by the police-population
delegate, the convocation letter generated (to print and mail), the appointment (timer), a
no-show leading to one second convocation then closure; at the meeting the delegate's
reminder of the law, the support offered to the parents (accepted or refused), the social
snapshot, and its sharing with the commune's CDDF only on its legal basis, parents informed."""

from __future__ import annotations

from typing import Any

import pytest
from protocol_support import Territory

LETTER = "Convocation au pôle psychosocial"
SNAPSHOT = "Photographie sociale (CDDF)"


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def identified(t: Territory, **eligibility: bool) -> dict[str, Any]:
    minor = t.start("demo-is", "convocation_mineurs")
    t.complete("demo-is", minor["id"], {
        "source": "main_courante", "mineur_nom": "Petit", "mineur_prenom": "Enzo",
        "mineur_naissance": "2011-03-02", "responsables_legaux": "M. et Mme Petit",
        "adresse": "12 avenue de la Gare, Trappes", "date_faits": t.days(-12),
        "nature_faits": "degradation", "reference_main_courante": "MC-2026-4411"})
    assert t.tasks("demo-is", minor["id"]) == []  # the delegate checks eligibility
    t.complete("demo-dpp", minor["id"], {"mineur_aux_faits": True, "suivi_judiciaire": False,
                                          "deja_convoque": False, **eligibility})
    return minor


def convened(t: Territory, minor: dict[str, Any], in_days: int, hour: str) -> None:
    t.complete("demo-is", minor["id"], {"rdv_date": t.days(in_days), "rdv_heure": hour})
    sending = t.task("demo-is", minor["id"])
    assert sending["name"] == "Envoyer la convocation au mineur et à ses responsables légaux"
    t.complete("demo-is", minor["id"])
    assert t.tasks("demo-dpp", minor["id"]) == []
    assert t.later(days=in_days + 1) == 1


def test_second_convocation_after_a_no_show_then_meeting_and_cddf_sharing(t):
    minor = identified(t)
    convened(t, minor, 7, "17:00")
    t.complete("demo-dpp", minor["id"], {"presence": "absents"})
    assert t.task("demo-is", minor["id"])["name"] == "Fixer le rendez-vous"  # once more
    convened(t, minor, 10, "09:30")
    letters = [p for p in t.pieces("demo-is", minor["case_id"]) if p["document_name"] == LETTER]
    assert len(letters) == 2
    text = t.piece_text("demo-is", letters[-1]["id"])
    assert "M. et Mme Petit" in text and "12 avenue de la Gare, Trappes" in text
    assert "Enzo Petit" in text and "9 h 30" in text
    # The commissariat's letter: its letterhead, signatory, closing formula; attendance free.
    assert "Commissariat de police (démo)" in text and "01 00 00 00 00" in text
    assert "Le commissaire de police" in text and "salutations distinguées" in text
    assert "Votre venue est libre" in text and "rappel à l'ordre" in text
    assert "rappel de la loi" not in text
    t.get("demo-dpp", f"/cases/{minor['case_id']}/pieces", status=404)  # the pôle's IS file

    t.complete("demo-dpp", minor["id"], {"presence": "presents"})
    assert [x["name"] for x in t.tasks("demo-dpp", minor["id"])] == \
        ["Procéder au rappel à l'ordre"]
    reminder = t.form("demo-dpp", t.task("demo-dpp", minor["id"])["id"])
    assert "attitude" not in reminder["properties"]  # no admission recorded outside procedure
    t.complete("demo-dpp", minor["id"], {"rappel_fait": True, "attitude": "reconnait"},
               status=422)
    t.complete("demo-dpp", minor["id"], {"rappel_fait": True,
                                          "observations_rappel": "A présenté des excuses."})
    t.complete("demo-is", minor["id"], {"reponse_parents": "accepte",
                                         "besoin_repere": "parentalite"})
    assert t.tasks("demo-is", minor["id"]) == []  # the psychologist's task, not the IS's
    t.complete("demo-psy", minor["id"], name="Engager l'accompagnement psychosocial")
    t.complete("demo-is", minor["id"], {"foyer": "monoparental", "scolarite": "decrochage",
                                         "suivi_social": "aucun",
                                         "observations_sociales": "Mère seule, trois emplois."})
    t.complete("demo-is", minor["id"], {"presenter_cddf": "oui"})
    basis = t.form("demo-is", t.task("demo-is", minor["id"])["id"])
    assert basis["properties"]["legal_basis"]["const"] == "cddf_information"
    assert basis["properties"]["information"]["const"] == "informed"
    t.complete("demo-is", minor["id"], {"legal_basis": "cddf_information",
                                         "information": "informed",
                                         "justification": "Décrochage scolaire : le CDDF "
                                         "peut proposer un accompagnement parental."})
    assert t.status(minor["id"]) == "completed"
    [shared] = t.received("demo-cddf", SNAPSHOT)
    detail = t.delivery("demo-cddf", shared["id"])
    assert detail["purpose"] == "cddf_snapshot" and detail["recipient_role"] == "CDDF"
    assert detail["manifest"]["legal_basis"] == "cddf_information"
    assert detail["categories"] == ["ID", "MINOR", "SOC"]  # never the offence, never the parents
    text = t.document("demo-cddf", shared["id"])
    assert "Décrochage ou absentéisme" in text and "Mère seule, trois emplois." in text
    assert "Dégradation" not in text and "MC-2026-4411" not in text
    assert "M. et Mme Petit" not in text and "présenté des excuses" not in text
    for outsider in ("demo-police", "demo-dpp", "demo-social"):
        assert t.received(outsider, SNAPSHOT) == []
    [row] = t.audit("routing.transmitted")
    assert row["legal_basis"] == "cddf_information" and row["information"] == "informed"
    assert len(t.audit("dossiers.piece_generated")) == 2
    assert t.incidents() == []


def test_not_eligible_minors_are_not_convened_and_two_no_shows_close_the_situation(t):
    followed = identified(t, suivi_judiciaire=True)
    assert t.status(followed["id"]) == "completed"
    assert t.pieces("demo-is", followed["case_id"]) == []

    absent = identified(t)
    convened(t, absent, 7, "17:00")
    t.complete("demo-dpp", absent["id"], {"presence": "absents"})
    convened(t, absent, 7, "17:00")
    t.complete("demo-dpp", absent["id"], {"presence": "absents"})
    assert t.status(absent["id"]) == "completed"
    assert len(t.pieces("demo-is", absent["case_id"])) == 2  # two letters, no third


def test_support_refused_and_no_cddf_sharing(t):
    minor = identified(t)
    convened(t, minor, 7, "14:00")
    t.complete("demo-dpp", minor["id"], {"presence": "presents"})
    t.complete("demo-is", minor["id"], {"reponse_parents": "refuse", "besoin_repere": "aucun"})
    t.complete("demo-is", minor["id"], {"foyer": "deux_parents", "scolarite": "scolarise",
                                         "suivi_social": "polyvalence"})
    t.complete("demo-dpp", minor["id"], {"rappel_fait": True})
    t.complete("demo-is", minor["id"], {"presenter_cddf": "non"})
    assert t.status(minor["id"]) == "completed"
    assert t.inbox("demo-cddf") == [] and t.audit("routing.transmitted") == []
