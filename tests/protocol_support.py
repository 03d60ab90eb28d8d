"""What the protocol end-to-end tests share: the demo personas driving the bundled protocols
through the REST API (bearer tokens), the worker (outbox) and the scheduler (timers) run as
they would in production, and the injectable clock.

The protocols are deployed by `relais init` (the test database template is initialised
with the bundled `workflows/`), so every test starts with the five of them deployed and the
demo territory (organisations, users, keys, ITP calendar) in place.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import docx
from helpers import bearer
from routing_support import docx_text
from sqlalchemy import select

from engine.audit.models import AuditEntry
from engine.clock import ManualClock
from engine.db import Database, transaction
from engine.jobs import outbox
from engine.runtime import service as runtime
from engine.runtime.models import Incident, OutboxItem

API = "/api/v1"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
GRANTED = {"presented": True, "decision": "granted", "channel": "oral"}
REFUSED = {"presented": True, "decision": "refused", "channel": "oral"}

__all__ = ["API", "GRANTED", "REFUSED", "Territory", "docx_text"]


class Territory:
    """The demo territory seen through the API: one client, a token per persona."""

    def __init__(self, client: Any, db: Database, clock: ManualClock):
        self.client, self.db, self.clock = client, db, clock
        self._tokens: dict[str, dict[str, str]] = {}

    def headers(self, user: str) -> dict[str, str]:
        if user not in self._tokens:
            self._tokens[user] = bearer(self.db, user)
        return self._tokens[user]

    # --- raw calls ---------------------------------------------------------------------

    def get(self, user: str, path: str, status: int = 200) -> Any:
        response = self.client.get(f"{API}{path}", headers=self.headers(user))
        assert response.status_code == status, (path, response.get_data(as_text=True))
        return response.get_json() if response.mimetype.endswith("json") else response

    def post(self, user: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.client.post(f"{API}{path}", json=body if body is not None else {},
                                    headers=self.headers(user))
        assert response.status_code == status, (path, response.get_data(as_text=True))
        return response.get_json()

    # --- protocols -----------------------------------------------------------------------

    def start(self, user: str, process_id: str, case_id: int | None = None) -> dict[str, Any]:
        return self.post(user, "/instances", {"process_id": process_id, "case_id": case_id},
                         status=201)

    def tasks(self, user: str, instance_id: int | None = None) -> list[dict[str, Any]]:
        return [t for t in self.get(user, "/tasks")
                if instance_id is None or t["instance_id"] == instance_id]

    def task(self, user: str, instance_id: int, name: str | None = None) -> dict[str, Any]:
        """The one ready task of `user` in the instance (named `name` when given)."""
        mine = [t for t in self.tasks(user, instance_id) if name is None or t["name"] == name]
        assert len(mine) == 1, (user, name, [t["name"] for t in self.tasks(user, instance_id)])
        return mine[0]

    def form(self, user: str, task_id: int) -> dict[str, Any]:
        return self.get(user, f"/tasks/{task_id}")["form"]["schema"]

    def complete(self, user: str, instance_id: int, data: dict[str, Any] | None = None,
                 name: str | None = None, status: int = 200) -> Any:
        task = self.task(user, instance_id, name)
        answer = self.post(user, f"/tasks/{task['id']}/complete", {"data": data or {}},
                           status=status)
        if status == 200:
            self.work()
        return answer

    def instance(self, user: str, instance_id: int) -> dict[str, Any]:
        return self.get(user, f"/instances/{instance_id}")

    def status(self, instance_id: int, user: str = "demo-admin") -> str:
        return self.instance(user, instance_id)["status"]

    # --- documents -----------------------------------------------------------------------

    def inbox(self, user: str) -> list[dict[str, Any]]:
        return self.get(user, "/inbox")

    def received(self, user: str, document_name: str) -> list[dict[str, Any]]:
        return [d for d in self.inbox(user) if d["document_name"] == document_name]

    def delivery(self, user: str, delivery_id: int) -> dict[str, Any]:
        return self.get(user, f"/deliveries/{delivery_id}")

    def document(self, user: str, delivery_id: int) -> str:
        """The text of a received document (the recipient opens it: audited)."""
        response = self.get(user, f"/deliveries/{delivery_id}/document")
        assert response.mimetype == DOCX
        return docx_text(response.data)

    def acknowledge(self, user: str, delivery_id: int) -> dict[str, Any]:
        receipt = self.post(user, f"/deliveries/{delivery_id}/acknowledge", status=201)
        self.work()
        return receipt

    def pieces(self, user: str, case_id: int) -> list[dict[str, Any]]:
        return self.get(user, f"/cases/{case_id}/pieces")

    def piece_text(self, user: str, piece_id: int) -> str:
        response = self.get(user, f"/pieces/{piece_id}/document")
        assert response.mimetype == DOCX
        docx.Document(io.BytesIO(response.data))  # a real Word document
        return docx_text(response.data)

    # --- the worker and the scheduler ----------------------------------------------------

    def work(self) -> list[str]:
        """Run every pending connector as the worker would, until none is left."""
        outcomes: list[str] = []
        for _round in range(30):
            with self.db.unit_of_work() as uow:
                pending = list(uow.session.scalars(select(OutboxItem.id).where(
                    OutboxItem.status == "pending",
                    OutboxItem.next_attempt_at <= uow.now()).order_by(OutboxItem.id)))
            if not pending:
                return outcomes
            outcomes += [outbox.run_item(self.db, item_id) for item_id in pending]
        raise AssertionError("the outbox never empties")

    def later(self, **delta: float) -> int:
        """Move the clock, fire the due timers as the scheduler would; returns how many
        instances had timers fired."""
        self.clock.advance(**delta)
        with transaction(self.db) as uow:
            due = runtime.due_timers(uow)
        for instance_id in due:
            with transaction(self.db) as uow:
                runtime.fire_timers(uow, instance_id)
        self.work()
        return len(due)

    def days(self, days: int) -> str:
        """The clock's date in `days` days, ISO."""
        return (self.clock.now() + timedelta(days=days)).date().isoformat()

    # --- proof ---------------------------------------------------------------------------

    def audit(self, action: str) -> list[dict[str, Any]]:
        with self.db.unit_of_work() as uow:
            rows = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                       .order_by(AuditEntry.seq))
            return [{"actor": r.actor_label, "subject": r.subject_id,
                     "organisation_id": r.organisation_id, **json.loads(r.details)}
                    for r in rows]

    def incidents(self) -> list[str]:
        with self.db.unit_of_work() as uow:
            return [f"{i.kind}: {i.error}" for i in uow.session.scalars(
                select(Incident).where(Incident.resolved_at.is_(None)))]
