"""Message correlation: storing messages, finding what a workflow waits for, catching.

A message is caught by a waiting task when every key of its correlation matches the task's
data (or the instance's `case_id` / `instance_id`). Unconsumed messages stay buffered until
`MESSAGE_TTL`, and an instance that starts waiting catches them (`catch_buffered`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.audit import service as audit
from engine.audit.service import SYSTEM
from engine.db import UnitOfWork
from engine.runtime import spiff
from engine.runtime.models import Instance, Message

MESSAGE_TTL = timedelta(days=7)


def store_message(uow: UnitOfWork, name: str, correlation: Mapping[str, Any],
                   payload: Mapping[str, Any], message_id: str) -> Message | None:
    if uow.session.scalars(select(Message).where(Message.message_id == message_id)).first():
        return None  # de-duplicated
    message = Message(message_id=message_id, name=name,
                      correlation=json.dumps(dict(correlation), sort_keys=True),
                      payload=json.dumps(dict(payload), sort_keys=True),
                      received_at=uow.now(), expires_at=uow.now() + MESSAGE_TTL)
    uow.session.add(message)
    uow.session.flush()
    return message


def event_definitions(task: Any) -> list[Any]:
    """What a waiting task waits for: its event definition, or each of those an event-based
    gateway (a multiple event definition) waits for on behalf of its catch events."""
    definition = getattr(task.task_spec, "event_definition", None)
    if definition is None:
        return []
    children = getattr(definition, "event_definitions", None)
    return list(children) if isinstance(children, list) else [definition]


def waiting_for(workflow: Any, name: str) -> list[Any]:
    return [t for t in workflow.get_tasks(state=TaskState.WAITING)
            if any(getattr(d, "name", None) == name for d in event_definitions(t))]


def correlates(message: Message, workflow: Any, task: Any) -> bool:
    """Every correlation key matches the waiting task's data (dotted paths reach into dicts,
    e.g. `transmission.delivery_id`); `case_id` and `instance_id` match the instance."""
    wanted = json.loads(message.correlation)
    return bool(wanted) and all(_lookup(task.data, workflow.data, key) == value
                                for key, value in wanted.items())


def _lookup(data: Mapping[str, Any], fallback: Mapping[str, Any], path: str) -> Any:
    if path in ("case_id", "instance_id"):
        return fallback.get(path)
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return fallback.get(path)
        value = value[part]
    return value


def catch(uow: UnitOfWork, instance: Instance, workflow: Any, message: Message) -> None:
    """The instance's waiting task catches `message` (consumed, audited)."""
    waiting = waiting_for(workflow, message.name)
    # The waiting task's own definition: spiff and plain BPMN classes compare unequal (an
    # event-based gateway waits with its catch events' definitions: the one of this name).
    definition = next(d for d in event_definitions(waiting[0])
                      if getattr(d, "name", None) == message.name)
    with spiff.clock_context(uow.db.clock):
        workflow.catch(BpmnEvent(definition, json.loads(message.payload)))
    message.consumed_at, message.consumed_by = uow.now(), instance.id
    audit.append(uow, SYSTEM, "runtime.message_delivered", subject_type="instance",
                 subject_id=instance.id, message=message.id, name=message.name)


def catch_buffered(uow: UnitOfWork, instance: Instance, workflow: Any) -> bool:
    """Deliver one buffered, unexpired message that this instance now waits for."""
    waiting = {getattr(d, "name", None): t
               for t in workflow.get_tasks(state=TaskState.WAITING)
               for d in event_definitions(t)}
    waiting.pop(None, None)
    if not waiting:
        return False
    pending = uow.session.scalars(
        select(Message).where(Message.name.in_(list(waiting)), Message.consumed_at.is_(None),
                              Message.expires_at > uow.now()).order_by(Message.id))
    for message in pending:
        wanted = json.loads(message.correlation)
        if wanted.get("instance_id") not in (None, instance.id) or \
                wanted.get("case_id") not in (None, instance.case_id):
            continue
        if correlates(message, workflow, waiting[message.name]):
            catch(uow, instance, workflow, message)
            return True
    return False


