"""Cancelling pending service tasks at another domain's request.

The outbox rows are the runtime's: another domain (routing, when a consent is withdrawn or a
case destroyed) decides WHICH pending service tasks must not run and asks the runtime to
cancel them here; it never writes the rows itself.

Guarantees:
- `pending_service_tasks` lists the still-pending rows of one operator for a case's
  instances, with their parameters and the instance's bound lanes (role → organisation id),
  oldest first; on PostgreSQL the rows are locked, so a worker's attempt and a cancellation
  queue instead of both happening.
- `cancel_service_task` cancels a row that is still pending (else does nothing and answers
  False) and opens an incident on its instance with the French explanation, in the caller's
  unit of work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.runtime import service as runtime
from engine.runtime.models import Instance, OutboxItem

PENDING, CANCELLED = "pending", "cancelled"


@dataclass(frozen=True)
class PendingServiceTask:
    """A service task waiting in the outbox: its row, instance, parameters and lanes."""

    outbox_id: int
    instance_id: int
    params: dict[str, Any]
    lanes: dict[str, int]


def pending_service_tasks(uow: UnitOfWork, case_id: int,
                          operator: str) -> list[PendingServiceTask]:
    """The pending rows of `operator` for the instances of `case_id`, oldest first."""
    stmt = (select(OutboxItem, Instance).join(Instance, Instance.id == OutboxItem.instance_id)
            .where(OutboxItem.status == PENDING, OutboxItem.operator == operator,
                   Instance.case_id == case_id).order_by(OutboxItem.id))
    if uow.dialect == "postgresql":  # the worker's attempt and this cancellation queue
        stmt = stmt.with_for_update(of=OutboxItem)
    return [PendingServiceTask(item.id, instance.id, json.loads(item.params),
                               {role: int(org) for role, org
                                in json.loads(instance.lanes or "{}").items()})
            for item, instance in uow.session.execute(stmt)]


def cancel_service_task(uow: UnitOfWork, outbox_id: int, *, reason: str, note: str,
                        explanation: str, incident_kind: str) -> bool:
    """Cancel the pending row `outbox_id`: `last_error` becomes "`reason`: `note`", and an
    incident of `incident_kind` tells administrators `explanation` (French). False when the
    row is no longer pending (already run or cancelled)."""
    item = uow.session.get(OutboxItem, outbox_id)
    if item is None or item.status != PENDING:
        return False
    item.status, item.done_at = CANCELLED, uow.now()
    item.last_error = f"{reason}: {note}"
    runtime.service_task_failed(uow, item, explanation, None, kind=incident_kind)
    return True
