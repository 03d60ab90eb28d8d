"""The runtime through the REST API, as the demo personas would use it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from helpers import bearer

from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.runtime import service as runtime

FIXTURES = Path(__file__).parents[1] / "fixtures"
MIWG = FIXTURES / "miwg"
FICHE = {"gravite": "haute", "recit": "un récit", "organisation_ASSOCIATION": "asso-victimes-demo"}


@pytest.fixture
def deployed(db):
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"essai.bpmn": (FIXTURES / "bpmn" / "essai.bpmn").read_bytes()},
                       source="cli", forms_dir=FIXTURES / "forms")


@pytest.fixture
def is_headers(db):
    return bearer(db, "demo-is")


@pytest.fixture
def asso_headers(db):
    return bearer(db, "demo-asso")


def test_processes_say_who_can_start(client, deployed, is_headers, asso_headers):
    mine = client.get("/api/v1/processes", headers=is_headers).get_json()
    assert {"id": "essai", "name": "Protocole d'essai", "version": 1, "can_start": True} in mine
    theirs = client.get("/api/v1/processes", headers=asso_headers).get_json()
    assert [p["can_start"] for p in theirs if p["id"] == "essai"] == [False]


def test_start_complete_and_see_the_instance(client, deployed, is_headers, asso_headers):
    started = client.post("/api/v1/instances", json={"process_id": "essai"}, headers=is_headers)
    assert started.status_code == 201
    body = started.get_json()
    assert body["status"] == "running" and body["version"] == 1 and body["case_id"]
    [task] = client.get("/api/v1/tasks", headers=is_headers).get_json()
    assert task["name"] == "Remplir la fiche" and task["lane"] == "IS"
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=is_headers).get_json()
    assert detail["form"]["schema"]["properties"]["gravite"]["enum"] == ["basse", "haute"]
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=asso_headers).status_code == 404
    assert client.get(f"/api/v1/instances/{body['id']}",
                      headers=bearer_for(client, "demo-cmp")).status_code == 404

    bad = client.post(f"/api/v1/tasks/{task['id']}/complete",
                      json={"data": {"gravite": "x"}}, headers=is_headers)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    problem = bad.get_json()
    assert problem["code"] == "validation_failed"
    assert {e["field"] for e in problem["errors"]} >= {"gravite", "recit"}

    stale = client.post(f"/api/v1/tasks/{task['id']}/complete",
                        json={"data": FICHE, "expected_version": 999}, headers=is_headers)
    assert stale.status_code == 409 and stale.get_json()["code"] == "stale_instance"
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": FICHE},
                       headers=is_headers)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["instance"]["status"] == "running"
    again = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": FICHE},
                        headers=is_headers)
    assert again.status_code == 409 and again.get_json()["code"] == "task_already_completed"


def bearer_for(client, username):
    db = client.application.extensions["relais.db"]
    return bearer(db, username)


def test_a_role_that_may_not_start_gets_403(client, deployed, asso_headers):
    answer = client.post("/api/v1/instances", json={"process_id": "essai"}, headers=asso_headers)
    assert answer.status_code == 403 and answer.get_json()["code"] == "permission_denied"


def test_idempotency_key_replays_the_first_answer(client, deployed, is_headers):
    headers = {**is_headers, "Idempotency-Key": "cle-1"}
    first = client.post("/api/v1/instances", json={"process_id": "essai"}, headers=headers)
    second = client.post("/api/v1/instances", json={"process_id": "essai"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/instances", json={"process_id": "autre"}, headers=headers)
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"


def test_bad_json_bodies_get_problem_documents(client, deployed, is_headers):
    missing = client.post("/api/v1/instances", json={}, headers=is_headers)
    assert missing.status_code == 422
    assert missing.get_json()["errors"][0]["field"] == "process_id"
    unknown = client.post("/api/v1/instances", json={"process_id": "nope"}, headers=is_headers)
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "process_not_found"


def test_messages_are_buffered_deduplicated_and_only_reach_visible_instances(
        client, deployed, is_headers):
    payload = {"name": "retour", "correlation": {"case_id": 123456}, "payload": {},
               "message_id": "msg-1"}
    first = client.post("/api/v1/messages", json=payload, headers=is_headers)
    assert first.status_code == 202 and first.get_json()["status"] == "buffered"
    dup = client.post("/api/v1/messages", json=payload, headers=is_headers)
    assert dup.get_json()["status"] == "duplicate"


def test_admin_upload_deploys_and_refuses_with_reasons(client, db):
    admin = bearer(db, "demo-admin")
    c91 = (MIWG / "C.1.0.bpmn").read_bytes()
    refused = client.post("/api/v1/admin/process-models", headers=admin,
                          data={"file": (io.BytesIO(c91), "C.1.0.bpmn")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422
    problem = refused.get_json()
    assert problem["code"] == "model_rejected" and problem["errors"]
    assert "Traceback" not in refused.get_data(as_text=True)
    forbidden = client.post("/api/v1/admin/process-models", headers=bearer(db, "demo-is"),
                            data={"file": (io.BytesIO(c91), "C.1.0.bpmn")},
                            content_type="multipart/form-data")
    assert forbidden.status_code == 403
    wrong = client.post("/api/v1/admin/process-models", headers=admin,
                        data={"file": (io.BytesIO(b"x"), "notes.txt")},
                        content_type="multipart/form-data")
    assert wrong.status_code == 422


def test_admin_endpoints_are_for_administrators(client, deployed, db, is_headers):
    admin = bearer(db, "demo-admin")
    started = client.post("/api/v1/instances", json={"process_id": "essai"},
                          headers=is_headers).get_json()
    assert client.get("/api/v1/admin/incidents", headers=admin).get_json() == []
    assert client.get("/api/v1/admin/incidents", headers=is_headers).status_code == 403
    nothing = client.post(f"/api/v1/admin/instances/{started['id']}/migrate", json={},
                          headers=admin)
    assert nothing.status_code == 409 and nothing.get_json()["code"] == "nothing_to_migrate"
    assert client.post(f"/api/v1/admin/instances/{started['id']}/migrate", json={},
                       headers=is_headers).status_code == 403
    suspended = client.post(f"/api/v1/instances/{started['id']}/suspend", headers=admin)
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    assert client.get("/api/v1/tasks", headers=is_headers).get_json() == []
    assert client.post("/api/v1/admin/incidents/999/retry", headers=admin).status_code == 404


def test_a_message_start_event_starts_a_protocol_for_a_sender_who_may(client, db, is_headers,
                                                                      asso_headers):
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"signalement.bpmn":
                                     (FIXTURES / "bpmn" / "signalement.bpmn").read_bytes()},
                       source="cli")
    message = {"name": "signalement", "correlation": {}, "payload": {"urgent": True},
               "message_id": "sig-1"}
    refused = client.post("/api/v1/messages", json={**message, "message_id": "sig-0"},
                          headers=asso_headers)
    assert refused.get_json() == {"status": "buffered", "delivered_to": None}
    started = client.post("/api/v1/messages", json=message, headers=is_headers)
    assert started.status_code == 202 and started.get_json()["status"] == "delivered"
    instance_id = started.get_json()["delivered_to"]
    [task] = client.get("/api/v1/tasks", headers=is_headers).get_json()
    assert task["instance_id"] == instance_id and task["name"] == "Traiter le signalement"


def test_the_task_list_pages_by_keyset(client, deployed, is_headers):
    for _ in range(5):
        assert client.post("/api/v1/instances", json={"process_id": "essai"},
                           headers=is_headers).status_code == 201
    every = [t["id"] for t in client.get("/api/v1/tasks", headers=is_headers).get_json()]
    assert len(every) == 5 and every == sorted(every)
    first = client.get("/api/v1/tasks?limit=2", headers=is_headers).get_json()
    assert [t["id"] for t in first] == every[:2]
    rest = client.get(f"/api/v1/tasks?after={first[-1]['id']}", headers=is_headers).get_json()
    assert [t["id"] for t in rest] == every[2:]
    assert client.get(f"/api/v1/tasks?after={every[-1]}", headers=is_headers).get_json() == []


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "after=-1", "after=abc"])
def test_a_bad_page_is_refused_with_a_problem(client, deployed, is_headers, query):
    response = client.get(f"/api/v1/tasks?{query}", headers=is_headers)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
