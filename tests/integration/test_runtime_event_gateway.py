"""An event-based gateway waits for whichever comes first, a message or a timer: SpiffWorkflow
reports it as one waiting task with a "multiple" event definition; the runtime correlates
messages to its catch events, schedules its timers, and stores the events it has seen."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import bearer
from sqlalchemy import select

from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.runtime import service as runtime
from engine.runtime.models import DueTimer, Instance

DIAGRAM = Path(__file__).parents[1] / "fixtures" / "bpmn" / "attente.bpmn"


def _started(client, db) -> tuple[dict, dict[str, str]]:
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {DIAGRAM.name: DIAGRAM.read_bytes()}, source="cli")
    headers = bearer(db, "demo-is")
    started = client.post("/api/v1/instances", json={"process_id": "attente"},
                          headers=headers)
    assert started.status_code == 201, started.get_json()
    return started.get_json(), headers


def test_the_message_wins_and_the_timer_is_dropped(client, db, clock):
    instance, headers = _started(client, db)
    with db.unit_of_work() as uow:
        [due] = uow.session.scalars(select(DueTimer).where(
            DueTimer.instance_id == instance["id"])).all()
        assert 7100 <= (due.due_at - clock.now()).total_seconds() <= 7200
    answer = client.post("/api/v1/messages", headers=headers, json={
        "name": "reponse_partenaire", "correlation": {"case_id": instance["case_id"]},
        "payload": {"accepte": True}, "message_id": "reponse-1"})
    assert answer.get_json() == {"status": "delivered", "delivered_to": instance["id"]}
    with db.unit_of_work() as uow:
        row = uow.session.get(Instance, instance["id"])
        assert row.status == "completed"
        assert "BpmnEvent" in row.state  # the gateway's seen event, serialized
        json.loads(row.state)
        assert uow.session.scalars(select(DueTimer)).all() == []


def test_the_timer_wins_when_no_message_comes(client, db, clock):
    instance, headers = _started(client, db)
    clock.advance(hours=3)
    with transaction(db) as uow:
        assert runtime.due_timers(uow) == [instance["id"]]
        runtime.fire_timers(uow, instance["id"])
    [task] = client.get("/api/v1/tasks", headers=headers).get_json()
    assert task["name"] == "Relancer"
    late = client.post("/api/v1/messages", headers=headers, json={
        "name": "reponse_partenaire", "correlation": {"case_id": instance["case_id"]},
        "payload": {}, "message_id": "reponse-2"})
    assert late.get_json()["status"] == "buffered"  # nobody waits for it any more
