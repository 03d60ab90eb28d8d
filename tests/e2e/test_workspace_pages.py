"""The professionals' workspace pages: receive a person, find her, her situation page, tasks
that say whose situation they are about, two tabs on one task, what police may see."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import csrf_from, login

from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.runtime import service as runtime

FIXTURES = Path(__file__).parents[1] / "fixtures"
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
PERSON = {"nom": "Lefèvre", "prenoms": "Élodie", "naissance": "1985-03-02",
          "commune": "Guyancourt", "qualite": "victime", "arrivee": "police",
          "problematiques": ["violences_conjugales"], "orientations": ["association_victimes"],
          "connu_service_social": "non"}


@pytest.fixture
def deployed(db):
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"essai.bpmn": (FIXTURES / "bpmn" / "essai.bpmn").read_bytes()},
                       source="cli", forms_dir=FIXTURES / "forms")


def visible_text(html: str) -> str:
    """What a reader sees: tags (and their attributes) removed."""
    return re.sub(r"<[^>]+>", " ", html)


def receive(client, **overrides) -> str:
    page = client.get("/situations/recevoir").get_data(as_text=True)
    today = re.search(r'id="recu_le" name="recu_le" type="date" value="([^"]+)"', page)
    assert today, "the reception date defaults to today"
    done = client.post("/situations/recevoir", data={
        **PERSON, "recu_le": today.group(1), "csrf_token": csrf_from(page), **overrides})
    assert done.status_code == 302, done.get_data(as_text=True)
    return done.headers["Location"]


def search(client, query: str):
    """Post a search, as the list page's form does (the session's token from any page)."""
    page = client.get("/").get_data(as_text=True)
    return client.post("/situations", data={"q": query, "csrf_token": csrf_from(page)})


def received_by_the_is(client, then: str) -> str:
    """The IS receives a person, logs out, and `then` logs in: the situation's address."""
    login(client, "demo-is")
    situation_url = receive(client)
    client.post("/deconnexion", data={"csrf_token": csrf_from(client.get("/").get_data(
        as_text=True))})
    login(client, then)
    return situation_url


def test_the_is_receives_a_person_finds_her_and_opens_her_situation(client):
    login(client, "demo-is")
    situation_url = receive(client)
    assert re.fullmatch(r"/situations/\d+", situation_url)
    page = client.get(situation_url).get_data(as_text=True)
    text = visible_text(page)
    assert "Élodie LEFÈVRE" in text and "2 mars 1985" in text and "Guyancourt" in text
    assert "Orientée par la police" in text and "Violences conjugales" in text
    assert "Personne reçue" in text and "Situation ouverte" in text  # the timeline, in words
    assert not ISO_DATE.search(text)
    reference = re.search(r"S-\d{4}-[A-Z0-9]{8}", text).group(0)
    for query in ("lef", "Élo", "1985", reference):
        found = search(client, query).get_data(as_text=True)
        assert situation_url in found and "1 situation trouvée" in found, query
    for query in ("%", "_", "'", "x" * 10_000, "inconnue"):
        found = search(client, query).get_data(as_text=True)
        assert situation_url not in found and "0 situation trouvée" in found
    listed = visible_text(client.get("/situations").get_data(as_text=True))
    assert "Élodie LEFÈVRE" in listed and reference in listed
    home = visible_text(client.get("/").get_data(as_text=True))
    assert "Situations récentes" in home and "Élodie LEFÈVRE" in home


def test_a_wrong_register_form_answers_422_on_each_field_with_one_summary(client):
    login(client, "demo-is")
    page = client.get("/situations/recevoir").get_data(as_text=True)
    assert 'id="nom" name="nom" type="text"' in page and 'required aria-required="true"' in page
    refused = client.post("/situations/recevoir", data={
        "csrf_token": csrf_from(page), "prenoms": "Élodie", "naissance": "2999-01-01",
        "qualite": "victime"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert html.count('role="alert"') == 1
    assert 'aria-describedby="nom-err"' in html and 'id="nom-err"' in html
    assert 'aria-describedby="arrivee-err"' in html and 'id="naissance-err"' in html
    assert 'value="Élodie"' in html  # what was typed is kept
    assert "Mes situations" in html  # the menu is on every page


def test_the_commune_is_chosen_from_the_territory_and_other_text_refused_on_its_field(client):
    login(client, "demo-is")
    page = client.get("/situations/recevoir").get_data(as_text=True)
    assert '<datalist id="commune-liste">' in page and '<option value="Trappes">' in page
    assert 'name="sexe" value="non_renseigne"' in page
    refused = client.post("/situations/recevoir", data={
        **PERSON, "commune": "Villeneuve", "sexe": "femme", "recu_le": "2026-11-02",
        "csrf_token": csrf_from(page)})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="commune-err"' in html and "Commune inconnue du territoire" in html
    assert 'aria-describedby="commune-aide commune-err"' in html
    situation = receive(client, commune="voisins le bretonneux", sexe="femme")
    assert "Voisins-le-Bretonneux" in visible_text(client.get(situation).get_data(as_text=True))


def test_a_note_is_added_and_an_empty_one_is_refused(client):
    login(client, "demo-is")
    situation_url = receive(client)
    page = client.get(situation_url).get_data(as_text=True)
    empty = client.post(f"{situation_url}/notes", data={"csrf_token": csrf_from(page),
                                                        "note": "  "})
    assert empty.status_code == 422 and 'aria-describedby="note-err"' in empty.get_data(
        as_text=True)
    added = client.post(f"{situation_url}/notes", data={"csrf_token": csrf_from(page),
                                                        "note": "Rappeler jeudi."},
                        follow_redirects=True)
    assert "Rappeler jeudi." in added.get_data(as_text=True)


def test_tasks_name_the_person_and_the_situation_and_two_tabs_keep_the_typing(client,
                                                                            deployed):
    login(client, "demo-is")
    situation_url = receive(client)
    page = client.get(situation_url).get_data(as_text=True)
    assert "Protocole d&#39;essai" in page or "Protocole d'essai" in page
    started = client.post(f"{situation_url}/lancer", data={"csrf_token": csrf_from(page),
                                                          "protocole": "essai"})
    task_url = started.headers["Location"]
    assert "/taches/" in task_url
    tasks = visible_text(client.get("/taches").get_data(as_text=True))
    assert "Élodie LEFÈVRE" in tasks and re.search(r"S-\d{4}-[A-Z0-9]{8}", tasks)
    assert not ISO_DATE.search(tasks)
    first = client.get(task_url).get_data(as_text=True)
    second = client.get(task_url).get_data(as_text=True)  # the same task in another tab
    assert "Élodie LEFÈVRE" in first
    done = client.post(task_url, data={"csrf_token": csrf_from(first), "gravite": "basse",
                                       "recit": "Premier onglet",
                                       "organisation_ASSOCIATION": "asso-victimes-demo"})
    assert done.status_code == 302
    again = client.post(task_url, data={"csrf_token": csrf_from(second), "gravite": "haute",
                                        "recit": "Texte du second onglet",
                                        "organisation_ASSOCIATION": "asso-victimes-demo"})
    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert "Texte du second onglet" in html and "Ce que vous aviez saisi" in html
    assert "Ce dossier a été modifié" in html or "déjà été traitée" in html
    timeline = visible_text(client.get(situation_url).get_data(as_text=True))
    assert "« Remplir la fiche » fait" in timeline


def test_police_see_no_situation_and_only_the_protocols_they_start(client, deployed):
    situation_url = received_by_the_is(client, then="demo-police")
    home = client.get("/").get_data(as_text=True)
    assert "Mes situations" not in home
    protocols = client.get("/protocoles").get_data(as_text=True)
    # Police start the orientation to the IS and the requisition (issue 12), nothing else.
    assert "/protocoles/orientation_is/lancer" in protocols
    assert "/protocoles/violence_conjugale/lancer" not in protocols
    assert "/protocoles/fiche_liaison/lancer" not in protocols
    assert client.get("/situations").status_code == 403
    assert client.get("/situations/recevoir").status_code == 403
    assert client.get(situation_url).status_code == 404
    assert search(client, "lef").status_code == 403


def test_other_organisations_cannot_open_or_feed_a_situation(client):
    situation_url = received_by_the_is(client, then="demo-asso")
    page = client.get("/").get_data(as_text=True)
    assert client.get(situation_url).status_code == 404
    assert client.post(f"{situation_url}/notes", data={"csrf_token": csrf_from(page),
                                                       "note": "x"}).status_code == 404
    assert "Lefèvre" not in search(client, "lef").get_data(as_text=True)
    assert client.get("/situations/recevoir").status_code == 403
