"""Demande de synthèse en ITP (Yvelines model), through the REST API as the demo personas:
the IS's request (summary, dated chronology, problems, what was tried, question), the person
informed — or, in a child's interest, not informed and the request resting on shared
secrecy — the secretary's completeness check (sent back, completed), inscription in the
weekly sessions the secretary manages (capacity; full → next week), invitations by role,
the session (timer), the decision (or a postponement), the minutes sealed to the
participants, and at the review date a follow-up proposed to the IS."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from protocol_support import GRANTED, REFUSED, Territory
from test_protocol_documents import IS_NAME, ISCG_LETTERHEAD, assert_stamped

REQUEST = "Demande d'examen en ITP"
INVITATION = "Invitation à l'Instance de Travail Partenarial"
MINUTES = "Relevé de décisions de l'ITP"
LETTER = "Courrier des décisions de l'ITP"
CONVOCATION = "Prendre connaissance de la date et du lieu de la séance"


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def request(partner: str = "CMP", **extra: Any) -> dict[str, Any]:
    """The IS's request; `partner` is « CMP », « ASSOCIATION », « both » or « aucun »."""
    return {"personne_nom": "Dupont", "personne_prenom": "Laura", "foyer": "famille_monoparentale",
            "mineurs_concernes": True,
            "resume": "Mère isolée, trois enfants, expulsion annoncée.",
            "chronologie": "03/09/2026 : première venue au commissariat\n"
                           "15/10/2026 : commandement de payer",
            "problematiques": ["logement", "parentalite"],
            "actions_menees": "Dossier FSL, orientation CCAS.",
            "question": "Qui coordonne ?", "inviter_cmp": partner in ("CMP", "both"),
            "inviter_association": partner in ("ASSOCIATION", "both"), **extra}


def submitted(t: Territory, partner: str = "both") -> dict[str, Any]:
    itp = t.start("demo-is", "itp_synthese")
    t.complete("demo-is", itp["id"], request(partner))
    t.complete("demo-is", itp["id"], {"information_personne": "informee"})
    return itp


def session_of(t: Territory, starts_at: str) -> dict[str, Any]:
    [session] = [s for s in t.get("demo-itp", "/itp/sessions") if s["starts_at"] == starts_at]
    return session


def test_request_sent_back_completed_scheduled_held_and_minutes_sealed_to_participants(t):
    itp = submitted(t)
    agreement = t.task("demo-is", itp["id"])
    form = t.form("demo-is", agreement["id"])
    assert form["properties"]["recipients"]["const"] == \
        ["cd-demo", "cmp-demo", "asso-victimes-demo"]
    assert form["properties"]["purposes"]["const"] == ["itp_presentation"]
    t.complete("demo-is", itp["id"], GRANTED)
    [first] = t.received("demo-itp", REQUEST)
    assert t.received("demo-social", REQUEST) == []  # addressed to the secretariat only
    assert "Qui coordonne ?" in t.document("demo-itp", first["id"])
    assert "15/10/2026 : commandement de payer" in t.document("demo-itp", first["id"])

    # Incomplete: sent back to the IS, who sees what is missing and completes it.
    t.complete("demo-itp", itp["id"], {"completude": "a_completer", "manque_question": True,
                                        "manque_chronologie": False, "manque_actions": False})
    complement = t.task("demo-is", itp["id"], "Compléter la demande")
    assert t.form("demo-is", complement["id"])["properties"]["a_completer"]["const"] == \
        "la question posée à l'ITP"
    t.complete("demo-is", itp["id"], {"a_completer": "la question posée à l'ITP",
                                      "question": "Faut-il une mesure d'accompagnement "
                                      "budgétaire, et qui en est le référent ?"})
    second = [d for d in t.received("demo-itp", REQUEST) if d["id"] != first["id"]]
    text = t.document("demo-itp", second[0]["id"])
    assert "mesure d'accompagnement budgétaire" in text and "Dossier FSL" in text

    # Complete: inscribed in the first session with room from the wanted day.
    sessions = t.get("demo-itp", "/itp/sessions")
    first_session, next_session = sessions[0], sessions[1]
    full = t.client.patch(f"/api/v1/itp/sessions/{first_session['id']}",
                          json={"capacity": 1}, headers=t.headers("demo-itp"))
    assert full.status_code == 200, full.get_json()
    other = submitted(t, partner="aucun")
    t.complete("demo-is", other["id"], GRANTED)
    t.complete("demo-itp", other["id"], {"completude": "complete"})
    t.complete("demo-itp", other["id"], {"a_partir_du": t.days(0)})  # takes the only place
    t.complete("demo-itp", itp["id"], {"completude": "complete"})
    t.complete("demo-itp", itp["id"], {"a_partir_du": t.days(0)})
    confirm = t.task("demo-itp", itp["id"])
    seance = t.form("demo-itp", confirm["id"])["properties"]["seance"]["const"]
    assert seance == next_session["label"]  # the first one was full: the next week's
    assert session_of(t, next_session["starts_at"])["booked"] == 1
    assert session_of(t, first_session["starts_at"])["available"] == 0
    t.complete("demo-itp", itp["id"], {"seance": seance,
                                        "participants_cd": ["responsable_secteur", "ts_enfance"]})
    [team] = t.received("demo-social", INVITATION)
    [partner] = t.received("demo-cmp", INVITATION)  # several partners are invited
    [association] = t.received("demo-asso", INVITATION)
    assert t.delivery("demo-cmp", partner["id"])["recipient_role"] == "CMP"
    assert t.delivery("demo-asso", association["id"])["recipient_role"] == "ASSOCIATION"
    text = t.document("demo-social", team["id"])
    assert seance in text and "Travailleur social enfance" in text

    # The IS who presents is told the date and the place, in her tasks.
    convocation = t.task("demo-is", itp["id"], CONVOCATION)
    told = t.form("demo-is", convocation["id"])["properties"]
    assert told["seance"]["const"] == seance
    assert told["lieu"]["const"] == next_session["place"]
    t.complete("demo-is", itp["id"], {"seance": seance, "lieu": next_session["place"],
                                      "pris_connaissance": True}, name=CONVOCATION)

    # The session is held: the secretary records the decision; the minutes go out.
    starts = datetime.fromisoformat(next_session["starts_at"])
    assert t.tasks("demo-itp", itp["id"]) == []
    t.clock.set(starts)
    t.later(minutes=1)
    review_day = (starts + timedelta(days=60)).date().isoformat()
    t.complete("demo-itp", itp["id"], {"examen": "examinee",
                                        "strategie": "Accompagnement budgétaire par la "
                                        "polyvalence ; point ASE sur les enfants.",
                                        "referent": "ts_polyvalent",
                                        "date_revision": review_day})
    for user in ("demo-social", "demo-cmp", "demo-asso"):
        [minutes] = t.received(user, MINUTES)
        assert "Accompagnement budgétaire" in t.document(user, minutes["id"])
    [copy] = [p for p in t.pieces("demo-is", itp["case_id"]) if p["document_name"] == MINUTES]
    assert "Travailleur social polyvalent" in t.piece_text("demo-is", copy["id"])
    # The decisions are fed back to the person: a letter to hand or send her.
    [letter] = [p for p in t.pieces("demo-is", itp["case_id"]) if p["document_name"] == LETTER]
    text = t.piece_text("demo-is", letter["id"])
    assert "Laura Dupont" in text and "Accompagnement budgétaire" in text
    assert "Travailleur social polyvalent" in text and "retirer à tout moment" in text
    raw = t.get("demo-is", f"/pieces/{letter['id']}/document").data
    assert_stamped(raw, letterhead=ISCG_LETTERHEAD, author=IS_NAME, validator=IS_NAME,
                   sealed=False)  # kept by the IS's organisation, who hands it over

    # At the review date, the IS is offered a follow-up; she closes.
    t.clock.set(datetime.fromisoformat(review_day + "T12:00:00+00:00"))
    t.later(minutes=1)
    t.complete("demo-is", itp["id"], {"suite_revision": "cloture"},
               name="Proposer un point de suivi")
    assert t.status(itp["id"]) == "completed"

    purposes = {row["purpose"] for row in t.audit("routing.transmitted")}
    assert purposes == {"itp_presentation"}
    assert len(t.audit("itp.situation_booked")) == 2
    assert t.tasks("demo-is") == []  # the convocation was acknowledged, nothing is left
    assert t.incidents() == []


def test_a_postponed_situation_goes_to_the_next_session_and_a_refusal_stops_everything(t):
    itp = submitted(t, partner="aucun")
    t.complete("demo-is", itp["id"], GRANTED)
    t.complete("demo-itp", itp["id"], {"completude": "complete"})
    t.complete("demo-itp", itp["id"], {"a_partir_du": t.days(0)})
    first = t.form("demo-itp", t.task("demo-itp", itp["id"])["id"])["properties"]["seance"]
    t.complete("demo-itp", itp["id"], {"seance": first["const"],
                                        "participants_cd": ["ts_polyvalent"]})
    sessions = t.get("demo-itp", "/itp/sessions")
    t.clock.set(datetime.fromisoformat(sessions[0]["starts_at"]))
    t.later(minutes=1)
    t.complete("demo-itp", itp["id"], {"examen": "reportee"})
    t.complete("demo-itp", itp["id"], {"a_partir_du": t.days(1)})
    again = t.form("demo-itp", t.task("demo-itp", itp["id"])["id"])["properties"]["seance"]
    assert again["const"] == sessions[1]["label"]
    assert len(t.received("demo-social", INVITATION)) == 1
    assert t.received("demo-social", MINUTES) == []
    assert t.received("demo-cmp", INVITATION) == []  # no partner chosen: none invited
    # Postponed: once the new session is confirmed, the IS is told its date too.
    t.complete("demo-itp", itp["id"], {"seance": again["const"],
                                        "participants_cd": ["ts_polyvalent"]})
    told = [x for x in t.tasks("demo-is", itp["id"]) if x["name"] == CONVOCATION]
    assert len(told) == 2
    assert {t.form("demo-is", x["id"])["properties"]["seance"]["const"] for x in told} == \
        {first["const"], again["const"]}

    refused = submitted(t)
    t.complete("demo-is", refused["id"], REFUSED)
    assert t.status(refused["id"]) == "completed"
    assert len(t.received("demo-itp", REQUEST)) == 1


def test_not_informed_in_a_childs_interest_the_request_rests_on_shared_secrecy(t):
    itp = t.start("demo-is", "itp_synthese")
    t.complete("demo-is", itp["id"], request("aucun"))
    t.complete("demo-is", itp["id"], {"information_personne": "non_informee_interet_enfant"})
    basis = t.task("demo-is", itp["id"])
    form = t.form("demo-is", basis["id"])
    assert form["properties"]["legal_basis"]["const"] == "secret_partage_enfance"
    assert form["properties"]["information"]["const"] == "not_informed_contrary_to_interest"
    t.complete("demo-is", itp["id"], {"legal_basis": "secret_partage_enfance",
                                      "information": "not_informed_contrary_to_interest",
                                      "justification": "Stratégie commune autour des enfants.",
                                      "information_reason": "Le père violent l'apprendrait."})
    [sent] = t.received("demo-itp", REQUEST)
    detail = t.delivery("demo-itp", sent["id"])
    assert detail["manifest"]["legal_basis"] == "secret_partage_enfance"
    assert detail["manifest"]["consent_id"] is None
    assert t.get("demo-is", f"/cases/{itp['case_id']}/consents") == []
    [row] = t.audit("routing.transmitted")
    assert row["legal_basis"] == "secret_partage_enfance" and row["consent"] is None
    assert row["information"] == "not_informed_contrary_to_interest"
