"""« Classer dans un dossier »: a received document filed into a dossier of the organisation,
an existing one (the same person's, found like any situation) or a new one.

Filing runs the organisation's own protocol on that dossier, as a professional would by
hand: it starts the protocol on the chosen situation (a new one when none is chosen) and
answers its first steps (« classer », then the delivery's number) for them, so the filing is
the protocol's — its connector copies the document into the dossier and acknowledges it.
Which protocol files which document is declared below by the delivery's purpose.

Guarantees: only a delivery of the principal's inbox, not yet filed, of a purpose some
protocol files, into a situation the principal sees (404 for any other, as for an unknown
one); the runtime checks the principal may start the protocol and validates each answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.cases import service as cases
from engine.db import UnitOfWork
from engine.dossiers.models import Piece
from engine.errors import Conflict, NotFound
from engine.identity.service import Principal
from engine.routing import service as routing
from engine.runtime import service as runtime
from engine.runtime.models import HumanTask, Instance, OutboxItem

FILE_OPERATOR = "relais/file_delivery"


@dataclass(frozen=True)
class Filing:
    process_id: str
    steps: tuple[tuple[str, dict[str, Any]], ...]  # (form, answers); "{delivery}" → its id


FILINGS = {
    "vc_transmission": Filing("violence_conjugale_dossier", (
        ("vcd_demande.json", {"action": "classer"}),
        ("vcd_classement.json", {"envoi": "{delivery}"}))),
}


def purposes_filed_by(uow: UnitOfWork, principal: Principal) -> set[str]:
    """The delivery purposes whose filing protocol the principal may start: the inbox offers
    « Classer dans un dossier » for deliveries of these purposes not yet filed."""
    startable: set[str] = set()
    for process_id in {f.process_id for f in FILINGS.values()}:
        try:
            if runtime.can_start(principal, runtime.latest_version(uow, process_id)):
                startable.add(process_id)
        except NotFound:  # the protocol is not deployed here
            continue
    return {purpose for purpose, f in FILINGS.items() if f.process_id in startable}


def receivable(uow: UnitOfWork, principal: Principal, delivery_id: int) -> dict[str, Any]:
    """The delivery as the inbox shows it, if the principal may file it (else 404/409)."""
    found = [d for d in routing.inbox(uow, principal, limit=1000) if d["id"] == delivery_id]
    if not found or found[0].get("purpose") not in FILINGS:
        raise NotFound("Document reçu introuvable.", code="delivery_not_found")
    if uow.session.scalars(select(Piece.id).where(Piece.delivery_id == delivery_id)).first() \
            or delivery_id in being_filed(uow):
        raise Conflict("Ce document est déjà classé dans un dossier.", code="already_filed")
    return found[0]


def being_filed(uow: UnitOfWork) -> set[int]:
    """Deliveries whose filing waits in the outbox (filed, not yet copied): not twice."""
    params = uow.session.scalars(select(OutboxItem.params).where(
        OutboxItem.operator == FILE_OPERATOR, OutboxItem.status == "pending"))
    return {p["delivery"] for p in map(json.loads, params) if isinstance(p.get("delivery"), int)}


def file_delivery(uow: UnitOfWork, principal: Principal, delivery_id: int,
                  case_id: int | None) -> Instance:
    """File the delivery into the situation `case_id` (a new one when None); returns the
    filing protocol's instance (its connector files and acknowledges in the outbox)."""
    delivery = receivable(uow, principal, delivery_id)
    filing = FILINGS[delivery["purpose"]]
    case = cases.visible_case(uow, principal, case_id) if case_id is not None else None
    instance = runtime.start_instance(uow, principal, filing.process_id,
                                      case.id if case is not None else None)
    for form, answers in filing.steps:
        task = uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.state == "ready",
            HumanTask.form == form)).first()
        if task is None:
            raise Conflict("Le protocole de classement n'attend pas l'étape prévue : "
                           "signalez-le à l'administrateur.", code="filing_step_missing")
        data = {k: delivery_id if v == "{delivery}" else v for k, v in answers.items()}
        instance = runtime.complete_task(uow, principal, task.id, data)
    return instance
