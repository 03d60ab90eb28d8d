"""The ITP secretariat's calendar in pages: coming sessions with capacity and bookings, open a
weekly series, change a capacity, cancel an empty session; no one else sees it."""

from __future__ import annotations

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
