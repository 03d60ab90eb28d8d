"""Transactional connectors: their effect and the resumption commit together, or neither."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import select

from engine.audit import service as audit
from engine.audit.models import AuditEntry
from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.errors import RelaisError
from engine.identity import service as identity
from engine.jobs import outbox
from engine.runtime import connectors
from engine.runtime import service as runtime
from engine.runtime.models import Incident, OutboxItem

FIXTURES = Path(__file__).parents[1] / "fixtures"
FICHE = {"gravite": "haute", "recit": "r", "organisation_ASSOCIATION": "asso-victimes-demo"}


def _started_service_task(db) -> int:
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"essai.bpmn": (FIXTURES / "bpmn" / "essai.bpmn").read_bytes()},
                       source="cli", forms_dir=FIXTURES / "forms")
    with transaction(db) as uow:
        is_ = identity.principal_for(identity.get_user(uow, "demo-is"))
        runtime.start_instance(uow, is_, "essai")
        [task] = runtime.ready_tasks(uow, is_)
        runtime.complete_task(uow, is_, task.id, FICHE)
    with db.unit_of_work() as uow:
        return uow.session.scalars(select(OutboxItem.id)).one()


def _actions(db) -> list[str]:
    with db.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEntry.action)))


def test_effect_and_resumption_commit_together(db, monkeypatch):
    seen = []

    def effect(context, params):
        seen.append((context.case_id > 0, context.outbox_id, params["message"]))
        audit.append(context.uow, SYSTEM, "test.connector_effect", subject_type="case",
                     subject_id=context.case_id)
        return {"ok": True}

    echo = connectors.get("relais/echo")
    monkeypatch.setitem(connectors._REGISTRY, "relais/echo",
                        dataclasses.replace(echo, run=None, run_in_transaction=effect))
    item_id = _started_service_task(db)
    assert outbox.run_item(db, item_id) == "done"
    assert outbox.run_item(db, item_id) == "skipped"
    assert seen == [(True, item_id, "alerte")]
    assert _actions(db).count("test.connector_effect") == 1
    assert "runtime.service_task_completed" in _actions(db)


def test_a_crash_inside_rolls_back_the_effect_and_retries(db, monkeypatch):
    def effect(context, params):
        audit.append(context.uow, SYSTEM, "test.connector_effect")
        raise RuntimeError("coupure")

    echo = connectors.get("relais/echo")
    monkeypatch.setitem(connectors._REGISTRY, "relais/echo",
                        dataclasses.replace(echo, run=None, run_in_transaction=effect))
    item_id = _started_service_task(db)
    assert outbox.run_item(db, item_id) == "retry"
    assert "test.connector_effect" not in _actions(db)
    with db.unit_of_work() as uow:
        assert uow.session.get(OutboxItem, item_id).status == "pending"


def test_a_refusal_is_audited_and_opens_an_incident_without_retrying(db, monkeypatch):
    def refuse(context, params):
        raise RelaisError("Aucun consentement ne couvre cette transmission.",
                          code="consent_missing", status=403)

    echo = connectors.get("relais/echo")
    monkeypatch.setitem(connectors._REGISTRY, "relais/echo",
                        dataclasses.replace(echo, run=None, run_in_transaction=refuse))
    item_id = _started_service_task(db)
    assert outbox.run_item(db, item_id) == "refused"
    assert outbox.run_item(db, item_id) == "skipped"
    with db.unit_of_work() as uow:
        item = uow.session.get(OutboxItem, item_id)
        assert item.status == "failed" and item.attempts == 1
        incident = uow.session.scalars(select(Incident)).one()
        assert incident.kind == "connector_refused" and "consentement" in incident.error
        refused = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "runtime.connector_refused")).one()
        assert '"code":"consent_missing"' in refused.details


def test_a_conflict_while_resuming_is_retried_not_refused(db, monkeypatch):
    from engine.errors import Conflict

    def collide(context, params):
        raise Conflict("modifié entre-temps", code="stale_instance")

    echo = connectors.get("relais/echo")
    monkeypatch.setitem(connectors._REGISTRY, "relais/echo",
                        dataclasses.replace(echo, run=None, run_in_transaction=collide))
    item_id = _started_service_task(db)
    assert outbox.run_item(db, item_id) == "retry"
    with db.unit_of_work() as uow:
        assert uow.session.get(OutboxItem, item_id).status == "pending"
        assert uow.session.scalars(select(Incident)).all() == []
