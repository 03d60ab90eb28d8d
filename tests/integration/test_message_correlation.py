"""Messages find their instance through the correlation index, never by scanning instances
(issue 16, item 2): rows are written when an instance starts waiting for a message and
removed when it stops."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.identity import service as identity
from engine.runtime import execution, messages
from engine.runtime import service as runtime
from engine.runtime.models import Instance, MessageWait

FIXTURES = Path(__file__).parents[1] / "fixtures"
DIAGRAM = FIXTURES / "bpmn" / "reference.bpmn"


def fiche(day: int) -> dict[str, str]:
    return {"gravite": "basse", "recit": "un récit", "date_faits": f"2026-11-{day:02d}",
            "organisation_ASSOCIATION": "asso-victimes-demo"}


@pytest.fixture
def started(db) -> list[int]:
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {DIAGRAM.name: DIAGRAM.read_bytes()}, source="cli",
                       forms_dir=FIXTURES / "forms")
    ids = []
    for day in range(1, 6):
        with transaction(db) as uow:
            worker = identity.principal_for(identity.get_user(uow, "demo-is"))
            instance = runtime.start_instance(uow, worker, "reference")
            [task] = [t for t in runtime.ready_tasks(uow, worker)
                      if t.instance_id == instance.id]
            runtime.complete_task(uow, worker, task.id, fiche(day))
            ids.append(instance.id)
    return ids


def day_of(started: list[int], instance_id: int) -> str:
    return f"2026-11-{started.index(instance_id) + 1:02d}"


def waits(db, instance_id: int) -> set[tuple[str, str, str]]:
    with db.unit_of_work() as uow:
        return {(w.name, w.key, w.value) for w in uow.session.scalars(
            select(MessageWait).where(MessageWait.instance_id == instance_id))}


def post(db, correlation: dict, message_id: str) -> int | None:
    with transaction(db) as uow:
        _message, delivered = runtime.receive_message(
            uow, SYSTEM, name="retour_partenaire", correlation=correlation,
            payload={"suite": "acceptee"}, message_id=message_id)
    return delivered


def test_an_instance_waiting_for_a_message_is_indexed_by_its_keys(db, started):
    target = started[2]
    indexed = waits(db, target)
    assert ("retour_partenaire", "date_faits", f'"{day_of(started, target)}"') in indexed
    assert ("retour_partenaire", "instance_id", str(target)) in indexed


def test_a_message_naming_neither_case_nor_instance_loads_only_its_instance(
        db, started, monkeypatch):
    target = started[3]
    loaded: list[int] = []
    real_load = execution.load

    def counting_load(uow, instance):
        loaded.append(instance.id)
        return real_load(uow, instance)

    monkeypatch.setattr(messages, "load", counting_load)
    assert post(db, {"date_faits": day_of(started, target)}, "retour-1") == target
    assert loaded == [target]  # one candidate from the index: no instance scanned
    with db.unit_of_work() as uow:
        statuses = {i.id: i.status for i in uow.session.scalars(select(Instance))
                    if i.id in started}
    assert statuses[target] == "completed"
    assert [s for iid, s in statuses.items() if iid != target] == ["running"] * 4
    assert waits(db, target) == set()  # it stopped waiting: its rows are gone


def test_no_match_and_partial_matches_deliver_nothing(db, started):
    assert post(db, {"date_faits": "2026-10-31"}, "retour-2") is None
    assert post(db, {"date_faits": day_of(started, started[0]),
                     "instance_id": started[1]}, "retour-3") is None
    assert post(db, {"date_faits": day_of(started, started[0]),
                     "instance_id": started[0]}, "retour-4") == started[0]


def test_a_terminated_instance_no_longer_waits(db, started):
    with transaction(db) as uow:
        admin = identity.principal_for(identity.get_user(uow, "demo-admin"))
        runtime.set_status(uow, admin, started[1], "terminate")
    assert waits(db, started[1]) == set()
    assert post(db, {"instance_id": started[1]}, "retour-5") is None


def test_the_scan_of_running_instances_is_gone():
    source = Path(messages.__file__).read_text()
    assert "Instance.status == RUNNING" not in source
    assert "select(Instance)" not in source

