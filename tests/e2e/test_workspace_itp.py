"""The ITP secretariat's calendar in pages: coming sessions with capacity and bookings, open a
weekly series, change a capacity, cancel an empty session; no one else sees it."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from helpers import csrf_from, login


def test_the_secretariat_opens_resizes_and_cancels_sessions(client, clock):
    login(client, "demo-itp")
    page = client.get("/itp").get_data(as_text=True)
    assert "Calendrier de l&#39;ITP" in page or "Calendrier de l'ITP" in page
    day = (clock.now() + timedelta(days=400)).date()
    refused = client.post("/itp/seances", data={"csrf_token": csrf_from(page),
                                                "jour": day.isoformat(), "heure": "14:00",
                                                "capacite": "0", "semaines": "2"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'aria-describedby="capacite-err"' in html and html.count('role="alert"') == 1
    opened = client.post("/itp/seances", data={"csrf_token": csrf_from(page),
                                               "jour": day.isoformat(), "heure": "14:00",
                                               "capacite": "3", "semaines": "2",
                                               "lieu": "Salle B"}, follow_redirects=True)
    text = re.sub(r"<[^>]+>", " ", opened.get_data(as_text=True))
    assert "2 séance(s) ouverte(s)" in text and "à 14 h 00" in text and "Salle B" in text
    assert day.isoformat() not in text
    session_id = re.findall(r'id="seance-(\d+)"', opened.get_data(as_text=True))[-1]
    resized = client.post(f"/itp/seances/{session_id}", data={
        "csrf_token": csrf_from(page), "action": "capacite", "capacite": "5"},
        follow_redirects=True)
    assert "Capacité modifiée." in resized.get_data(as_text=True)
    cancelled = client.post(f"/itp/seances/{session_id}", data={
        "csrf_token": csrf_from(page), "action": "annuler"}, follow_redirects=True)
    assert "Séance annulée." in cancelled.get_data(as_text=True)


def test_only_the_secretariat_sees_the_calendar(client):
    login(client, "demo-is")
    assert "Calendrier de l" not in client.get("/").get_data(as_text=True)
    assert client.get("/itp").status_code == 403


def test_the_is_sees_the_session_and_the_secretary_records_the_decision_from_the_agenda(
        client, db, clock):
    from datetime import datetime

    from protocol_support import GRANTED, Territory
    from test_protocol_itp_synthese import submitted

    t = Territory(client, db, clock)
    itp = submitted(t)
    t.complete("demo-is", itp["id"], GRANTED)
    t.complete("demo-itp", itp["id"], {"completude": "complete"})
    t.complete("demo-itp", itp["id"], {"a_partir_du": t.days(0)})
    confirm = t.task("demo-itp", itp["id"])
    seance = t.form("demo-itp", confirm["id"])["properties"]["seance"]["const"]
    [session] = [s for s in t.get("demo-itp", "/itp/sessions") if s["label"] == seance]
    # The IS who presented the request sees the session's date (and place) on her page.
    login(client, "demo-is")
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", client.get(
        f"/situations/{itp['case_id']}").get_data(as_text=True))))
    assert f"Séance de l'instance technique partenariale : {seance}" in text
    # Before the session: the agenda lists the request, nothing to record yet.
    client.post("/deconnexion", data={"csrf_token": csrf_from(client.get("/").get_data(
        as_text=True))})
    login(client, "demo-itp")
    agenda = client.get("/itp").get_data(as_text=True)
    assert f'id="seance-{session["id"]}"' in agenda
    assert "Enregistrer le relevé de décisions" not in agenda
    t.complete("demo-itp", itp["id"], {"seance": seance, "participants_cd": ["ts_enfance"]})
    clock.set(datetime.fromisoformat(session["starts_at"]))
    t.later(minutes=1)
    login(client, "demo-itp")  # the session may have expired while the clock moved
    agenda = client.get("/itp").get_data(as_text=True)
    [decision] = re.findall(r'href="/taches/(\d+)">Enregistrer le relevé de décisions', agenda)
    assert int(decision) == t.task("demo-itp", itp["id"])["id"]
    assert client.get(f"/taches/{decision}").status_code == 200
