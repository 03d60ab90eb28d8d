"""Judicial requisition, through the REST API as the demo personas: the police send a
requisition (procedure, magistrate, what is asked) on its legal basis; the organisation
files it (the police see the receipt), prepares an answer that a second professional checks,
and the answer leaves encrypted and signed for the requesting unit. A check by the answer's
author, or a rejection, sends nothing. Everything is audited."""

from __future__ import annotations

import pytest
from protocol_support import Territory

REFERENCE = "PV 2026/004512"
REQUISITION = {"reference_procedure": REFERENCE, "magistrat": "Mme Leroy, substitute du "
               "procureur", "cadre": "preliminaire",
               "objet": "Dates des entretiens avec Mme Durand depuis janvier 2026.",
               "personne_nom": "Durand", "personne_prenom": "Inès",
               "personne_naissance": "1988-02-03", "delai_reponse": "2026-12-31"}
POLICE_BASIS = {"legal_basis": "requisition_adressee", "information": "not_applicable",
                "justification": "Enquête préliminaire sur des violences conjugales."}
ANSWER_BASIS = {"legal_basis": "requisition_60_1", "information": "not_applicable",
                "justification": "Réquisition régulière du parquet, limitée aux dates."}
ANSWER = {"reference_procedure": REFERENCE,
          "elements_transmis": "Entretiens les 12 janvier, 3 mars et 8 avril 2026."}


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def requisition_received(t: Territory) -> tuple[dict, dict]:
    sent = t.start("demo-police", "requisition_judiciaire")
    t.complete("demo-police", sent["id"], REQUISITION)
    basis = t.task("demo-police", sent["id"])
    form = t.form("demo-police", basis["id"])
    assert form["properties"]["legal_basis"]["const"] == "requisition_adressee"
    t.complete("demo-police", sent["id"], POLICE_BASIS)
    received = max(t.received("demo-is", "Réquisition judiciaire"), key=lambda d: d["id"])
    text = t.document("demo-is", received["id"])
    assert REFERENCE in text and "Mme Leroy" in text and "Enquête préliminaire" in text
    answer = t.start("demo-is", "requisition_reponse")
    t.complete("demo-is", answer["id"], {"envoi": received["id"], "service_requerant": "police"})
    assert t.status(sent["id"]) == "completed"  # filed and acknowledged
    t.complete("demo-is", answer["id"], ANSWER)
    t.complete("demo-is", answer["id"], ANSWER_BASIS)
    return sent, answer


def test_the_answer_leaves_sealed_for_the_requesting_unit_after_a_second_check(t):
    _sent, answer = requisition_received(t)
    review = t.task("demo-is2", answer["id"])
    assert review["name"].startswith("Contrôler la réquisition")
    assert t.received("demo-police", "Réponse à une réquisition judiciaire") == []
    t.complete("demo-is2", answer["id"], {"review_decision": "approved",
                                          "review_notes": "Limitée aux dates demandées."})
    [reply] = t.received("demo-police", "Réponse à une réquisition judiciaire")
    detail = t.delivery("demo-police", reply["id"])
    assert detail["manifest"]["legal_basis"] == "requisition_60_1"
    assert detail["purpose"] == "requisition_judiciaire"
    text = t.document("demo-police", reply["id"])
    assert "8 avril 2026" in text and REFERENCE in text
    assert "Code de procédure pénale art. 60-1, 77-1-1 et 99-3" in text
    assert t.inbox("demo-gendarme") == []
    assert t.status(answer["id"]) == "completed"
    assert [r["legal_basis"] for r in t.audit("routing.transmitted")] == \
        ["requisition_adressee", "requisition_60_1"]
    [answered] = t.audit("consent.legal_review_answered")
    assert answered["actor"] == "demo-is2" and answered["decision"] == "approved"
    assert len(t.audit("dossiers.piece_filed")) == 1
    assert len(t.audit("routing.acknowledged")) == 1


def test_a_check_by_the_answers_author_or_a_rejection_sends_nothing(t):
    _sent, answer = requisition_received(t)
    t.complete("demo-is", answer["id"], {"review_decision": "approved"})
    assert t.received("demo-police", "Réponse à une réquisition judiciaire") == []
    # Four eyes: the author cannot answer the legal review of its own answer (issue 9 item 7).
    assert any("une autre personne habilitée" in i for i in t.incidents())
    assert t.status(answer["id"]) == "running"
    assert t.audit("routing.transmission_refused") == []  # nothing was even attempted

    _sent, rejected = requisition_received(t)
    t.complete("demo-is2", rejected["id"], {"review_decision": "rejected"})
    assert t.status(rejected["id"]) == "completed"
    assert t.received("demo-police", "Réponse à une réquisition judiciaire") == []
    assert t.tasks("demo-is", rejected["id"]) == []
