"""The fixed cost of a step, counted in SQL statements (issue 16): one task completion of a
short protocol sends at most STEP_STATEMENTS statements — one UPDATE of the completed
human task, no timer DELETE and no message-index SELECT for an instance that has neither,
the deployed process version read once per process and database, not at every step."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, select

from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.identity import service as identity
from engine.runtime import service as runtime
from engine.runtime.models import HumanTask

BENCH = Path(__file__).parents[2] / "ops" / "bench"
# Measured 13 on both engines (17 before: two UPDATEs of the human task, the timer DELETE,
# the message-index SELECT and the process version's SELECT at every step).
STEP_STATEMENTS = 13


def data(turn: int) -> dict:
    return {"continuer": True, "date_point": "2026-11-20", "observations": f"Point {turn}"}


@pytest.fixture
def follow_up(db) -> int:
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"bench.bpmn": (BENCH / "bench.bpmn").read_bytes()},
                       source="cli", forms_dir=BENCH / "forms")
    with transaction(db) as uow:
        worker = identity.principal_for(identity.get_user(uow, "demo-is"))
        return runtime.start_instance(uow, worker, "bench_suivi").id


def complete(db, instance_id: int, turn: int) -> list[str]:
    """Complete the ready turn in its own transaction; the statements it sent."""
    with db.unit_of_work() as uow:
        worker = identity.principal_for(identity.get_user(uow, "demo-is"))
        task_id = uow.session.scalars(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "ready")).one()
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with transaction(db) as uow:
            runtime.complete_task(uow, worker, task_id, data(turn))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return sent


def test_one_completion_sends_at_most_the_budgeted_statements(db, follow_up):
    complete(db, follow_up, 1)  # the process version is now known to this database object
    sent = complete(db, follow_up, 2)
    assert len(sent) <= STEP_STATEMENTS, "\n".join(sent)
    assert sum(s.startswith("UPDATE human_task") for s in sent) == 1, sent
    assert not [s for s in sent if "due_timer" in s], sent
    assert not [s for s in sent if "message_wait" in s], sent
    assert not [s for s in sent if "FROM process_version" in s], sent


def test_the_first_step_of_a_database_object_reads_the_version_once(db, follow_up):
    """The negative: a fresh database object has no kept version and must read it."""
    db.immutable_rows.clear()
    first = complete(db, follow_up, 1)
    assert sum("FROM process_version" in s for s in first) == 1, first
    assert not [s for s in complete(db, follow_up, 2) if "FROM process_version" in s]


def test_the_completed_row_gets_every_field_in_its_one_update(db, follow_up):
    complete(db, follow_up, 1)
    with db.unit_of_work() as uow:
        done = uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == follow_up, HumanTask.state == "completed")).one()
        assert done.completed_by is not None and done.completed_at is not None
