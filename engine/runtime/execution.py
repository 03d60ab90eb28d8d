"""Execution: load an instance, advance its workflow, save what the step produced, and
open incidents.

Guarantees:
- Every step saves the instance, its human-task rows, timers, outbox rows and audit rows in
  the caller's unit of work: they commit together or not at all.
- The instance row's version guards against lost updates: a stale or double completion
  raises `Conflict` (HTTP 409) and changes nothing.
- Service tasks never run inside the transaction: they become outbox rows (invariant 4).
- An engine error or a stalled instance becomes an incident, never a silent hang.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from engine import events
from engine.audit import service as audit
from engine.audit.service import SYSTEM, Actor
from engine.cases import service as cases
from engine.db import UnitOfWork
from engine.errors import Conflict
from engine.events import IncidentOpened, InstanceCompleted, InstanceStarted, TaskCreated
from engine.identity.errors import PermissionDenied
from engine.identity.models import Membership
from engine.identity.service import Principal, find_organisation
from engine.runtime import spiff
from engine.runtime.correlation import (
    catch,
    catch_buffered,
    routable_only,
    store_message,
    sync_waits,
    waits_for_messages,
)
from engine.runtime.expressions import make_script_engine
from engine.runtime.models import (
    DueTimer,
    HumanTask,
    Incident,
    Instance,
    Message,
    OutboxItem,
    ProcessVersion,
)
from engine.runtime.queries import lanes_of, process_version
from engine.territory import service as territory

logger = logging.getLogger(__name__)

TIMER_EVENT_TYPES = frozenset({"DurationTimerEventDefinition", "TimeDateEventDefinition",
                               "CycleTimerEventDefinition"})
MAX_BUFFERED_ROUNDS = 20
# Python's default recursion limit is 1000; SpiffWorkflow's tree walks fail silently near it.
STALL_DEPTH = 900
RUNNING, SUSPENDED, COMPLETED, TERMINATED = "running", "suspended", "completed", "terminated"

# --- instances -----------------------------------------------------------------------------

@dataclass
class Loaded:
    """An instance with its live workflow and what this step asked for."""

    instance: Instance
    version: ProcessVersion
    workflow: Any
    # Whether the saved state had waiting timers (so `due_timer` rows may exist): without
    # them, and without new ones, the step sends no timer DELETE at all.
    had_timers: bool = False
    # Likewise for `message_wait` rows: whether the saved state waited for a message.
    had_waits: bool = False

    @property
    def requests(self) -> list[tuple[str, str, dict[str, Any]]]:
        return self.workflow.script_engine.service_requests


def _script_engine() -> Any:
    engine = make_script_engine()
    engine.service_requests = []
    return engine


def create_instance(uow: UnitOfWork, principal: Principal, version: ProcessVersion,
                     case_id: int | None, message: Message | None = None) -> Loaded:
    starter_org = _starter_organisation(principal, version)
    # The territory's partners, checked before anything is created: a start refused for a
    # missing partner leaves no case and no instance behind.
    partners = territory.start_parameters(uow, starter_org, spiff.needed_partners(
        version.id, version.spec))
    if case_id is None:
        case = cases.open_case(uow, principal, starter_org)
    else:
        case = cases.visible_case(uow, principal, case_id)
    now = uow.now()
    instance = Instance(process_version_id=version.id, process_id=version.process_id,
                        case_id=case.id, status=RUNNING, state="{}", lanes="{}",
                        started_by=principal.user_id, started_at=now, updated_at=now)
    if version.starter_role:
        instance.lanes = json.dumps({version.starter_role: starter_org})
    uow.session.add(instance)
    uow.session.flush()
    workflow = spiff.new_workflow(version.id, version.spec, _script_engine())
    workflow.data.update({**partners, "case_id": case.id, "instance_id": instance.id})
    for task in workflow.get_tasks():  # the start's data: every later task inherits it
        task.data.update(partners)
    loaded = Loaded(instance, version, workflow)
    audit.append(uow, principal.actor, "runtime.instance_started", subject_type="instance",
                 subject_id=instance.id, organisation_id=starter_org, case=case.id,
                 process=version.process_id, version=version.version,
                 message=message.id if message else None)
    events.record(uow, InstanceStarted(principal.actor, instance_id=instance.id,
                                       organisation_id=case.organisation_id,
                                       process_id=version.process_id))
    if message is not None:
        with spiff.clock_context(uow.db.clock):
            workflow.do_engine_steps()  # the start event now waits for its message
        catch(uow, loaded.instance, workflow, message)
    advance(uow, loaded, principal.actor)
    return loaded


def _starter_organisation(principal: Principal, version: ProcessVersion) -> int:
    for grant in principal.grants:
        if version.starter_role is None or grant.role == version.starter_role:
            return grant.organisation_id
    raise PermissionDenied("Vous n'êtes rattaché·e à aucune organisation.")


def load(uow: UnitOfWork, instance: Instance) -> Loaded:
    version = process_version(uow, instance.process_version_id)
    with spiff.clock_context(uow.db.clock):
        workflow = spiff.load_state(version.id, version.spec, instance.state,
                                    _script_engine())
    return Loaded(instance, version, workflow, had_timers=bool(_timer_values(workflow)),
                  had_waits=waits_for_messages(workflow))


def advance(uow: UnitOfWork, loaded: Loaded, actor: Actor) -> None:
    """Run engine steps (catching buffered messages the instance now waits for), then save
    everything the step produced."""
    for _round in range(MAX_BUFFERED_ROUNDS):
        with spiff.clock_context(uow.db.clock):
            try:
                loaded.workflow.refresh_timers()
                loaded.workflow.do_engine_steps()
            except SpiffWorkflowException as exc:
                open_incident(uow, loaded.instance, "task_error", engine_message(exc),
                          task_guid=str(exc.task.id) if getattr(exc, "task", None) else None,
                          trace=traceback.format_exc())
                break
        if not catch_buffered(uow, loaded.instance, loaded.workflow):
            break
    save(uow, loaded, actor)


def engine_message(exc: Exception) -> str:
    return str(exc).split("\n")[0][:500] or type(exc).__name__


def save(uow: UnitOfWork, loaded: Loaded, actor: Actor) -> None:
    instance, workflow = loaded.instance, loaded.workflow
    for guid, operator, params in loaded.requests:
        _enqueue_connector(uow, instance, guid, operator, params)
    loaded.requests.clear()
    _throw_events(uow, instance, workflow)
    now = uow.now()
    stalled = instance.status == RUNNING and _detect_stall(uow, loaded)
    # State first: a query below autoflushes the row once, with every change of the step.
    instance.state = spiff.dump_state(workflow)
    instance.updated_at = now
    if workflow.is_completed() and instance.status == RUNNING and not stalled:
        instance.status, instance.ended_at = COMPLETED, now
        audit.append(uow, actor, "runtime.instance_completed", subject_type="instance",
                     subject_id=instance.id)
        events.record(uow, InstanceCompleted(
            actor, instance_id=instance.id, process_id=instance.process_id,
            organisation_id=cases.get_case(uow, instance.case_id).organisation_id))
    created = _sync_human_tasks(uow, loaded)
    _sync_timers(uow, loaded)
    sync_waits(uow, instance, workflow, running=instance.status == RUNNING,
               indexed=loaded.had_waits)
    loaded.had_waits = waits_for_messages(workflow) and instance.status == RUNNING
    with concurrent_change_is_conflict(uow):
        uow.session.flush()
    for row in created:  # ids exist only now
        events.record(uow, TaskCreated(actor, task_id=row.id, instance_id=instance.id,
                                       organisation_id=row.organisation_id, role=row.lane,
                                       process_id=instance.process_id))


STALE = "Ce dossier a été modifié entre-temps : rechargez et recommencez."


@contextmanager
def concurrent_change_is_conflict(uow: UnitOfWork) -> Iterator[None]:
    """Turn a concurrent change detected by the database into `Conflict` (409).

    Wrap a step and the commit that keeps it: another transaction that changed the same
    instance first shows up as a StaleDataError (the instance's version no longer matches)
    or an IntegrityError (a unique row written twice), at any flush — an autoflush before a
    query included — or at commit. The unit of work is rolled back: nothing is kept.
    """
    try:
        yield
    except (StaleDataError, IntegrityError) as exc:
        uow.rollback()
        logger.info("concurrent change refused: %s", type(exc).__name__)
        raise Conflict(STALE, code="stale_instance") from None


def _detect_stall(uow: UnitOfWork, loaded: Loaded) -> bool:
    """True (and an incident, once) when SpiffWorkflow stopped without saying so.

    Two signs: a ready automatic task left after engine steps, or a task tree as deep as
    STALL_DEPTH — past Python's recursion limit SpiffWorkflow quietly ends gateway loops
    early (measured: a 2000-turn loop "completed" after 499 turns without its end event).
    """
    workflow = loaded.workflow
    stuck = workflow.get_tasks(state=TaskState.READY, manual=False)
    deepest = workflow.last_task.depth if workflow.last_task is not None else 0
    if not stuck and deepest < STALL_DEPTH:
        return False
    reason = ("la boucle est trop longue pour le moteur (plus de "
              f"{STALL_DEPTH} étapes enchaînées) : remplacez-la par une boucle standard ou "
              "une minuterie qui relance une nouvelle instance") if deepest >= STALL_DEPTH \
        else "une tâche automatique reste bloquée"
    already = uow.session.scalar(select(func.count(Incident.id)).where(
        Incident.instance_id == loaded.instance.id, Incident.kind == "stalled",
        Incident.resolved_at.is_(None)))
    if not already:
        open_incident(uow, loaded.instance, "stalled",
                  f"Le protocole ne progresse plus : {reason}. Un administrateur doit "
                  "examiner l'instance.", task_guid=str(stuck[0].id) if stuck else None)
    return True


def _bind_lane(uow: UnitOfWork, loaded: Loaded, role: str, data: Mapping[str, Any]) -> int | None:
    """The organisation acting in `role` for this instance, bound once and then kept.

    Order: an existing binding; an organisation slug in the workflow data under
    `organisation_<ROLE>` (a routing field of a form or a diagram parameter); the starter's
    organisation when it has members in that role.
    """
    lanes = lanes_of(loaded.instance)
    if role in lanes:
        return lanes[role]
    chosen: int | None = None
    slug = data.get(f"organisation_{role}") or loaded.workflow.data.get(f"organisation_{role}")
    if isinstance(slug, str):
        org = find_organisation(uow, slug)
        chosen = org.id if org is not None and org.active else None
    if chosen is None and lanes:
        starter_org = next(iter(lanes.values()))
        has_role = uow.session.scalar(select(func.count(Membership.id)).where(
            Membership.organisation_id == starter_org, Membership.role == role))
        chosen = starter_org if has_role else None
    if chosen is not None:
        lanes[role] = chosen
        loaded.instance.lanes = json.dumps(lanes, sort_keys=True)
    return chosen


def _sync_human_tasks(uow: UnitOfWork, loaded: Loaded) -> list[HumanTask]:
    """Mirror the workflow's ready human tasks; a suspended instance's tasks are set aside.
    Returns the rows of the tasks that just became ready."""
    instance, workflow = loaded.instance, loaded.workflow
    rows = {r.task_guid: r for r in uow.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id,
                                HumanTask.state.in_(("ready", "suspended"))))}
    if instance.status == SUSPENDED:
        for row in rows.values():
            row.state = "suspended"
        return []
    ready = {str(t.id): t for t in spiff.ready_human_tasks(workflow)} \
        if instance.status == RUNNING else {}
    now = uow.now()
    for guid, row in rows.items():
        if guid in ready:
            row.state = "ready"
            continue
        task = workflow.get_task_from_id(UUID(guid)) if instance.status != TERMINATED else None
        done = task is not None and task.has_state(TaskState.COMPLETED)
        row.state = "completed" if done else "cancelled"
        row.completed_at = row.completed_at or now
    return [_add_human_task(uow, loaded, guid, task, now)
            for guid, task in ready.items() if guid not in rows]


def _add_human_task(uow: UnitOfWork, loaded: Loaded, guid: str, task: Any,
                    now: datetime) -> HumanTask:
    lane = getattr(task.task_spec, "lane", None)
    org = _bind_lane(uow, loaded, lane, task.data) if lane else None
    row = HumanTask(
        instance_id=loaded.instance.id, task_guid=guid,
        spec_name=task.task_spec.bpmn_id or task.task_spec.name,
        name=task.task_spec.bpmn_name or task.task_spec.name, lane=lane, organisation_id=org,
        form=_form_of(task.task_spec), state="ready", created_at=now)
    uow.session.add(row)
    if lane and org is None:
        open_incident(uow, loaded.instance, "lane_unbound",
                      f"Aucune organisation n'est désignée pour le rôle {lane} : précisez-la "
                      "dans le protocole ou le formulaire.", task_guid=guid)
    return row


def _form_of(task_spec: Any) -> str | None:
    extensions = getattr(task_spec, "extensions", None) or {}
    return (extensions.get("properties") or {}).get("formJsonSchemaFilename")


def _sync_timers(uow: UnitOfWork, loaded: Loaded) -> None:
    """Make `due_timer` list exactly the instance's waiting timers (none unless running)."""
    instance = loaded.instance
    values = _timer_values(loaded.workflow) if instance.status == RUNNING else []
    if loaded.had_timers:
        uow.session.execute(delete(DueTimer).where(DueTimer.instance_id == instance.id))
    loaded.had_timers = bool(values)
    for value in values:
        due = _parse_due(value)
        if due is not None:
            uow.session.add(DueTimer(instance_id=instance.id, task_guid="", due_at=due))


def _timer_values(workflow: Any) -> list[str]:
    """When each waiting timer is due (ISO), including those an event-based gateway waits
    for on behalf of its timer catch events (SpiffWorkflow reports the gateway as one
    "multiple" event, its timer's due time in the gateway task's internal data)."""
    values = [event.value for event in workflow.waiting_events()
              if event.event_type in TIMER_EVENT_TYPES and isinstance(event.value, str)]
    for task in workflow.get_tasks(state=TaskState.WAITING):
        children = getattr(getattr(task.task_spec, "event_definition", None),
                           "event_definitions", None)
        if isinstance(children, list) and any(type(child).__name__ in TIMER_EVENT_TYPES
                                              for child in children):
            value = task.internal_data.get("event_value")
            if isinstance(value, str):
                values.append(value)
    return values


def _parse_due(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _enqueue_connector(uow: UnitOfWork, instance: Instance, guid: str, operator: str,
                       params: dict[str, Any]) -> OutboxItem:
    item = OutboxItem(kind="connector", instance_id=instance.id, task_guid=guid, operator=operator,
                      params=json.dumps(params, default=str), status="pending", attempts=0,
                      next_attempt_at=uow.now(), created_at=uow.now())
    uow.session.add(item)
    uow.session.flush()
    audit.append(uow, SYSTEM, "runtime.service_task_queued", subject_type="instance",
                 subject_id=instance.id, outbox=item.id, operator=operator)
    return item


def _throw_events(uow: UnitOfWork, instance: Instance, workflow: Any) -> None:
    """Messages thrown by the workflow are stored at once, before anything else can fail."""
    for event in workflow.get_events():
        definition = event.event_definition
        name = getattr(definition, "name", None)
        if not name:
            continue
        payload = event.payload if isinstance(event.payload, dict) else {}
        correlation = {"case_id": workflow.data.get("case_id")}
        store_message(uow, name, correlation, routable_only(payload),
                      f"instance-{instance.id}-{uow.now().timestamp()}-{name}")


def routing_only(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items()
            if isinstance(v, str | int | float | bool) or v is None}


def open_incident(uow: UnitOfWork, instance: Instance, kind: str, error: str, *,
              task_guid: str | None = None, trace: str | None = None, attempts: int = 0,
              outbox_id: int | None = None) -> Incident:
    incident = Incident(instance_id=instance.id, task_guid=task_guid, kind=kind, error=error,
                        attempts=attempts, traceback=trace, outbox_id=outbox_id,
                        created_at=uow.now())
    uow.session.add(incident)
    uow.session.flush()
    audit.append(uow, SYSTEM, "runtime.incident_opened", subject_type="instance",
                 subject_id=instance.id, incident=incident.id, kind=kind)
    events.record(uow, IncidentOpened(SYSTEM, incident_id=incident.id,
                                      instance_id=instance.id, kind=kind))
    return incident


