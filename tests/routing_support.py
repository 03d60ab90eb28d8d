"""What the routing tests share: the transmission diagram, consents, the outbox, principals.

The transmission diagram (`fixtures/bpmn/transmission.bpmn`): the IS fills the protocol sheet
(`fixtures/forms/transmission_fiche.json`), `relais/transmit_document` sends
`fixtures/templates/fiche_transmission.docx` to asso-victimes-demo (role ASSOCIATION) for the
purpose `vc_transmission`, then the instance waits for the message `accuse_reception`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import docx
from sqlalchemy import select

from engine.audit.models import AuditEntry
from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.consent import service as consent
from engine.db import Database, transaction
from engine.identity import service as identity
from engine.identity.service import Principal
from engine.jobs import outbox
from engine.routing.models import Delivery
from engine.runtime import service as runtime
from engine.runtime.models import Instance, OutboxItem

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATES = FIXTURES / "templates"
DIAGRAM = {"transmission.bpmn": (FIXTURES / "bpmn" / "transmission.bpmn").read_bytes()}
PURPOSE = "vc_transmission"
CATEGORIES = ["ID", "OFF", "SOC"]
FICHE = {"nom": "Élodie Lefèvre-Noël", "date_faits": "2026-11-20", "lieu": "Domicile, Dijon",
         "violences": "economiques", "enfants_presents": True, "plainte": False,
         "observations": "Souhaite être rappelée « après 18 h »."}


def principal(uow, username: str) -> Principal:
    return identity.principal_for(identity.get_user(uow, username))


def deploy(db: Database) -> None:
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, DIAGRAM, source="cli", forms_dir=FIXTURES / "forms")


def start(db: Database, username: str = "demo-is") -> tuple[int, int]:
    """(instance id, case id) of a new transmission instance."""
    with transaction(db) as uow:
        instance = runtime.start_instance(uow, principal(uow, username), "transmission")
        return instance.id, instance.case_id


def record_consent(db: Database, case_id: int, username: str = "demo-is",
                   **overrides: Any) -> int:
    values: dict[str, Any] = {"purposes": [PURPOSE], "recipients": ["asso-victimes-demo"],
                              "categories": CATEGORIES, "channel": "oral"}
    values.update(overrides)
    with transaction(db) as uow:
        case = cases.get_case(uow, case_id)
        return consent.record_consent(uow, principal(uow, username), case, **values).id


def fill(db: Database, data: dict[str, Any] | None = None, username: str = "demo-is") -> None:
    with transaction(db) as uow:
        who = principal(uow, username)
        [task] = runtime.ready_tasks(uow, who)
        runtime.complete_task(uow, who, task.id, data or FICHE)


def run_outbox(db: Database) -> list[str]:
    """Run every pending outbox row once, as the worker would."""
    with db.unit_of_work() as uow:
        ids = list(uow.session.scalars(select(OutboxItem.id).where(
            OutboxItem.status == "pending").order_by(OutboxItem.id)))
    return [outbox.run_item(db, item_id) for item_id in ids]


def sent(db: Database, *, consent_first: bool = True) -> tuple[int, int, int]:
    """Deploy, start, consent, fill and relay: (instance id, case id, delivery id)."""
    deploy(db)
    instance_id, case_id = start(db)
    if consent_first:
        record_consent(db, case_id)
    fill(db)
    assert run_outbox(db) == ["done"]
    with db.unit_of_work() as uow:
        delivery_id = uow.session.scalars(select(Delivery.id)).one()
    return instance_id, case_id, delivery_id


def instance_status(db: Database, instance_id: int) -> str:
    with db.unit_of_work() as uow:
        return uow.session.get(Instance, instance_id).status


def actions(db: Database, action: str | None = None) -> list[AuditEntry]:
    with db.unit_of_work() as uow:
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        rows = list(uow.session.scalars(stmt))
        uow.session.expunge_all()
        return rows


def docx_text(content: bytes) -> str:
    """All the text of a docx: body paragraphs, table cells, headers and footers."""
    document = docx.Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs]
        parts += [p.text for p in section.footer.paragraphs]
    return "\n".join(parts)


def database_bytes(settings) -> bytes:
    """Everything the database holds at rest: the SQLite files, or a PostgreSQL data dump."""
    import subprocess

    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if settings.database_url.startswith("sqlite"):
        path = Path(url.database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    return subprocess.run(
        ["pg_dump", "--data-only", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", url.database or ""],
        check=True, capture_output=True, timeout=120).stdout
