"""A protocol runs through the service layer: forms, lanes, service tasks, timers, messages."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.audit.service import SYSTEM
from engine.cases.models import CaseRecord
from engine.db import transaction
from engine.errors import Conflict, Invalid, NotFound
from engine.identity import service as identity
from engine.jobs import outbox
from engine.runtime import service as runtime
from engine.runtime.models import DueTimer, HumanTask, Instance, OutboxItem

FIXTURES = Path(__file__).parents[1] / "fixtures"
DIAGRAM = {"essai.bpmn": (FIXTURES / "bpmn" / "essai.bpmn").read_bytes()}
MARKER = "MARQUEUR-RECIT-7f3a9c"


def principal(uow, username):
    return identity.principal_for(identity.get_user(uow, username))


@pytest.fixture
def deployed(db):
    with transaction(db) as uow:
        versions = runtime.deploy(uow, SYSTEM, DIAGRAM, source="cli",
                                  forms_dir=FIXTURES / "forms")
    return versions[0]


def start(db, username="demo-is"):
    with transaction(db) as uow:
        return runtime.start_instance(uow, principal(uow, username), "essai").id


def ready(db, username):
    with db.unit_of_work() as uow:
        return [(t.id, t.spec_name) for t in runtime.ready_tasks(uow, principal(uow, username))]


def complete(db, username, task_id, data=None, expected_version=None):
    with transaction(db) as uow:
        runtime.complete_task(uow, principal(uow, username), task_id, data, expected_version)


def instance(db, instance_id):
    """A detached snapshot of the instance row."""
    with db.unit_of_work() as uow:
        row = uow.session.get(Instance, instance_id)
        return SimpleNamespace(version=row.version, state=row.state, status=row.status,
                               case_id=row.case_id)


FICHE_HAUTE = {"gravite": "haute", "recit": MARKER, "date_faits": "2026-11-20",
               "organisation_ASSOCIATION": "asso-victimes-demo"}


def test_identical_content_deploys_once(db, deployed):
    with transaction(db) as uow:
        again = runtime.deploy(uow, SYSTEM, DIAGRAM, source="api", forms_dir=FIXTURES / "forms")
    assert [v.id for v in again] == [deployed.id]
    assert deployed.version == 1 and deployed.starter_role == "IS"


def test_only_the_starter_role_may_start(db, deployed):
    with transaction(db) as uow, pytest.raises(Exception, match="rôle"):
        runtime.start_instance(uow, principal(uow, "demo-asso"), "essai")
    with transaction(db) as uow, pytest.raises(NotFound):
        runtime.start_instance(uow, principal(uow, "demo-is"), "inconnu")


def test_a_task_is_visible_only_to_its_role_in_its_organisation(db, deployed):
    start(db)
    assert [name for _id, name in ready(db, "demo-is")] == ["fiche"]
    assert ready(db, "demo-asso") == [] and ready(db, "demo-cmp") == []
    task_id = ready(db, "demo-is")[0][0]
    with pytest.raises(NotFound):
        complete(db, "demo-asso", task_id, FICHE_HAUTE)


def test_invalid_submission_is_refused_in_french_and_changes_nothing(db, deployed):
    iid = start(db)
    task_id = ready(db, "demo-is")[0][0]
    before = instance(db, iid).version
    with pytest.raises(Invalid) as refused:
        complete(db, "demo-is", task_id, {"gravite": "extrême", "date_faits": "20/11/2026",
                                          "intrus": 1})
    fields = {e["field"]: e["message"] for e in refused.value.errors}
    assert "Valeur non autorisée" in fields["gravite"]
    assert "Date invalide" in fields["date_faits"]
    assert fields["recit"] == "Ce champ est obligatoire."
    assert "intrus" in fields
    assert instance(db, iid).version == before
    with db.unit_of_work() as uow:
        assert uow.session.scalars(select(CaseRecord)).all() == []


def test_high_path_runs_connector_through_outbox_binds_partner_lane_and_waits_for_message(
        db, deployed):
    iid = start(db)
    fiche = ready(db, "demo-is")[0][0]
    complete(db, "demo-is", fiche, FICHE_HAUTE)

    # The submission is encrypted in the case; only routing values reach workflow state.
    state = instance(db, iid).state
    assert MARKER not in state and '"gravite":"haute"' in state
    with db.unit_of_work() as uow:
        record = uow.session.scalars(select(CaseRecord)).one()
        assert MARKER.encode() not in record.ciphertext
        item = uow.session.scalars(select(OutboxItem)).one()
        assert item.status == "pending" and item.operator == "relais/echo"
        item_id = item.id
    assert ready(db, "demo-asso") == []  # waits for the connector

    assert outbox.run_item(db, item_id) == "done"
    assert outbox.run_item(db, item_id) == "skipped"  # idempotent: a redelivery does nothing
    accuse = ready(db, "demo-asso")
    assert [name for _id, name in accuse] == ["accuse"]
    complete(db, "demo-asso", accuse[0][0])

    case_id = instance(db, iid).case_id
    with transaction(db) as uow:  # wrong correlation: buffered, nothing completes
        _msg, delivered = runtime.receive_message(uow, SYSTEM, name="retour",
                                                  correlation={"case_id": case_id + 999},
                                                  payload={}, message_id="m-1")
    assert delivered is None and instance(db, iid).status == "running"
    with transaction(db) as uow:
        _msg, delivered = runtime.receive_message(uow, SYSTEM, name="retour",
                                                  correlation={"case_id": case_id},
                                                  payload={"ok": True}, message_id="m-2")
    assert delivered == iid
    assert instance(db, iid).status == "completed"
    with transaction(db) as uow:  # the same message id again is ignored
        msg, delivered = runtime.receive_message(uow, SYSTEM, name="retour",
                                                 correlation={"case_id": case_id},
                                                 payload={}, message_id="m-2")
    assert msg is None and delivered is None


def test_double_and_stale_completions_conflict_and_change_nothing(db, deployed):
    iid = start(db)
    fiche = ready(db, "demo-is")[0][0]
    stale = instance(db, iid).version
    with pytest.raises(Conflict):
        complete(db, "demo-is", fiche, FICHE_HAUTE, expected_version=stale + 7)
    complete(db, "demo-is", fiche, FICHE_HAUTE, expected_version=stale)
    after = instance(db, iid)
    with pytest.raises(Conflict):
        complete(db, "demo-is", fiche, FICHE_HAUTE)
    assert instance(db, iid).version == after.version


def test_lost_update_between_two_sessions_is_a_conflict(db, deployed):
    iid = start(db)
    fiche = ready(db, "demo-is")[0][0]
    first, second = db.unit_of_work(), db.unit_of_work()
    try:
        p1, p2 = principal(first, "demo-is"), principal(second, "demo-is")
        second.session.get(Instance, iid)  # both read the same version
        runtime.complete_task(first, p1, fiche, FICHE_HAUTE)
        first.commit()
        with pytest.raises(Conflict):
            runtime.complete_task(second, p2, fiche, FICHE_HAUTE)
    finally:
        first.close()
        second.close()
    with db.unit_of_work() as uow:
        assert len(uow.session.scalars(select(CaseRecord)).all()) == 1


def test_sla_boundary_timer_fires_with_the_injected_clock(db, deployed, clock):
    iid = start(db)
    complete(db, "demo-is", ready(db, "demo-is")[0][0], FICHE_HAUTE)
    with db.unit_of_work() as uow:
        item_id = uow.session.scalars(select(OutboxItem.id)).one()
    outbox.run_item(db, item_id)
    with db.unit_of_work() as uow:
        assert runtime.due_timers(uow) == []
        assert uow.session.scalars(select(DueTimer)).one().instance_id == iid
    clock.advance(days=5, minutes=1)
    with transaction(db) as uow:
        assert runtime.due_timers(uow) == [iid]
        runtime.fire_timers(uow, iid)
    assert [name for _i, name in ready(db, "demo-is")] == ["relance"]
    assert ready(db, "demo-asso") == []  # the interrupted task is cancelled
    with db.unit_of_work() as uow:
        states = {t.spec_name: t.state for t in uow.session.scalars(select(HumanTask))}
    assert states["accuse"] == "cancelled"


def test_intermediate_timer_waits_then_completes(db, deployed, clock):
    iid = start(db)
    complete(db, "demo-is", ready(db, "demo-is")[0][0],
             {**FICHE_HAUTE, "gravite": "basse"})
    clock.advance(minutes=30)
    with transaction(db) as uow:
        assert runtime.due_timers(uow) == []
    clock.advance(minutes=31)
    with transaction(db) as uow:
        for due in runtime.due_timers(uow):
            runtime.fire_timers(uow, due)
    assert instance(db, iid).status == "completed"


def test_connector_failures_retry_then_open_an_incident(db, deployed, monkeypatch):
    from engine.runtime import connectors

    iid = start(db)
    complete(db, "demo-is", ready(db, "demo-is")[0][0], FICHE_HAUTE)
    echo = connectors.get("relais/echo")

    def broken(_params):
        raise RuntimeError("panne simulée")

    monkeypatch.setitem(connectors._REGISTRY, "relais/echo",
                        dataclasses.replace(echo, run=broken))
    with db.unit_of_work() as uow:
        item_id = uow.session.scalars(select(OutboxItem.id)).one()
    outcomes = [outbox.run_item(db, item_id) for _ in range(outbox.MAX_ATTEMPTS)]
    assert outcomes == ["retry"] * (outbox.MAX_ATTEMPTS - 1) + ["failed"]
    with db.unit_of_work() as uow:
        admin = principal(uow, "demo-admin")
        incidents = runtime.open_incidents(uow, admin)
        assert [(i.instance_id, i.kind) for i in incidents] == [(iid, "connector_failed")]
        assert "panne simulée" in incidents[0].traceback
        assert json.loads(uow.session.get(OutboxItem, item_id).params) == {"message": "alerte"}


def test_a_message_sent_before_anyone_waits_is_buffered_then_delivered(db, deployed, clock):
    iid = start(db)
    case_id = instance(db, iid).case_id
    with transaction(db) as uow:  # arrives early: the instance is still at the form
        _msg, delivered = runtime.receive_message(uow, SYSTEM, name="retour",
                                                  correlation={"case_id": case_id},
                                                  payload={}, message_id="tot")
    assert delivered is None
    complete(db, "demo-is", ready(db, "demo-is")[0][0], FICHE_HAUTE)
    with db.unit_of_work() as uow:
        item_id = uow.session.scalars(select(OutboxItem.id)).one()
    outbox.run_item(db, item_id)
    complete(db, "demo-asso", ready(db, "demo-asso")[0][0])
    assert instance(db, iid).status == "completed"  # the buffered message was caught


def test_an_expired_buffered_message_is_not_delivered(db, deployed, clock):
    iid = start(db)
    case_id = instance(db, iid).case_id
    with transaction(db) as uow:
        runtime.receive_message(uow, SYSTEM, name="retour", correlation={"case_id": case_id},
                                payload={}, message_id="perime")
    clock.advance(days=8)
    complete(db, "demo-is", ready(db, "demo-is")[0][0], FICHE_HAUTE)
    with db.unit_of_work() as uow:
        item_id = uow.session.scalars(select(OutboxItem.id)).one()
    outbox.run_item(db, item_id)
    complete(db, "demo-asso", ready(db, "demo-asso")[0][0])
    assert instance(db, iid).status == "running"
