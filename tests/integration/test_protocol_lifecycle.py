"""A protocol's lifecycle through the administration pages (Flask test client) and the
runtime services: drafts, publication refused element by element, withdrawal from new
starts (pages and API), migration of running instances, access control and audit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import as_admin, bearer, csrf_from, login
from sqlalchemy import select

from engine.audit.models import AuditEntry
from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.identity import service as identity
from engine.identity.errors import PermissionDenied
from engine.runtime import service as runtime
from engine.runtime.models import Instance, ProtocolDraft
from engine.web.admin.views import BLANK_DIAGRAM

ORIENTATION = (Path(__file__).parents[1] / "browser" / "orientation.bpmn").read_text()
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
CONTACT = {"date_contact": "2026-11-30", "suite": "accompagnement"}


@pytest.fixture
def admin_client(client, clock):
    return as_admin(client, clock)


def _token(client) -> str:
    return META_CSRF.search(client.get("/admin/protocoles/nouveau").get_data(as_text=True))[1]


def _save(client, xml: str, **extra):
    body = {"fichier": "orientation.bpmn", "xml": xml, **extra}
    return client.post("/admin/protocoles/brouillons", json=body,
                       headers={"X-CSRFToken": _token(client), "Accept": "application/json"})


def _publish(client, draft_id: int, revision: int):
    return client.post(f"/admin/protocoles/brouillons/{draft_id}/publier",
                       json={"revision": revision},
                       headers={"X-CSRFToken": _token(client), "Accept": "application/json"})


def _form(client, page: str, action: str, **data):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data})


def _actions(db, prefix: str) -> list[str]:
    with db.unit_of_work() as uow:
        return [a for a in uow.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq))
                if a.startswith(prefix)]


def _startable(uow) -> set[str]:
    return {v.process_id for v in runtime.available_versions(uow)}


def _principal(uow, username):
    return identity.principal_for(identity.get_user(uow, username))


def _publish_orientation(client, xml: str = ORIENTATION, **extra) -> dict:
    saved = _save(client, xml, **extra)
    assert saved.status_code == 201, saved.get_json()
    published = _publish(client, saved.get_json()["id"], saved.get_json()["revision"])
    assert published.status_code == 201, published.get_json()
    return published.get_json()


# --- drafts ---------------------------------------------------------------------------------

def test_a_draft_is_saved_listed_reopened_updated_and_deleted(admin_client, db):
    saved = _save(admin_client, ORIENTATION)
    assert saved.status_code == 201
    draft = saved.get_json()
    assert draft["revision"] == 1 and draft["protocole"] == "orientation"
    with db.unit_of_work() as uow:
        assert "orientation" not in _startable(uow)  # a draft publishes nothing

    listing = admin_client.get("/admin/protocoles").get_data(as_text=True)
    assert f'data-draft-id="{draft["id"]}"' in listing and "nouveau protocole" in listing
    page = admin_client.get(draft["url"]).get_data(as_text=True)
    assert f'data-draft-id="{draft["id"]}"' in page and 'data-revision="1"' in page
    xml = admin_client.get(f"/admin/protocoles/brouillons/{draft['id']}/diagramme.bpmn")
    assert xml.get_data(as_text=True) == ORIENTATION

    renamed = ORIENTATION.replace("Évaluer la situation", "Évaluer avec la victime")
    updated = _save(admin_client, renamed, brouillon=draft["id"], revision=1)
    assert updated.status_code == 200 and updated.get_json()["revision"] == 2
    assert "Évaluer avec la victime" in admin_client.get(
        f"/admin/protocoles/brouillons/{draft['id']}/diagramme.bpmn").get_data(as_text=True)

    deleted = _form(admin_client, "/admin/protocoles",
                    f"/admin/protocoles/brouillons/{draft['id']}/supprimer")
    assert deleted.status_code == 302
    assert admin_client.get(draft["url"]).status_code == 404
    assert _actions(db, "runtime.draft_") == ["runtime.draft_saved", "runtime.draft_saved",
                                              "runtime.draft_deleted"]


def test_saving_over_someone_elses_save_is_a_409_in_french(admin_client, db):
    draft = _save(admin_client, ORIENTATION).get_json()
    assert _save(admin_client, ORIENTATION, brouillon=draft["id"], revision=1).status_code == 200
    stale = _save(admin_client, ORIENTATION.replace("Orientation", "Autre"),
                  brouillon=draft["id"], revision=1)
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["code"] == "draft_conflict" and "entre-temps" in body["detail"]
    with db.unit_of_work() as uow:
        kept = uow.session.get(ProtocolDraft, draft["id"])
        assert kept.revision == 2 and "Autre" not in kept.xml


def test_an_unreadable_draft_is_refused_and_nothing_is_saved(admin_client, db):
    for xml in ("  ", "<pas du xml", "<bpmn:definitions xmlns:bpmn="
                "'http://www.omg.org/spec/BPMN/20100524/MODEL'/>"):
        response = _save(admin_client, xml)
        assert response.status_code == 422, xml
        assert response.get_json()["errors"][0]["field"] == "xml"
    with db.unit_of_work() as uow:
        assert uow.session.scalars(select(ProtocolDraft)).all() == []


# --- publishing ------------------------------------------------------------------------------

def test_a_blank_diagram_is_refused_with_problems_naming_elements(admin_client, db):
    draft = _save(admin_client, BLANK_DIAGRAM, fichier="nouveau_protocole.bpmn").get_json()
    refused = _publish(admin_client, draft["id"], draft["revision"])
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "publish_refused"
    by_element = {p["element_id"]: p for p in body["problems"]}
    assert "événement de fin" in by_element["nouveau_protocole"]["message"]
    assert by_element["debut"]["element_name"] == "Situation repérée"
    assert "flux sortant" in by_element["debut"]["message"]
    with db.unit_of_work() as uow:
        assert "nouveau_protocole" not in _startable(uow)
        assert uow.session.get(ProtocolDraft, draft["id"]) is not None  # kept, to correct
    assert "runtime.publish_refused" in _actions(db, "runtime.")


@pytest.mark.parametrize("broken, element, words", [
    (lambda x: x.replace('<bpmn:sequenceFlow id="flux_3" sourceRef="accompagner" '
                         'targetRef="fin"/>', "").replace(
        "<bpmn:incoming>flux_3</bpmn:incoming>", "").replace(
        "<bpmn:outgoing>flux_3</bpmn:outgoing>", ""),
     "accompagner", "flux sortant"),
    (lambda x: re.sub(r"<bpmn:extensionElements>.*?</bpmn:extensionElements>", "", x,
                      count=1, flags=re.S), "evaluer", "formulaire"),
    (lambda x: x.replace('name="ASSOCIATION"', 'name="INCONNU"'), "Lane_ASSO", "INCONNU"),
])
def test_each_broken_rule_names_its_element(admin_client, db, broken, element, words):
    xml = broken(ORIENTATION)
    assert xml != ORIENTATION
    draft = _save(admin_client, xml).get_json()
    refused = _publish(admin_client, draft["id"], draft["revision"])
    assert refused.status_code == 422
    assert any(p["element_id"] == element and words in p["message"]
               for p in refused.get_json()["problems"]), refused.get_json()["problems"]


def test_a_gateway_flow_without_condition_is_refused():
    xml = ORIENTATION.replace(
        '<bpmn:sequenceFlow id="flux_2" sourceRef="evaluer" targetRef="accompagner"/>',
        '<bpmn:sequenceFlow id="flux_2" sourceRef="evaluer" targetRef="choix"/>'
        '<bpmn:exclusiveGateway id="choix" name="Suite ?"/>'
        '<bpmn:sequenceFlow id="oui" sourceRef="choix" targetRef="accompagner"/>'
        '<bpmn:sequenceFlow id="non" sourceRef="choix" targetRef="fin"/>')
    problems = runtime.publication_problems({"orientation.bpmn": xml.encode()})
    flagged = {p["element_id"] for p in problems if "condition" in p["message"]}
    assert flagged == {"oui", "non"}
    with_default = xml.replace('name="Suite ?"', 'name="Suite ?" default="non"').replace(
        'id="oui" sourceRef="choix" targetRef="accompagner"/>',
        'id="oui" name="Oui" sourceRef="choix" targetRef="accompagner"><bpmn:conditionExpression>'
        "True</bpmn:conditionExpression></bpmn:sequenceFlow>")
    problems = runtime.publication_problems({"orientation.bpmn": with_default.encode()})
    assert not [p for p in problems if "condition" in p["message"]]


def test_publishing_a_valid_draft_creates_a_version_and_deletes_the_draft(admin_client, db):
    deployed_before = _actions(db, "runtime.deployed")
    saved = _save(admin_client, ORIENTATION).get_json()
    assert _publish(admin_client, saved["id"], 0).status_code == 409  # stale revision
    published = _publish(admin_client, saved["id"], saved["revision"])
    assert published.status_code == 201
    assert published.get_json()["versions"][0]["version"] == 1
    with db.unit_of_work() as uow:
        assert runtime.latest_version(uow, "orientation").version == 1
        assert uow.session.get(ProtocolDraft, saved["id"]) is None
    # A draft from the published version, then published: version 2, same file name.
    edited = ORIENTATION.replace("Orientation faite", "Orientation close")
    second = _publish_orientation(admin_client, edited, protocole="orientation")
    assert second["versions"][0]["version"] == 2
    with db.unit_of_work() as uow:
        files = runtime.diagram_files(uow, runtime.latest_version(uow, "orientation"))
        assert list(files) == ["orientation.bpmn"]
    actions = _actions(db, "runtime.")
    assert len(_actions(db, "runtime.deployed")) == len(deployed_before) + 2
    assert actions.count("runtime.draft_published") == 2


def test_the_old_deploy_endpoint_applies_the_same_rules(admin_client, db):
    response = admin_client.post(
        "/admin/protocoles/deployer", json={"fichier": "n.bpmn", "xml": BLANK_DIAGRAM},
        headers={"X-CSRFToken": _token(admin_client), "Accept": "application/json"})
    assert response.status_code == 422
    assert {p["element_id"] for p in response.get_json()["problems"]} >= {"debut"}
    with db.unit_of_work() as uow:
        assert "n" not in _startable(uow) and "nouveau_protocole" not in _startable(uow)


def test_the_diff_pages_open(admin_client):
    _publish_orientation(admin_client)
    draft = _save(admin_client, ORIENTATION.replace("faite", "close"),
                  protocole="orientation").get_json()
    editing = admin_client.get("/admin/protocoles/orientation/modifier").get_data(as_text=True)
    assert 'id="autres-brouillons"' in editing and draft["url"] in editing
    page = admin_client.get(draft["changements"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-before-url="/admin/protocoles/orientation/diagramme.bpmn?version=1"' in html
    assert "Publier ce brouillon" in html and "relais-diff.js" in html
    _publish(admin_client, draft["id"], draft["revision"])
    versions = admin_client.get("/admin/protocoles/orientation/changements?de=1&a=2")
    assert versions.status_code == 200 and "version 1" in versions.get_data(as_text=True)
    assert admin_client.get("/admin/protocoles/orientation/changements?de=9").status_code == 404


# --- withdrawal -----------------------------------------------------------------------------

def test_withdrawal_hides_and_refuses_starts_while_running_instances_continue(
        admin_client, app, db):
    _publish_orientation(admin_client)
    with transaction(db) as uow:
        running = runtime.start_instance(uow, _principal(uow, "demo-is"), "orientation").id

    refused = _form(admin_client, "/admin/protocoles/orientation",
                    "/admin/protocoles/orientation/retirer", motif="")
    assert refused.status_code == 302
    with db.unit_of_work() as uow:
        assert runtime.available_version(uow, "orientation").version == 1  # nothing withdrawn
    _form(admin_client, "/admin/protocoles/orientation", "/admin/protocoles/orientation/retirer",
          motif="Circuit en cours de révision")
    page = admin_client.get("/admin/protocoles/orientation").get_data(as_text=True)
    assert "Retiré des nouveaux lancements" in page and "Circuit en cours de révision" in page

    is_client = app.test_client()
    login(is_client, "demo-is")
    listing = is_client.get("/protocoles").get_data(as_text=True)
    assert "Orientation vers une association" not in listing
    start = is_client.post("/protocoles/orientation/lancer",
                           data={"csrf_token": csrf_from(listing)})
    assert start.status_code == 409 and "retiré" in start.get_data(as_text=True)

    api = app.test_client()
    headers = bearer(db, "demo-is")
    assert "orientation" not in {p["id"] for p in api.get("/api/v1/processes",
                                                          headers=headers).get_json()}
    problem = api.post("/api/v1/instances", json={"process_id": "orientation"}, headers=headers)
    assert problem.status_code == 409
    assert problem.get_json()["code"] == "protocol_withdrawn"
    assert problem.mimetype == "application/problem+json"

    with transaction(db) as uow:  # the running instance continues on its version
        who = _principal(uow, "demo-is")
        [task] = runtime.ready_tasks(uow, who)
        runtime.complete_task(uow, who, task.id, CONTACT)
    with db.unit_of_work() as uow:
        instance = uow.session.get(Instance, running)
        assert instance.status != "terminated"
        assert [t.spec_name for t in runtime.ready_tasks(uow, _principal(uow, "demo-is"))] == []

    _form(admin_client, "/admin/protocoles/orientation", "/admin/protocoles/orientation/remettre")
    assert "Orientation vers une association" in is_client.get("/protocoles").get_data(
        as_text=True)
    assert api.post("/api/v1/instances", json={"process_id": "orientation"},
                    headers=headers).status_code == 201
    assert _actions(db, "runtime.protocol_") == ["runtime.protocol_withdrawn",
                                                 "runtime.protocol_restored"]


def test_withdrawing_the_newest_version_sends_new_starts_to_the_previous_one(admin_client, db):
    _publish_orientation(admin_client)
    _publish_orientation(admin_client, ORIENTATION.replace("faite", "close"),
                         protocole="orientation")
    with transaction(db) as uow:
        admin = _principal(uow, "demo-admin")
        runtime.withdraw(uow, admin, "orientation", 2, "erreur de circuit")
    with transaction(db) as uow:
        assert runtime.available_version(uow, "orientation").version == 1
        started = runtime.start_instance(uow, _principal(uow, "demo-is"), "orientation")
        assert started.process_version_id == runtime.version_of(uow, "orientation", 1).id
    with transaction(db) as uow, pytest.raises(PermissionDenied):
        runtime.withdraw(uow, _principal(uow, "demo-is"), "orientation", None, "x")


# --- instances by version and migration ------------------------------------------------------

def test_instances_are_counted_by_version_and_migrated(admin_client, db):
    _publish_orientation(admin_client)
    with transaction(db) as uow:
        first = runtime.start_instance(uow, _principal(uow, "demo-is"), "orientation").id
    _publish_orientation(admin_client, ORIENTATION.replace("Proposer un accompagnement",
                                                           "Proposer un suivi"),
                         protocole="orientation")
    page = admin_client.get("/admin/protocoles/orientation").get_data(as_text=True)
    assert re.search(r'<tr data-version="1">.*?data-running="1"', page, re.S)
    assert "Migrer ses 1 instance(s) vers la version 2" in page

    moved = _form(admin_client, "/admin/protocoles/orientation",
                  "/admin/protocoles/orientation/migrer", version="1")
    assert moved.status_code == 302
    with db.unit_of_work() as uow:
        assert runtime.instances_by_version(uow, "orientation") == {2: {"running": 1}}
        assert uow.session.get(Instance, first).process_version_id == \
            runtime.latest_version(uow, "orientation").id
    assert "runtime.instance_migrated" in _actions(db, "runtime.")


def test_a_migration_the_runtime_cannot_do_is_refused_with_its_reason(admin_client, db):
    _publish_orientation(admin_client)
    with transaction(db) as uow:
        first = runtime.start_instance(uow, _principal(uow, "demo-is"), "orientation").id
    without_evaluer = re.sub(r'<bpmn:userTask id="evaluer".*?</bpmn:userTask>', "",
                             ORIENTATION, flags=re.S)
    without_evaluer = without_evaluer.replace("<bpmn:flowNodeRef>evaluer</bpmn:flowNodeRef>", "")
    without_evaluer = without_evaluer.replace(
        '<bpmn:sequenceFlow id="flux_1" sourceRef="depart" targetRef="evaluer"/>',
        '<bpmn:sequenceFlow id="flux_1" sourceRef="depart" targetRef="accompagner"/>').replace(
        '<bpmn:sequenceFlow id="flux_2" sourceRef="evaluer" targetRef="accompagner"/>', "")
    without_evaluer = re.sub(r'<bpmndi:BPMN(Shape|Edge) id="[^"]*" bpmnElement="(evaluer|flux_2)"'
                             r".*?</bpmndi:BPMN\1>", "", without_evaluer, flags=re.S)
    without_evaluer = without_evaluer.replace("<bpmn:incoming>flux_2</bpmn:incoming>",
                                              "<bpmn:incoming>flux_1</bpmn:incoming>")
    _publish_orientation(admin_client, without_evaluer, protocole="orientation")
    response = _form(admin_client, "/admin/protocoles/orientation",
                     "/admin/protocoles/orientation/migrer", version="1")
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Non migrée" in page and "existe plus dans la version 2" in page
    with db.unit_of_work() as uow:
        assert uow.session.get(Instance, first).process_version_id == \
            runtime.version_of(uow, "orientation", 1).id
    assert "admin.protocols.migration_refused" in _actions(db, "admin.")


# --- access ---------------------------------------------------------------------------------

LIFECYCLE_GETS = ["/admin/protocoles/brouillons/1", "/admin/protocoles/brouillons/1/diagramme.bpmn",
                  "/admin/protocoles/brouillons/1/changements",
                  "/admin/protocoles/orientation/changements"]
LIFECYCLE_POSTS = ["/admin/protocoles/brouillons", "/admin/protocoles/brouillons/1/publier",
                   "/admin/protocoles/brouillons/1/supprimer",
                   "/admin/protocoles/orientation/retirer",
                   "/admin/protocoles/orientation/remettre",
                   "/admin/protocoles/orientation/migrer"]


def test_non_administrators_get_403_and_visitors_the_login_page(app, client, db):
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"orientation.bpmn": ORIENTATION.encode()}, source="cli")
    for path in LIFECYCLE_GETS:
        response = client.get(path)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    login(client, "demo-is")
    token = csrf_from(client.get("/").get_data(as_text=True))
    for path in LIFECYCLE_GETS:
        assert client.get(path).status_code == 403, path
    for path in LIFECYCLE_POSTS:
        assert client.post(path, data={"csrf_token": token, "motif": "x", "version": "1"},
                           headers={"X-CSRFToken": token}).status_code == 403, path
    with db.unit_of_work() as uow:
        assert runtime.available_version(uow, "orientation").withdrawn_at is None


def test_the_import_form_applies_the_publication_rules(admin_client, db):
    from io import BytesIO

    page = admin_client.get("/admin/protocoles").get_data(as_text=True)
    response = admin_client.post("/admin/protocoles/importer", data={
        "csrf_token": csrf_from(page), "file": [(BytesIO(BLANK_DIAGRAM.encode()), "n.bpmn")]},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Rien n'a été déployé" in html
    assert "n.bpmn, startEvent « debut » (Situation repérée) : Cet élément n&#39;a pas de " \
        "flux sortant" in html
    with db.unit_of_work() as uow:
        assert "nouveau_protocole" not in _startable(uow)
    assert "runtime.deployment_refused" in _actions(db, "runtime.")
