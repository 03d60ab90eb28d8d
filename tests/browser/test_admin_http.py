"""The administration pages through Flask's test client (no browser needed): access control,
the deployment endpoints' answers, the XML endpoint, the import form on the MIWG models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import as_admin, csrf_from, login

from engine.runtime.queries import as_utf8_text
from engine.web.app import CSP

HERE = Path(__file__).parent
ORIENTATION = (HERE / "orientation.bpmn").read_bytes()
MIWG_DIR = HERE.parent / "fixtures" / "miwg"
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
ADMIN_PAGES = ["/admin/protocoles", "/admin/protocoles/nouveau",
               "/admin/protocoles/orientation", "/admin/protocoles/orientation/modifier",
               "/admin/protocoles/orientation/diagramme.bpmn",
               "/admin/protocoles/nouveau/diagramme.bpmn"]


@pytest.fixture
def admin_client(client, clock):
    return as_admin(client, clock)


def _deploy_json(client, xml: str | bytes, name: str = "orientation.bpmn", **extra):
    page = client.get("/admin/protocoles/nouveau").get_data(as_text=True)
    token = META_CSRF.search(page).group(1)
    body = {"fichier": name, "xml": xml.decode() if isinstance(xml, bytes) else xml, **extra}
    return client.post("/admin/protocoles/deployer", json=body,
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def _import(client, files: dict[str, bytes]):
    from io import BytesIO

    page = client.get("/admin/protocoles").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page),
            "file": [(BytesIO(content), name) for name, content in files.items()]}
    return client.post("/admin/protocoles/importer", data=data,
                       content_type="multipart/form-data")


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/connexion?next=")


def test_other_roles_get_the_french_403_page(client):
    login(client, "demo-is")
    home = client.get("/").get_data(as_text=True)
    assert "Protocoles" not in home  # no link to pages they cannot open
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Accès refusé" in response.get_data(as_text=True)
    token = csrf_from(home)
    response = client.post("/admin/protocoles/deployer", json={"xml": ORIENTATION.decode()},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 403
    assert client.post("/admin/protocoles/importer",
                       data={"csrf_token": token}).status_code == 403


def test_admin_pages_keep_the_strict_csp_and_carry_no_inline_code(admin_client):
    assert _deploy_json(admin_client, ORIENTATION).status_code == 201
    for path in ADMIN_PAGES[:4]:
        response = admin_client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert response.headers["Content-Security-Policy"] == CSP
        assert "unsafe-inline" not in CSP
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html and "<style" not in html, path
    assert "Protocoles" in admin_client.get("/").get_data(as_text=True)


def test_deploying_from_the_modeler_answers_json(admin_client, db):
    first = _deploy_json(admin_client, ORIENTATION)
    assert first.status_code == 201
    assert first.json["nouvelle_version"] is True
    assert first.json["versions"] == [{"id": "orientation",
                                       "name": "Orientation vers une association",
                                       "version": 1, "url": "/admin/protocoles/orientation"}]
    again = _deploy_json(admin_client, ORIENTATION)
    assert again.status_code == 200 and again.json["nouvelle_version"] is False
    assert "aucune nouvelle version" in again.json["message"]
    changed = ORIENTATION.replace(b"Proposer un accompagnement", b"Proposer un rendez-vous")
    second = _deploy_json(admin_client, changed, protocole="orientation")
    assert second.status_code == 201 and second.json["versions"][0]["version"] == 2

    page = admin_client.get("/admin/protocoles/orientation").get_data(as_text=True)
    assert re.search(r'<tr data-version="2">.*?demo-admin.*?web', page, re.S)
    listing = admin_client.get("/admin/protocoles").get_data(as_text=True)
    row = re.search(r'<tr data-process-id="orientation">(.*?)</tr>', listing, re.S).group(1)
    assert re.findall(r'<td class="nombre">(\d+)</td>', row) == ["2", "2"]


def test_a_refused_diagram_comes_back_as_french_problems(admin_client):
    wrong = ORIENTATION.replace(b'name="ASSOCIATION"', b'name="INCONNU"')
    response = _deploy_json(admin_client, wrong)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.json
    # The same rules as publishing a draft, element by element.
    assert body["code"] == "publish_refused" and body["title"] == "Modèle refusé"
    assert body["detail"].startswith("Publication refusée : 1 problème")
    assert any("INCONNU" in e["message"] for e in body["errors"])
    assert [p["element_id"] for p in body["problems"]] == ["Lane_ASSO"]
    assert "Traceback" not in response.get_data(as_text=True)

    for bad, field in ((_deploy_json(admin_client, "  "), "xml"),
                       (_deploy_json(admin_client, ORIENTATION, name="notes.txt"), "file"),
                       (_deploy_json(admin_client, "<pas du xml"), "orientation.bpmn")):
        assert bad.status_code == 422, bad.json
        assert [e for e in bad.json["errors"] if e["field"].startswith(field)], bad.json
    unknown = _deploy_json(admin_client, ORIENTATION, protocole="inconnu")
    assert unknown.status_code == 404 and unknown.json["code"] == "process_not_found"


def test_deploying_without_the_csrf_header_is_refused(admin_client):
    response = admin_client.post("/admin/protocoles/deployer",
                                 json={"fichier": "o.bpmn", "xml": ORIENTATION.decode()})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)


def test_editing_redeploys_the_other_files_of_the_deployment(admin_client):
    other = ORIENTATION.replace(b'id="orientation"', b'id="orientation_bis"') \
        .replace(b'processRef="orientation"', b'processRef="orientation_bis"')
    assert _import(admin_client, {"orientation.bpmn": ORIENTATION,
                                  "bis.bpmn": other}).status_code == 302
    edited = ORIENTATION.replace(b"Orientation faite", "Orientation terminée".encode())
    response = _deploy_json(admin_client, edited, protocole="orientation")
    assert response.status_code == 201
    assert {(v["id"], v["version"]) for v in response.json["versions"]} == {
        ("orientation", 2), ("orientation_bis", 2)}
    xml = admin_client.get("/admin/protocoles/orientation/diagramme.bpmn")
    assert "Orientation terminée" in xml.get_data(as_text=True)
    bis = admin_client.get("/admin/protocoles/orientation_bis/diagramme.bpmn")
    assert b'id="orientation_bis"' in bis.data


def test_the_diagram_endpoint_serves_each_version_as_utf8_xml(admin_client):
    _deploy_json(admin_client, ORIENTATION)
    _deploy_json(admin_client, ORIENTATION.replace("Situation repérée".encode(), b"Signalement"),
                 protocole="orientation")
    newest = admin_client.get("/admin/protocoles/orientation/diagramme.bpmn")
    assert newest.status_code == 200
    assert newest.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert "Signalement" in newest.get_data(as_text=True)
    first = admin_client.get("/admin/protocoles/orientation/diagramme.bpmn?version=1")
    assert first.data == ORIENTATION
    assert first.headers["Content-Disposition"] == (
        "inline; filename=\"orientation.bpmn\"; filename*=UTF-8''orientation.bpmn")
    assert admin_client.get("/admin/protocoles/orientation/diagramme.bpmn?version=9") \
        .status_code == 404
    assert admin_client.get("/admin/protocoles/inconnu").status_code == 404
    blank = admin_client.get("/admin/protocoles/nouveau/diagramme.bpmn").get_data(as_text=True)
    assert 'isExecutable="true"' in blank and 'name="IS"' in blank


def test_any_deployed_file_name_can_be_served(admin_client, db):
    from engine.audit.service import SYSTEM
    from engine.runtime import service as runtime

    with db.unit_of_work() as uow:
        runtime.deploy(uow, SYSTEM, {"orientation — été.bpmn": ORIENTATION}, source="api")
        uow.commit()
    response = admin_client.get("/admin/protocoles/orientation/diagramme.bpmn")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        "inline; filename=\"orientation_t_.bpmn\"; "
        "filename*=UTF-8''orientation%20%E2%80%94%20%C3%A9t%C3%A9.bpmn")
    page = admin_client.get("/admin/protocoles/orientation/modifier").get_data(as_text=True)
    assert 'data-file-name="orientation — été.bpmn"' in page
    edited = _deploy_json(admin_client, ORIENTATION.replace(b"faite", b"close"),
                          name="orientation — été.bpmn", protocole="orientation")
    assert edited.status_code == 201, edited.json  # replaced, not deployed twice
    assert edited.json["versions"][0]["version"] == 2


def test_latin1_files_reach_the_browser_decoded():
    raw = '<?xml version="1.0" encoding="ISO-8859-1"?><a n="été"/>'.encode("latin-1")
    assert as_utf8_text(raw) == '<?xml version="1.0" encoding="UTF-8"?><a n="été"/>'
    assert as_utf8_text(b"\xef\xbb\xbf<a/>") == "<a/>"
    assert as_utf8_text("<a n='é'/>".encode()) == "<a n='é'/>"
    assert as_utf8_text(b'<?xml version="1.0" encoding="x-inconnu"?><a/>').endswith("<a/>")


def test_the_import_form_deploys_or_explains(admin_client):
    response = _import(admin_client, {"orientation.bpmn": ORIENTATION})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/protocoles/orientation"
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Déployé : « Orientation vers une association » (orientation) version 1." in page

    refused = _import(admin_client, {"notes.txt": b"bonjour"})
    assert refused.status_code == 422
    assert "Seuls les fichiers .bpmn et .dmn sont acceptés" in refused.get_data(as_text=True)
    empty = admin_client.post("/admin/protocoles/importer", data={
        "csrf_token": csrf_from(admin_client.get("/admin/protocoles").get_data(as_text=True))})
    assert empty.status_code == 422
    assert "Choisissez un à 10 fichiers" in empty.get_data(as_text=True)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_miwg_model_is_deployed_or_refused_with_reasons(admin_client):
    files = sorted(MIWG_DIR.glob("*.bpmn"))
    assert len(files) == 21
    outcomes = {}
    for path in files:
        response = _import(admin_client, {path.name: path.read_bytes()})
        html = response.get_data(as_text=True)
        assert response.status_code in (302, 422), (path.name, response.status_code)
        assert "Traceback" not in html
        if response.status_code == 422:
            problems = re.findall(r"<li>(.*?)</li>", html.split('id="problemes"')[1]
                                  .split("</div>")[0], re.S)
            assert problems, path.name
            assert all(path.name in p for p in problems), (path.name, problems)
        outcomes[path.name] = response.status_code
    assert set(outcomes.values()) <= {302, 422}
