"""A consent checkpoint in a diagram: the professional sees exactly what the diagram will
send, records the person's decision and channel; the engine keeps it as a Consent."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import bearer
from sqlalchemy import select

from engine.audit.service import SYSTEM
from engine.cases.service import get_case
from engine.consent import service as consent
from engine.consent.models import Consent
from engine.db import transaction
from engine.identity.service import get_organisation
from engine.jobs import outbox
from engine.runtime import service as runtime
from engine.runtime.models import Instance, OutboxItem

FIXTURES = Path(__file__).parents[1] / "fixtures"
ANSWER = {"presented": True, "decision": "granted", "channel": "oral"}


@pytest.fixture
def started(client, db):
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"checkpoint.bpmn":
                                     (FIXTURES / "bpmn" / "checkpoint.bpmn").read_bytes()},
                       source="cli")
    headers = bearer(db, "demo-is")
    instance = client.post("/api/v1/instances", json={"process_id": "checkpoint"},
                           headers=headers).get_json()
    [task] = client.get("/api/v1/tasks", headers=headers).get_json()
    return headers, instance, task


def _run_outbox(db):
    with db.unit_of_work() as uow:
        ids = list(uow.session.scalars(select(OutboxItem.id)))
    return [outbox.run_item(db, i) for i in ids]


def test_the_form_shows_what_the_diagram_fixes(client, started):
    headers, _instance, task = started
    schema = client.get(f"/api/v1/tasks/{task['id']}", headers=headers).get_json()["form"]["schema"]
    assert schema["properties"]["recipients"]["const"] == ["asso-victimes-demo"]
    assert schema["properties"]["purposes"]["readOnly"] is True
    assert schema["properties"]["categories"]["default"] == ["ID", "SOC"]


def test_a_granted_decision_becomes_a_consent_that_authorizes(client, db, started):
    headers, instance, task = started
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": ANSWER},
                       headers=headers)
    assert done.status_code == 200, done.get_json()
    assert _run_outbox(db) == ["done"]
    with db.unit_of_work() as uow:
        [row] = uow.session.scalars(select(Consent)).all()
        assert row.decision == "granted" and row.channel == "oral"
        assert row.expires_at is not None
        running = uow.session.get(Instance, instance["id"])
        case = get_case(uow, running.case_id)
        authorization = consent.authorize(uow, case, case.organisation_id,
                                          get_organisation(uow, "asso-victimes-demo").id,
                                          "vc_transmission", ["SOC"], uow.now())
        assert authorization.consent_id == row.id
        assert running.status == "completed"


def test_the_fixed_values_cannot_be_changed(client, started):
    headers, _instance, task = started
    widened = client.post(f"/api/v1/tasks/{task['id']}/complete",
                          json={"data": {**ANSWER, "recipients": ["cmp-demo"]}},
                          headers=headers)
    assert widened.status_code == 422
    assert [e["field"] for e in widened.get_json()["errors"]] == ["recipients"]
    unpresented = client.post(f"/api/v1/tasks/{task['id']}/complete",
                              json={"data": {**ANSWER, "presented": False}}, headers=headers)
    assert unpresented.status_code == 422


def test_a_refusal_is_recorded_and_the_diagram_branches(client, db, started):
    headers, instance, task = started
    client.post(f"/api/v1/tasks/{task['id']}/complete",
                json={"data": {**ANSWER, "decision": "refused"}}, headers=headers)
    assert _run_outbox(db) == ["done"]
    with db.unit_of_work() as uow:
        [row] = uow.session.scalars(select(Consent)).all()
        assert row.decision == "refused"
        assert uow.session.get(Instance, instance["id"]).status == "completed"
