"""Message correlation: storing messages, the index of what instances wait for, catching.

Guarantees:
- A message is caught by a waiting task when every key of its correlation matches the
  task's data (dotted paths reach into dicts, e.g. `transmission.delivery_id`), or the
  instance's `case_id` / `instance_id`. A posted message finds its instance through the
  `message_wait` index (`candidates`), written when an instance starts waiting for a
  message and removed when it stops (`sync_waits`) — never by scanning instances.
- A message sent by an organisation reaches only instances that organisation takes part in
  (its case's organisation or one of its lanes); the platform's messages reach any.
  De-duplication is per sender: `dedup_key` is "<organisation id | platform>:<message id>".
- Message payloads and correlations hold routable values only (`is_routable`): null,
  booleans, finite numbers, and identifiers — enumeration codes, slugs, references, ISO
  dates — written without spaces, at most 100 characters. Free text (names, narratives)
  never travels in a message: it belongs in a form, stored encrypted in the case.
- Unconsumed messages stay buffered until `MESSAGE_TTL`; an instance that starts waiting
  catches them (`catch_buffered`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, func, or_, select

from engine.audit import service as audit
from engine.audit.service import SYSTEM
from engine.db import UnitOfWork
from engine.errors import Invalid
from engine.runtime import spiff
from engine.runtime.models import Instance, Message, MessageWait
from engine.runtime.queries import involves

MESSAGE_TTL = timedelta(days=7)
MAX_KEYS = 20
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,99}$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,99}$")
_SAFE_INTEGER = 2**53
_INDEX_DEPTH = 3  # dotted paths indexed into the waiting task's data: a.b.c


# --- routable values -----------------------------------------------------------------------

def is_routable(value: Any) -> bool:
    """Null, a boolean, a finite number, or an identifier (no spaces, ≤ 100 characters)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < _SAFE_INTEGER
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and bool(_IDENTIFIER.match(value))


def require_routable(values: Mapping[str, Any], field: str) -> dict[str, Any]:
    """`values` unchanged when every key and value is routable; Invalid (422) otherwise."""
    problems = [{"field": f"{field}.{key}"[:120], "message": "Valeur non acheminable : un "
                 "identifiant, un code, une date, un nombre ou un booléen est attendu (le "
                 "texte libre passe par un formulaire)."}
                for key, value in values.items()
                if not (isinstance(key, str) and _KEY.match(key)) or not is_routable(value)]
    if len(values) > MAX_KEYS:
        problems.append({"field": field, "message": f"Au plus {MAX_KEYS} clés."})
    if problems:
        raise Invalid("Le message contient des valeurs qui ne peuvent pas être acheminées.",
                      problems)
    return dict(values)


def routable_only(values: Mapping[str, Any]) -> dict[str, Any]:
    """The routable entries of `values` (what the platform keeps of a thrown message)."""
    return {k: v for k, v in values.items()
            if isinstance(k, str) and _KEY.match(k) and is_routable(v)}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# --- storing -------------------------------------------------------------------------------

def dedup_key(sender_organisation_id: int | None, message_id: str) -> str:
    return f"{sender_organisation_id or 'platform'}:{message_id}"


def store_message(uow: UnitOfWork, name: str, correlation: Mapping[str, Any],
                  payload: Mapping[str, Any], message_id: str,
                  sender_organisation_id: int | None = None) -> Message | None:
    """Store a message once per (sender, message id); None when it was already received."""
    key = dedup_key(sender_organisation_id, message_id)
    if uow.session.scalars(select(Message.id).where(Message.dedup_key == key)).first():
        return None  # de-duplicated
    message = Message(message_id=message_id, dedup_key=key, name=name,
                      sender_organisation_id=sender_organisation_id,
                      correlation=json.dumps(dict(correlation), sort_keys=True),
                      payload=json.dumps(dict(payload), sort_keys=True),
                      received_at=uow.now(), expires_at=uow.now() + MESSAGE_TTL)
    uow.session.add(message)
    uow.session.flush()
    return message


def may_reach(uow: UnitOfWork, message: Message, instance: Instance) -> bool:
    """The platform's messages reach any instance; an organisation's, only those it takes
    part in."""
    sender = message.sender_organisation_id
    return sender is None or involves(uow, instance, {sender})


# --- what a workflow waits for -------------------------------------------------------------

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


# --- the index -----------------------------------------------------------------------------

def waits_for_messages(workflow: Any) -> bool:
    """Whether a task of the workflow waits for a named message (so `message_wait` rows of
    the instance may exist)."""
    return any(getattr(d, "name", None) for t in workflow.get_tasks(state=TaskState.WAITING)
               for d in event_definitions(t))


def sync_waits(uow: UnitOfWork, instance: Instance, workflow: Any, running: bool,
               indexed: bool = True) -> None:
    """Make `message_wait` say exactly what the instance waits for now (nothing unless
    `running`): rows appear when it starts waiting and go when it stops. `indexed` False
    says the instance had no rows (its saved state waited for no message): when it still
    waits for none, no query is sent at all."""
    wanted = _wanted_waits(instance, workflow) if running else set()
    if not indexed and not wanted:
        return
    rows = {(r.name, r.key, r.value): r for r in uow.session.scalars(
        select(MessageWait).where(MessageWait.instance_id == instance.id))} \
        if instance.id is not None else {}
    stale = [r.id for key, r in rows.items() if key not in wanted]
    if stale:
        uow.session.execute(delete(MessageWait).where(MessageWait.id.in_(stale)))
    for name, key, value in sorted(wanted - rows.keys()):
        uow.session.add(MessageWait(instance_id=instance.id, name=name, key=key, value=value))


def _wanted_waits(instance: Instance, workflow: Any) -> set[tuple[str, str, str]]:
    wanted: set[tuple[str, str, str]] = set()
    for task in workflow.get_tasks(state=TaskState.WAITING):
        names = {getattr(d, "name", None) for d in event_definitions(task)} - {None}
        if not names:
            continue
        keys = dict(_flatten(workflow.data))
        keys.update(_flatten(task.data))
        keys.update({"case_id": instance.case_id, "instance_id": instance.id})
        for key, value in keys.items():
            text = _canonical(value)
            if len(key) <= 200 and len(text) <= 200:
                wanted |= {(name, key, text) for name in names}
    return wanted


def _flatten(data: Mapping[str, Any], prefix: str = "",
             depth: int = 1) -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        if not isinstance(key, str):
            continue
        path = prefix + key
        if isinstance(value, Mapping) and depth < _INDEX_DEPTH:
            yield from _flatten(value, path + ".", depth + 1)
        elif is_routable(value):
            yield path, value


def candidates(uow: UnitOfWork, name: str, correlation: Mapping[str, Any]) -> list[int]:
    """Ids of the instances waiting for `name` whose indexed keys match every key of the
    correlation (one indexed query; the caller checks each candidate exactly)."""
    if not correlation:
        return []
    pairs = [(MessageWait.key == key) & (MessageWait.value == _canonical(value))
             for key, value in correlation.items()]
    stmt = (select(MessageWait.instance_id)
            .where(MessageWait.name == name, or_(*pairs))
            .group_by(MessageWait.instance_id)
            .having(func.count(func.distinct(MessageWait.key)) == len(pairs))
            .order_by(MessageWait.instance_id).limit(50))
    return list(uow.session.scalars(stmt))


# --- catching ------------------------------------------------------------------------------

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
    """Deliver one buffered, unexpired message that this instance now waits for (and may
    receive)."""
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
        if correlates(message, workflow, waiting[message.name]) \
                and may_reach(uow, message, instance):
            catch(uow, instance, workflow, message)
            return True
    return False
