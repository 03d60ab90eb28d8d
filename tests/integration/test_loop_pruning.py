"""A standard loop's merged turns leave the saved workflow state (issue 16, growth) while
their history stays where people read it: the human-task rows, the case records and the
audit journal. The loop still counts its turns and ends as modelled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.audit.models import AuditEntry
from engine.audit.service import SYSTEM
from engine.cases.models import CaseRecord
from engine.db import transaction
from engine.identity import service as identity
from engine.runtime import service as runtime
from engine.runtime import spiff
from engine.runtime.models import HumanTask, Instance

BENCH = Path(__file__).parents[2] / "ops" / "bench"
TURNS = 12


def step(turn: int, continuing: bool = True) -> dict:
    return {"continuer": continuing, "date_point": "2026-11-20",
            "observations": f"Point n° {turn}"}


@pytest.fixture
def follow_up(db) -> int:
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"bench.bpmn": (BENCH / "bench.bpmn").read_bytes()},
                       source="cli", forms_dir=BENCH / "forms")
    with transaction(db) as uow:
        worker = identity.principal_for(identity.get_user(uow, "demo-is"))
        return runtime.start_instance(uow, worker, "bench_suivi").id


def complete_turn(db, instance_id: int, turn: int, continuing: bool = True) -> tuple[str, str]:
    """Complete the ready turn; (its task guid, the saved state afterwards)."""
    with transaction(db) as uow:
        worker = identity.principal_for(identity.get_user(uow, "demo-is"))
        row = uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "ready")).one()
        guid = row.task_guid
        instance = runtime.complete_task(uow, worker, row.id, step(turn, continuing))
        return guid, instance.state


def test_merged_turns_leave_the_state_and_stay_in_the_history(db, follow_up):
    sizes, guids = [], []
    for turn in range(1, TURNS + 1):
        guid, state = complete_turn(db, follow_up, turn)
        guids.append(guid)
        sizes.append(len(state))
    saved = json.loads(state)
    # No completed turn is kept in the tree; the loop still lists them (its turn count).
    assert not set(guids) & saved["tasks"].keys()
    loop = next(t for t in saved["tasks"].values() if t["internal_data"].get("merged"))
    assert loop["internal_data"]["merged"] == guids
    # The state no longer grows by a whole task per turn (~440 bytes): only the merged id.
    assert sizes[-1] - sizes[2] < 60 * (TURNS - 3)
    with db.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == follow_up).order_by(HumanTask.id)))
        assert [r.task_guid for r in rows if r.state == "completed"] == guids
        assert all(r.completed_by is not None and r.completed_at for r in rows
                   if r.state == "completed")
        assert uow.session.scalar(select(func.count(CaseRecord.id)).where(
            CaseRecord.instance_id == follow_up)) == TURNS
        completions = list(uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "runtime.task_completed",
            AuditEntry.subject_id == str(follow_up))))
        assert len(completions) == TURNS


def test_the_loop_still_ends_when_its_condition_says_so(db, follow_up):
    for turn in range(1, 4):
        complete_turn(db, follow_up, turn)
    complete_turn(db, follow_up, 4, continuing=False)
    with db.unit_of_work() as uow:
        instance = uow.session.get(Instance, follow_up)
        assert instance.status == "completed"
        assert uow.session.scalar(select(func.count(HumanTask.id)).where(
            HumanTask.instance_id == follow_up, HumanTask.state == "completed")) == 4


def test_without_pruning_the_state_would_keep_every_turn(db, follow_up, monkeypatch):
    """The negative: with pruning switched off, the completed turns are in the state."""
    monkeypatch.setattr(spiff, "prune_merged_turns", lambda workflow, dct: 0)
    guids = [complete_turn(db, follow_up, turn)[0] for turn in range(1, 4)]
    with db.unit_of_work() as uow:
        saved = json.loads(uow.session.get(Instance, follow_up).state)
    assert set(guids) <= saved["tasks"].keys()
