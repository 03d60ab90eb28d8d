"""The runtime reports what other domains react to, as domain events dispatched at commit:
a human task became ready (TaskCreated), an instance reached its end (InstanceCompleted),
an incident was opened (IncidentOpened). Events carry identifiers and codes only."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import events
from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.identity import service as identity
from engine.runtime import service as runtime
from engine.runtime.models import HumanTask, OutboxItem

FIXTURES = Path(__file__).parents[1] / "fixtures"
FICHE = {"gravite": "haute", "recit": "un récit", "date_faits": "2026-11-20",
         "organisation_ASSOCIATION": "asso-victimes-demo"}


@pytest.fixture
def seen(monkeypatch) -> list[events.Event]:
    caught: list[events.Event] = []
    for kind in (events.TaskCreated, events.InstanceCompleted, events.IncidentOpened):
        monkeypatch.setitem(events._handlers, kind, [lambda _uow, event: caught.append(event)])
    return caught


def principal(uow, username):
    return identity.principal_for(identity.get_user(uow, username))


def test_a_ready_human_task_and_an_incident_are_reported_at_commit(db, seen):
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"essai.bpmn": (FIXTURES / "bpmn" / "essai.bpmn")
                                     .read_bytes()}, source="cli", forms_dir=FIXTURES / "forms")
    with transaction(db) as uow:
        worker = principal(uow, "demo-is")
        instance = runtime.start_instance(uow, worker, "essai")
        assert seen == []  # recorded, not yet dispatched
    with db.unit_of_work() as uow:
        task_id, organisation = uow.session.execute(
            select(HumanTask.id, HumanTask.organisation_id)).one()
    assert organisation is not None
    assert seen == [events.TaskCreated(
        worker.actor, task_id=task_id, instance_id=instance.id,
        organisation_id=organisation, role="IS", process_id="essai")]

    with transaction(db) as uow:
        runtime.complete_task(uow, principal(uow, "demo-is"), task_id, FICHE)
    with transaction(db) as uow:
        item = uow.session.scalars(select(OutboxItem)).one()
        incident = runtime.service_task_failed(uow, item, "panne simulée", None)
    assert seen[-1] == events.IncidentOpened(SYSTEM, incident_id=incident.id,
                                             instance_id=instance.id, kind="connector_failed")


def test_an_instance_reaching_its_end_is_reported(db, seen):
    diagram = FIXTURES / "bpmn" / "attente.bpmn"
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {diagram.name: diagram.read_bytes()}, source="cli")
    with transaction(db) as uow:
        instance = runtime.start_instance(uow, principal(uow, "demo-is"), "attente")
        case_id = instance.case_id
    with transaction(db) as uow:
        runtime.receive_message(uow, SYSTEM, name="reponse_partenaire",
                                correlation={"case_id": case_id}, payload={},
                                message_id="fin")
    [completed] = [e for e in seen if isinstance(e, events.InstanceCompleted)]
    assert completed.instance_id == instance.id and completed.process_id == "attente"
    assert completed.organisation_id is not None
    assert all(isinstance(v, int | str | type(None))
               for e in seen for k, v in dataclasses.asdict(e).items() if k != "actor")
