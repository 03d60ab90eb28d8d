"""The modeler's helper endpoints through Flask's test client: the catalogue, the inline
check of scripts and conditions, the form preview; administrators only."""

from __future__ import annotations

import re

import pytest
from helpers import as_admin, csrf_from, login

META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
CATALOGUE = "/admin/modeleur/catalogue.json"
CHECK = "/admin/modeleur/verifier-script"
PREVIEW = "/admin/modeleur/apercu-formulaire"


@pytest.fixture
def admin_client(client, clock):
    return as_admin(client, clock)


def _token(client) -> str:
    page = client.get("/admin/protocoles/nouveau").get_data(as_text=True)
    return META_CSRF.search(page).group(1)


def test_anonymous_visitors_go_to_login_and_other_roles_get_403(client):
    assert client.get(CATALOGUE).status_code == 302
    assert client.get(CATALOGUE).headers["Location"].startswith("/connexion?next=")
    login(client, "demo-is")
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.get(CATALOGUE).status_code == 403
    headers = {"X-CSRFToken": token}
    assert client.post(CHECK, json={"source": "x = 1", "kind": "script"},
                       headers=headers).status_code == 403
    assert client.post(PREVIEW, json={"fichier": "vc_fiche.json"},
                       headers=headers).status_code == 403


def test_the_catalogue_answers_its_json_shape(admin_client):
    response = admin_client.get(CATALOGUE)
    assert response.status_code == 200 and response.is_json
    data = response.get_json()
    assert set(data) >= {"forms", "connectors", "roles", "consent", "parameter_types"}
    assert all(set(f) == {"file", "title", "schema"} for f in data["forms"])
    for connector in data["connectors"]:
        assert connector["id"].startswith("relais/") and connector["description"]
        for parameter in connector["parameters"]:
            assert set(parameter) == {"name", "type", "required", "doc"}
            assert parameter["doc"], (connector["id"], parameter["name"])
    assert set(data["consent"]) >= {"purposes", "categories", "recipient_kinds"}


def test_the_inline_check_answers_in_french(admin_client):
    headers = {"X-CSRFToken": _token(admin_client)}
    good = admin_client.post(CHECK, json={"source": "total = 1 + 2", "kind": "script"},
                             headers=headers).get_json()
    assert good == {"ok": True, "message": "Script accepté."}
    bad = admin_client.post(CHECK, json={"source": "import os", "kind": "script"},
                            headers=headers).get_json()
    assert bad["ok"] is False and bad["message"].startswith("Expression refusée")
    condition = admin_client.post(CHECK, json={"source": "decision ==", "kind": "expression"},
                                  headers=headers).get_json()
    assert condition["ok"] is False
    refused = admin_client.post(CHECK, json={"kind": "script"}, headers=headers)
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"
    assert admin_client.post(CHECK, json={"source": "x"}).status_code == 400  # no CSRF token


def test_the_preview_renders_the_form_fields_disabled(admin_client):
    headers = {"X-CSRFToken": _token(admin_client)}
    response = admin_client.post(PREVIEW, json={"fichier": "vc_fiche.json"}, headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Fiche protocole violences conjugales" in html
    assert "<fieldset disabled" in html and "Nom de la victime" in html
    assert "<script" not in html and " style=" not in html
    missing = admin_client.post(PREVIEW, json={"fichier": "../pyproject.toml"}, headers=headers)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
