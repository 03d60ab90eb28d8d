"""Orientation from police or gendarmerie to the intervenant social, through the REST API as
the demo personas: a short sheet, the person's agreement to be contacted, and the sheet
reaches the IS's inbox and tasks; without the agreement nothing leaves."""

from __future__ import annotations

from typing import Any

import pytest
from protocol_support import API, GRANTED, REFUSED, Territory
from routing_support import principal

from engine.situations import detail
from engine.situations import service as situations
from engine.situations.errors import NotAHolder

SHEET_NAME = "Fiche d'orientation vers l'intervenant social"


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def sheet(first_name: str) -> dict[str, Any]:
    return {"personne_nom": "Durand", "personne_prenom": first_name,
            "telephone": "06 00 00 00 07", "moment_contact": "matin",
            "motif": "violences_conjugales",
            "circonstances": "Venue signaler des disputes répétées, ne souhaite pas porter "
                             "plainte pour l'instant.",
            "orienteur": "Brigadier Roux, commissariat (démo), 01 00 00 00 00"}


def test_a_police_orientation_with_agreement_reaches_the_is_inbox_and_tasks(t):
    orientation = t.start("demo-police", "orientation_is")
    t.complete("demo-police", orientation["id"], sheet("Inès"))
    agreement = t.task("demo-police", orientation["id"])
    assert agreement["name"] == "Accord de la personne pour être contactée"
    form = t.form("demo-police", agreement["id"])
    assert form["properties"]["recipients"]["const"] == ["asso-iscg-demo"]
    assert form["properties"]["purposes"]["const"] == ["orientation_is"]
    assert t.tasks("demo-is", orientation["id"]) == []  # nothing before the agreement
    t.complete("demo-police", orientation["id"], GRANTED)

    [received] = t.received("demo-is", SHEET_NAME)
    detail = t.delivery("demo-is", received["id"])
    assert detail["purpose"] == "orientation_is" and detail["categories"] == ["ID", "SOC"]
    text = t.document("demo-is", received["id"])
    assert "06 00 00 00 07" in text and "Violences au sein du couple" in text
    assert "Brigadier Roux" in text
    # Issued on the commissariat's letterhead, by the officer who collected the agreement.
    assert "Commissariat de police (démo) — 1 place de la République, 78190 Trappes (démo) — " \
        "tél. 01 00 00 00 00" in text
    assert "par Brigadier Thomas Roux (démo), police" in text
    assert "Code pénal, art. 226-13" in text and "réclamation à la CNIL" in text
    assert "dpo@interieur.demo.invalid" in text and "Finalité : Orientation" in text
    assert t.inbox("demo-asso") == [] and t.inbox("demo-cmp") == []
    task = t.task("demo-is", orientation["id"])
    assert task["name"] == "Contacter la personne orientée"
    t.complete("demo-is", orientation["id"], {"date_contact": t.days(1),
                                               "suite": "accompagnement"})
    assert t.status(orientation["id"]) == "completed"
    [row] = t.audit("routing.transmitted")
    assert row["purpose"] == "orientation_is" and row["consent"] and row["legal_basis"] is None


def _situations(t: Territory, username: str, query: str) -> list[Any]:
    """What `username` finds by name (the search of « Mes situations »)."""
    with t.db.unit_of_work() as uow:
        return situations.search(uow, principal(uow, username), query)


def test_an_orientation_opens_a_situation_in_the_is_organisation(t):
    assert _situations(t, "demo-is", "Durand Inès") == []
    orientation = t.start("demo-police", "orientation_is")
    t.complete("demo-police", orientation["id"], {**sheet("Inès"),
                                                   "personne_naissance": "1990-04-02"})
    t.complete("demo-police", orientation["id"], GRANTED)
    [row] = _situations(t, "demo-is", "Durand Inès")
    assert row.id != orientation["case_id"]  # the IS's own situation, not the police's
    assert _situations(t, "demo-is", "Durand 1990") and _situations(t, "demo-is2", "Inès")
    with t.db.unit_of_work() as uow:
        is_ = principal(uow, "demo-is")
        page = detail.situation(uow, is_, row.id)
        [person] = page.people
        assert (person.kind, person.identity.display) == ("victime", "Inès DURAND")
        assert any("orientation de la police" in e.what for e in page.timeline)
        with pytest.raises(NotAHolder):  # the police hold no situation, and see none
            situations.search(uow, principal(uow, "demo-police"), "Durand")
        assert situations.search(uow, principal(uow, "demo-asso"), "Durand") == []
    [opened] = t.audit("situations.orientation_received")
    assert opened["delivery"] == t.inbox("demo-is")[0]["id"]
    assert "Inès" not in str(opened) and "Durand" not in str(opened)  # ids only


def test_without_the_agreement_nothing_reaches_the_is(t):
    orientation = t.start("demo-police", "orientation_is")
    t.complete("demo-police", orientation["id"], sheet("Jade"))
    t.complete("demo-police", orientation["id"], REFUSED)
    assert t.status(orientation["id"]) == "completed"
    assert t.inbox("demo-is") == [] and t.tasks("demo-is", orientation["id"]) == []
    assert t.audit("routing.transmitted") == []
    assert t.audit("situations.orientation_received") == []
    assert _situations(t, "demo-is", "Jade") == []


def test_a_gendarme_orients_too_and_only_police_or_gendarmerie_start_it(t):
    orientation = t.start("demo-gendarme", "orientation_is_gendarmerie")
    t.complete("demo-gendarme", orientation["id"], sheet("Léna"))
    t.complete("demo-gendarme", orientation["id"], GRANTED)
    [received] = t.received("demo-is", SHEET_NAME)
    assert "Léna" in t.document("demo-is", received["id"])
    assert len(_situations(t, "demo-is", "Durand Léna")) == 1
    assert t.task("demo-is", orientation["id"])["name"] == "Contacter la personne orientée"
    refused = t.client.post(f"{API}/instances", json={"process_id": "orientation_is"},
                            headers=t.headers("demo-is"))
    assert refused.status_code == 403
    incomplete = t.start("demo-police", "orientation_is")
    t.complete("demo-police", incomplete["id"], {"personne_nom": "Durand"}, status=422)
    assert t.task("demo-police", incomplete["id"])["name"] == "Remplir la fiche d'orientation"
