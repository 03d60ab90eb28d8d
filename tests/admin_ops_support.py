"""What the administration console's tests of keys, audit log and operations share: a
protocol instance stuck on an incident (its connector failed every attempt), an instance
running, a tampered audit row."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import select, text

from engine.audit.service import SYSTEM
from engine.db import Database, transaction
from engine.identity import service as identity
from engine.jobs import outbox
from engine.runtime import connectors
from engine.runtime import service as runtime
from engine.runtime.models import OutboxItem

FIXTURES = Path(__file__).parent / "fixtures"
ESSAI = (FIXTURES / "bpmn" / "essai.bpmn").read_bytes()
FICHE = {"gravite": "haute", "recit": "r", "organisation_ASSOCIATION": "asso-victimes-demo"}


def principal(uow, username: str):
    return identity.principal_for(identity.get_user(uow, username))


def start_essai(db: Database) -> int:
    """The test protocol `essai` deployed (once) and started by demo-is: its instance id."""
    with transaction(db) as uow:
        if not runtime.already_deployed(uow, {"essai.bpmn": ESSAI}):
            runtime.deploy(uow, SYSTEM, {"essai.bpmn": ESSAI}, source="cli",
                           forms_dir=FIXTURES / "forms")
    with transaction(db) as uow:
        return runtime.start_instance(uow, principal(uow, "demo-is"), "essai").id


def stuck_on_incident(db: Database, monkeypatch) -> tuple[int, int]:
    """(instance id, outbox item id): the instance's connector failed every attempt, so an
    incident is open; the connector works again when this returns."""
    iid = start_essai(db)
    with transaction(db) as uow:
        who = principal(uow, "demo-is")
        [task] = runtime.ready_tasks(uow, who)
        runtime.complete_task(uow, who, task.id, FICHE)
    echo = connectors.get("relais/echo")

    def broken(_params):
        raise ConnectionError("partenaire injoignable")

    monkeypatch.setitem(connectors._REGISTRY, "relais/echo", dataclasses.replace(echo, run=broken))
    with db.unit_of_work() as uow:
        item_id = uow.session.scalars(select(OutboxItem.id).where(
            OutboxItem.instance_id == iid)).one()
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.run_item(db, item_id)
    monkeypatch.setitem(connectors._REGISTRY, "relais/echo", echo)
    return iid, item_id


def asso_tasks(db: Database) -> list[str]:
    with db.unit_of_work() as uow:
        return [t.spec_name for t in runtime.ready_tasks(uow, principal(uow, "demo-asso"))]


def tamper(db: Database, seq: int) -> None:
    """Edit one audit row as a privileged attacker would (bypassing PostgreSQL's trigger)."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text("UPDATE audit_entry SET action = 'identity.nothing' WHERE seq = :s"),
                     {"s": seq})
