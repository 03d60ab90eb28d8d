"""The « Chiffres » page: the comité de suivi sees two organisations' figures with charts and
tables and no situation; police see nothing; a bad period is answered on its field."""

from __future__ import annotations

from datetime import UTC, datetime

from helpers import login


def test_the_comite_sees_the_figures_of_two_organisations_and_their_charts(client):
    login(client, "demo-comite")
    page = client.get("/chiffres")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Association ISCG (démo)" in html and "France Victimes (démo)" in html
    assert "<caption>Personnes reçues, selon leur place dans la situation</caption>" in html
    year = datetime.now(UTC).year
    chart = client.get(f"/chiffres/graphique/arrivee.svg?periode={year}")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert b"<svg" in chart.data and b"<script" not in chart.data
    assert "script-src" not in chart.headers["Content-Security-Policy"]
    report = client.get(f"/chiffres/export.docx?periode={year}")
    assert report.status_code == 200 and report.headers["Cache-Control"] == "no-store"


def test_the_comite_cannot_open_a_situation_or_another_organisation(client):
    login(client, "demo-comite")
    assert client.get("/chiffres?organisation=commissariat-demo").status_code == 404
    assert client.get("/chiffres/graphique/inconnu.svg").status_code == 404
    assert client.get("/chiffres/export.exe").status_code == 404


def test_police_see_no_figures(client):
    login(client, "demo-police")
    page = client.get("/chiffres")
    assert page.status_code == 200
    assert "Aucun chiffre ne vous est accessible." in page.get_data(as_text=True)
    assert ">Chiffres</a>" not in client.get("/").get_data(as_text=True)


def test_a_bad_period_is_answered_on_its_field(client):
    login(client, "demo-is")
    page = client.get("/chiffres?periode=2026-13")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert 'id="periode-erreur"' in html and 'aria-invalid="true"' in html
    assert "Période non reconnue" in html
