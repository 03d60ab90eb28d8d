"""The professionals' pages: start a protocol, fill a form with French errors, see documents."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import csrf_from, login

from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.runtime import service as runtime

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture
def deployed(db):
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"essai.bpmn": (FIXTURES / "bpmn" / "essai.bpmn").read_bytes()},
                       source="cli", forms_dir=FIXTURES / "forms")


def _start(client) -> str:
    page = client.get("/protocoles").get_data(as_text=True)
    assert "Protocole d&#39;essai" in page or "Protocole d'essai" in page
    started = client.post("/protocoles/essai/lancer", data={"csrf_token": csrf_from(page)})
    assert started.status_code == 302 and "/taches/" in started.headers["Location"]
    return started.headers["Location"]


def test_an_is_starts_a_protocol_and_fills_its_form(client, deployed):
    assert login(client, "demo-is").status_code == 302
    task_url = _start(client)
    page = client.get(task_url).get_data(as_text=True)
    assert "Remplir la fiche" in page and 'name="recit"' in page and "<select" in page
    refused = client.post(task_url, data={"csrf_token": csrf_from(page), "gravite": "haute"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Ce champ est obligatoire." in text and "Traceback" not in text
    done = client.post(task_url, data={"csrf_token": csrf_from(page), "gravite": "basse",
                                       "recit": "Récit de l'entretien",
                                       "organisation_ASSOCIATION": "asso-victimes-demo"})
    assert done.status_code == 302
    tasks = client.get("/taches").get_data(as_text=True)
    assert "Aucune tâche en attente" in tasks


def test_pages_need_a_login_and_hide_other_organisations_tasks(client, deployed):
    assert client.get("/taches").status_code == 302
    login(client, "demo-is")
    task_url = _start(client)
    client.post("/deconnexion", data={"csrf_token": csrf_from(client.get("/").get_data(
        as_text=True))})
    login(client, "demo-asso")
    assert client.get(task_url).status_code == 404
    assert "Aucun document reçu" in client.get("/recus").get_data(as_text=True)


def test_the_association_opens_and_acknowledges_a_received_document(client, db, monkeypatch):
    from routing_support import TEMPLATES, docx_text, instance_status, sent

    from engine.documents.render import TEMPLATE_DIRS_ENV

    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))
    instance_id, _case_id, delivery_id = sent(db)
    login(client, "demo-asso")
    page = client.get("/recus").get_data(as_text=True)
    assert "non ouvert" in page and f"/recus/{delivery_id}/document" in page
    document = client.get(f"/recus/{delivery_id}/document")
    assert document.status_code == 200 and document.headers["Cache-Control"] == "no-store"
    assert docx_text(document.data)
    done = client.post(f"/recus/{delivery_id}/accuser-reception",
                       data={"csrf_token": csrf_from(page)})
    assert done.status_code == 302
    assert "accusé de réception envoyé" in client.get("/recus").get_data(as_text=True)
    assert instance_status(db, instance_id) == "completed"
    again = client.post(f"/recus/{delivery_id}/accuser-reception",
                        data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "déjà" in again.get_data(as_text=True)
