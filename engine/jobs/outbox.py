"""The transactional outbox: rows written by services, relayed to actors, run idempotently.

Guarantees (at least once to the actor, exactly once in effect):
- `claim_due` hands out pending rows whose time has come and leases them for `lease()`, so a
  row is re-sent only if its actor did not finish (worker killed, broker lost the message).
  On PostgreSQL rows are claimed with FOR UPDATE SKIP LOCKED: concurrent relays never share one.
- An attempt holds the row's lease while it runs: a duplicate message arriving meanwhile (a
  broker redelivery) is skipped instead of running the connector a second time. Once the
  lease has expired the attempt is presumed dead and the relay hands the row out again, so
  RELAIS_OUTBOX_LEASE_SECONDS must exceed the longest connector run.
- `run_item` locks its row, skips it if already done, runs the connector, and commits the
  connector's effect (resuming the instance) together with `status = done`.
- Failures retry with exponential backoff; after MAX_ATTEMPTS the instance gets an incident.
- Rows that ran (`done`) are purged by the scheduler once `retention()` has passed
  (`purge_finished`); failed and cancelled rows stay (an incident names them), and so does
  the newest row, so that no id is ever handed out twice (SQLite reuses the largest id + 1).
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from datetime import timedelta

from sqlalchemy import delete, func, select

from engine.audit import service as audit
from engine.audit.service import SYSTEM
from engine.db import Database, UnitOfWork, transaction
from engine.errors import Conflict, RelaisError
from engine.runtime import connectors
from engine.runtime import service as runtime
from engine.runtime.models import Instance, OutboxItem

log = logging.getLogger("relais.jobs")

MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 5


def lease() -> timedelta:
    return timedelta(seconds=int(os.environ.get("RELAIS_OUTBOX_LEASE_SECONDS", "120")))


def retention() -> timedelta:
    """How long a finished row is kept for diagnosis (RELAIS_OUTBOX_RETENTION_DAYS, 7)."""
    return timedelta(days=int(os.environ.get("RELAIS_OUTBOX_RETENTION_DAYS", "7")))


def purge_finished(uow: UnitOfWork, keep: timedelta | None = None, limit: int = 5000) -> int:
    """Delete up to `limit` rows done for longer than `keep` (default `retention()`); the
    number deleted. Their effect is kept where it belongs (the instance, the delivery, the
    audit rows); a finished row only made every claim walk past it."""
    cutoff = uow.now() - (keep if keep is not None else retention())
    newest = uow.session.scalar(select(func.max(OutboxItem.id)))
    if newest is None:
        return 0
    ids = list(uow.session.scalars(
        select(OutboxItem.id).where(OutboxItem.status == "done", OutboxItem.done_at < cutoff,
                                    OutboxItem.id < newest)
        .order_by(OutboxItem.id).limit(limit)))
    if ids:
        uow.session.execute(delete(OutboxItem).where(OutboxItem.id.in_(ids)))
    return len(ids)


def claim_due(uow: UnitOfWork, limit: int = 100) -> list[int]:
    """Lease due rows and return their ids, to be sent to the actor after commit."""
    now = uow.now()
    stmt = (select(OutboxItem)
            .where(OutboxItem.status.in_(("pending", "running")),
                   OutboxItem.next_attempt_at <= now)
            .order_by(OutboxItem.next_attempt_at, OutboxItem.id).limit(limit))
    if uow.dialect == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    items = list(uow.session.scalars(stmt))
    for item in items:
        # A "running" row here outlived its lease: its attempt is presumed dead.
        item.status, item.next_attempt_at = "pending", now + lease()
    return [item.id for item in items]


def _lock(uow: UnitOfWork, item_id: int) -> OutboxItem | None:
    stmt = select(OutboxItem).where(OutboxItem.id == item_id)
    if uow.dialect == "postgresql":
        stmt = stmt.with_for_update()
    return uow.session.scalars(stmt).first()


def _start_attempt(db: Database, item_id: int) -> OutboxItem | None:
    """Count the attempt in its own commit, so a crash mid-run is still counted."""
    with transaction(db) as uow:
        item = _lock(uow, item_id)
        if item is None or item.status in ("done", "cancelled", "failed"):
            return None
        if item.status == "running" and item.next_attempt_at > uow.now():
            return None  # a live attempt holds the lease: this delivery is a duplicate
        item.status, item.attempts = "running", item.attempts + 1
        item.next_attempt_at = uow.now() + lease()
        return item


def run_item(db: Database, item_id: int) -> str:
    """Run one outbox row; returns what happened (for logs and tests)."""
    started = _start_attempt(db, item_id)
    if started is None:
        return "skipped"
    params = json.loads(started.params)
    try:
        connector = connectors.get(started.operator or "")
        if connector.run_in_transaction is not None:
            return _run_in_transaction(db, item_id, connector, params)
        result = connector.run(params) if connector.run else {}
    except Conflict as exc:  # a parallel step moved the instance on: try again later
        return _failed(db, item_id, exc)
    except RelaisError as exc:  # a decided refusal (e.g. no consent): retrying cannot help
        return _refused(db, item_id, exc)
    except Exception as exc:  # any other connector failure is retried, then an incident
        return _failed(db, item_id, exc)
    with transaction(db) as uow:
        item = _lock(uow, item_id)
        if item is None or item.status == "done":
            return "skipped"
        _finish(uow, item, result)
    return "done"


def _run_in_transaction(db: Database, item_id: int, connector: connectors.Connector,
                        params: dict) -> str:
    """The connector's effect, the instance's resumption and `done` commit together."""
    with transaction(db) as uow:
        item = _lock(uow, item_id)
        if item is None or item.status == "done":
            return "skipped"
        instance = uow.session.get(Instance, item.instance_id)
        context = connectors.ConnectorContext(uow=uow, instance_id=item.instance_id or 0,
                                              case_id=instance.case_id if instance else 0,
                                              outbox_id=item.id, task_guid=item.task_guid or "")
        result = connector.run_in_transaction(context, params)  # type: ignore[misc]
        _finish(uow, item, result)
    return "done"


def _finish(uow: UnitOfWork, item: OutboxItem, result: dict | None) -> None:
    runtime.resume_service_task(uow, item, result or {})
    item.status, item.done_at = "done", uow.now()
    item.result = json.dumps(result or {}, default=str)


def _refused(db: Database, item_id: int, exc: RelaisError) -> str:
    """Audit the refusal and open an incident at once, with the French explanation."""
    with transaction(db) as uow:
        item = _lock(uow, item_id)
        if item is None or item.status == "done":
            return "skipped"
        item.status, item.last_error = "failed", f"{exc.code}: {exc.message[:300]}"
        for record in getattr(exc, "audit_records", ()):  # the refusal's own rows (routing)
            record.append(uow)
        audit.append(uow, SYSTEM, "runtime.connector_refused", subject_type="instance",
                     subject_id=item.instance_id, outbox=item.id, operator=item.operator,
                     code=exc.code)
        runtime.service_task_failed(uow, item, exc.message, None, kind="connector_refused")
    return "refused"


def _failed(db: Database, item_id: int, exc: Exception) -> str:
    trace = traceback.format_exc()
    with transaction(db) as uow:
        item = _lock(uow, item_id)
        if item is None or item.status == "done":
            return "skipped"
        item.last_error = f"{type(exc).__name__}: {str(exc)[:300]}"
        if item.attempts >= MAX_ATTEMPTS:
            item.status = "failed"
            runtime.service_task_failed(
                uow, item, f"Le connecteur « {item.operator} » a échoué {item.attempts} fois : "
                f"{type(exc).__name__}.", trace)
            return "failed"
        item.status = "pending"
        item.next_attempt_at = uow.now() + timedelta(
            seconds=BACKOFF_BASE_SECONDS * 2 ** (item.attempts - 1))
    log.warning("outbox item %s failed (attempt %s), will retry", item_id, item.attempts)
    return "retry"


def retry_incident_item(uow: UnitOfWork, item: OutboxItem) -> None:
    """An administrator's retry: the row runs again with a fresh attempt count."""
    item.status, item.attempts, item.next_attempt_at = "pending", 0, uow.now()
