"""The ITP secretary in a real browser (axe-core on every page): books a complete request
into the calendar, confirms it, sees it on the agenda; once the session is held, records the
decision from the agenda; the IS sees the session's date and place on her situation page."""

from __future__ import annotations

from datetime import datetime

from protocol_support import GRANTED, Territory

from browser.accessibility import axe_problems, too_wide

REQUEST = {"personne_nom": "Dupont", "personne_prenom": "Laura",
           "foyer": "famille_monoparentale", "mineurs_concernes": True,
           "resume": "Mère isolée, trois enfants, expulsion annoncée.",
           "chronologie": "03/09/2026 : première venue au commissariat",
           "problematiques": ["logement", "parentalite"],
           "actions_menees": "Dossier FSL, orientation CCAS.", "question": "Qui coordonne ?",
           "inviter_cmp": False, "inviter_association": False}


def test_the_secretary_books_and_records_and_the_is_sees_the_date(user_page, axe_source,
                                                                  client, db, clock):
    t = Territory(client, db, clock)
    itp = t.start("demo-is", "itp_synthese")
    t.complete("demo-is", itp["id"], REQUEST)
    t.complete("demo-is", itp["id"], {"information_personne": "informee"})
    t.complete("demo-is", itp["id"], GRANTED)
    t.complete("demo-itp", itp["id"], {"completude": "complete"})

    watched = user_page("demo-itp")
    page = watched.page
    booking = t.task("demo-itp", itp["id"])
    page.goto(watched.url(f"/taches/{booking['id']}"))
    assert axe_problems(page, axe_source) == []
    page.fill("#a_partir_du", t.days(0))
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/taches")
    t.work()
    confirm = t.task("demo-itp", itp["id"])
    page.goto(watched.url(f"/taches/{confirm['id']}"))
    seance = page.inner_text("#seance")
    assert " à " in seance  # the session in words, never an ISO date
    page.check("input[name=participants_cd][value=ts_enfance]")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/taches")
    t.work()
    page.get_by_role("link", name="Calendrier de l'ITP").first.click()
    assert "situation " in page.inner_text("main") and axe_problems(page, axe_source) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert too_wide(page) == []
    page.set_viewport_size({"width": 1400, "height": 900})

    is_page = user_page("demo-is")
    is_page.page.goto(is_page.url(f"/situations/{itp['case_id']}"))
    assert f"Séance de l'instance technique partenariale : {seance}" in \
        " ".join(is_page.page.inner_text("main").split())
    assert axe_problems(is_page.page, axe_source) == []

    [session] = [s for s in t.get("demo-itp", "/itp/sessions") if s["label"] == seance]
    clock.set(datetime.fromisoformat(session["starts_at"]))
    t.later(minutes=1)
    watched = user_page("demo-itp")  # the clock moved: a new session
    page = watched.page
    page.goto(watched.url("/itp"))
    page.get_by_role("link", name="Enregistrer le relevé de décisions").first.click()
    page.wait_for_url("**/taches/*")
    assert axe_problems(page, axe_source) == []
    page.check("input[name=examen][value=examinee]")
    page.fill("#strategie", "Accompagnement budgétaire par la polyvalence.")
    page.check("input[name=referent][value=ts_polyvalent]")
    page.fill("#date_revision", t.days(60))
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/taches")
    t.work()
    assert not t.incidents()
    watched.assert_clean()
    is_page.assert_clean()
