"""Two people (or two tabs) complete the same task at once: one wins, every other request
gets 409 and a problem document — never 500 (issue 9, item 8).

20 requests are released together against the Flask application, each thread with its own
client and unit of work, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from helpers import bearer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from engine.audit.service import SYSTEM
from engine.db import UnitOfWork, transaction
from engine.runtime import service as runtime
from engine.runtime.models import HumanTask, Instance

FIXTURES = Path(__file__).parents[1] / "fixtures"
FICHE = {"gravite": "haute", "recit": "un récit", "organisation_ASSOCIATION": "asso-victimes-demo"}
REQUESTS = 20


@pytest.fixture
def ready_task(client, db):
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"essai.bpmn": (FIXTURES / "bpmn" / "essai.bpmn").read_bytes()},
                       source="cli", forms_dir=FIXTURES / "forms")
    headers = bearer(db, "demo-is")
    started = client.post("/api/v1/instances", json={"process_id": "essai"}, headers=headers)
    assert started.status_code == 201
    [task] = client.get("/api/v1/tasks", headers=headers).get_json()
    return headers, task["id"]


def test_simultaneous_completions_of_one_task_answer_one_200_and_409s(app, db, ready_task):
    headers, task_id = ready_task
    release = threading.Barrier(REQUESTS)
    answers: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def complete() -> None:
        client = app.test_client()
        release.wait()
        response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": FICHE},
                               headers=headers)
        body = response.get_json(silent=True) or {}
        with lock:
            answers.append((response.status_code, body.get("code")))

    threads = [threading.Thread(target=complete) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = sorted(status for status, _code in answers)
    assert len(answers) == REQUESTS
    assert statuses == [200] + [409] * (REQUESTS - 1), answers
    assert {code for status, code in answers if status == 409} <= {
        "stale_instance", "task_already_completed"}
    with db.unit_of_work() as uow:
        row = uow.session.get(HumanTask, task_id)
        assert row.state == "completed" and row.completed_by is not None


@pytest.mark.parametrize("error", [StaleDataError("0 rows matched"),
                                   IntegrityError("INSERT", {}, Exception("duplicate key"))])
def test_a_conflict_found_only_at_commit_is_a_409_too(client, ready_task, monkeypatch, error):
    # Audit rows written at commit (or any deferred flush) may be where the race shows.
    headers, task_id = ready_task

    real_commit = UnitOfWork.commit

    def commit_loses_the_race(self: UnitOfWork) -> None:
        if any(isinstance(obj, Instance) for obj in self.session.identity_map.values()):
            raise error  # the step's commit (the token check commits before, untouched)
        real_commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", commit_loses_the_race)
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": FICHE},
                           headers=headers)
    assert response.status_code == 409 and response.get_json()["code"] == "stale_instance"
    monkeypatch.undo()
    assert client.get("/api/v1/tasks", headers=headers).get_json()[0]["id"] == task_id
