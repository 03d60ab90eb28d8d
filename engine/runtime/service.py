"""Runtime use cases: deploy, start, complete, fire timers, correlate messages, resume service
tasks, suspend/resume/terminate, incidents.

Guarantees:
- Every step saves the instance, its human-task rows, timers, outbox rows and audit rows in the
  caller's unit of work: they commit together or not at all.
- The instance row's version guards against lost updates: a stale or double completion raises
  `Conflict` (HTTP 409) and changes nothing.
- Workflow data holds references, enumerations, booleans, numbers and dates only; submissions
  go to `cases` encrypted (invariant 1).
- Service tasks never run inside the transaction: they become outbox rows (invariant 4).
- An engine error or a stalled instance becomes an incident, never a silent hang.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, func, select
from sqlalchemy.orm.exc import StaleDataError

import forms
from engine import events
from engine.audit import service as audit
from engine.audit.service import SYSTEM, Actor
from engine.cases import service as cases
from engine.db import UnitOfWork
from engine.errors import Conflict, Invalid, NotFound, RelaisError
from engine.identity.errors import PermissionDenied
from engine.identity.models import Membership
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role
from engine.runtime import loader, spiff
from engine.runtime.errors import ModelRejected, Problem
from engine.runtime.expressions import make_script_engine
from engine.runtime.models import (
    Deployment,
    DeploymentFile,
    DueTimer,
    HumanTask,
    Incident,
    Instance,
    Message,
    OutboxItem,
    ProcessVersion,
)

MESSAGE_TTL = timedelta(days=7)
TIMER_EVENT_TYPES = frozenset({"DurationTimerEventDefinition", "TimeDateEventDefinition",
                               "CycleTimerEventDefinition"})
MAX_BUFFERED_ROUNDS = 20
# Python's default recursion limit is 1000; SpiffWorkflow's tree walks fail silently near it.
STALL_DEPTH = 900
RUNNING, SUSPENDED, COMPLETED, TERMINATED = "running", "suspended", "completed", "terminated"


class DeploymentRejected(Invalid):
    code = "model_rejected"

    def __init__(self, rejected: ModelRejected):
        errors = [{"field": ":".join(filter(None, [p.file, p.element_id])) or p.file,
                   "message": str(p)} for p in rejected.problems]
        super().__init__(rejected.report(), errors)
        self.problems = [p.as_dict() for p in rejected.problems]


# --- deployment ----------------------------------------------------------------------------

def deploy(uow: UnitOfWork, actor: Actor, files: Mapping[str, bytes], *, source: str,
           forms_dir: Path = forms.FORMS_DIR) -> list[ProcessVersion]:
    """Validate and store a new immutable version of each executable process.

    The forms the diagrams name are stored with the deployment, so a running instance keeps
    the forms of its version. Identical content (same hash) is a no-op returning the versions
    already deployed.
    """
    try:
        model = loader.load_model(files, forms_dir)
    except ModelRejected as exc:
        raise DeploymentRejected(exc) from None
    existing = uow.session.scalars(select(Deployment)
                                   .where(Deployment.content_hash == model.content_hash)).first()
    if existing is not None:
        return versions_of(uow, existing)
    deployment = Deployment(content_hash=model.content_hash, source=source,
                            deployed_by=actor.user_id, deployed_at=uow.now())
    uow.session.add(deployment)
    uow.session.flush()
    for name, content in sorted({**files, **_form_files(model, forms_dir)}.items()):
        uow.session.add(DeploymentFile(deployment_id=deployment.id, name=name, content=content))
    versions = [_new_version(uow, deployment, model, pid) for pid in model.process_ids]
    audit.append(uow, actor, "runtime.deployed", subject_type="deployment",
                 subject_id=deployment.id, content_hash=model.content_hash, source=source,
                 processes={v.process_id: v.version for v in versions})
    return versions


FORM_PREFIX = "forms/"


def _form_files(model: loader.LoadedModel, forms_dir: Path) -> dict[str, bytes]:
    """The form (and UI schema) files the model uses, checked usable now, not at first use."""
    out: dict[str, bytes] = {}
    for name in model.forms:
        try:
            forms.load(name, forms_dir)
        except forms.FormError as exc:
            raise DeploymentRejected(ModelRejected([Problem(name, None, None, str(exc))])) \
                from None
        out[FORM_PREFIX + name] = (forms_dir / name).read_bytes()
        ui = forms_dir / forms.ui_name(name)
        if ui.exists():
            out[FORM_PREFIX + ui.name] = ui.read_bytes()
    return out


def form_of_version(uow: UnitOfWork, version: ProcessVersion, name: str) -> forms.Form:
    """The form as deployed with this version (cached per deployment: it never changes)."""
    return _deployed_form(uow, version.deployment_id, name)


def _deployed_form(uow: UnitOfWork, deployment_id: int, name: str) -> forms.Form:
    key = (uow.db.url, deployment_id, name)
    if key not in _FORM_CACHE:
        wanted = [FORM_PREFIX + name, FORM_PREFIX + forms.ui_name(name)]
        rows = {f.name: f.content for f in uow.session.scalars(
            select(DeploymentFile).where(DeploymentFile.deployment_id == deployment_id,
                                         DeploymentFile.name.in_(wanted)))}
        if FORM_PREFIX + name not in rows:
            raise NotFound(f"Formulaire {name} absent de ce déploiement.", code="form_missing")
        _FORM_CACHE[key] = forms.parse(name, rows[FORM_PREFIX + name],
                                       rows.get(FORM_PREFIX + forms.ui_name(name)))
    return _FORM_CACHE[key]


_FORM_CACHE: dict[tuple[str, int, str], forms.Form] = {}


def _new_version(uow: UnitOfWork, deployment: Deployment, model: loader.LoadedModel,
                 process_id: str) -> ProcessVersion:
    spec, subprocess_specs = model.specs[process_id], model.subprocess_specs.get(process_id, {})
    last = uow.session.scalar(select(func.max(ProcessVersion.version))
                              .where(ProcessVersion.process_id == process_id)) or 0
    version = ProcessVersion(
        deployment_id=deployment.id, process_id=process_id, version=last + 1,
        name=model.process_names.get(process_id) or process_id,
        starter_role=_starter_role(spec), roles=json.dumps(sorted(_roles(spec, subprocess_specs))),
        spec=spiff.spec_json(spec, subprocess_specs))
    uow.session.add(version)
    uow.session.flush()
    return version


def _roles(spec: Any, subprocess_specs: Mapping[str, Any]) -> set[str]:
    specs = [spec, *subprocess_specs.values()]
    return {ts.lane for s in specs for ts in s.task_specs.values() if getattr(ts, "lane", None)}


def _starter_role(spec: Any) -> str | None:
    """The lane of the process's start event(s): the role that may start it."""
    start = spec.start
    lanes = {getattr(ts, "lane", None) for ts in start.outputs}
    lanes.discard(None)
    return sorted(lanes)[0] if lanes else None


def versions_of(uow: UnitOfWork, deployment: Deployment) -> list[ProcessVersion]:
    return list(uow.session.scalars(select(ProcessVersion)
                                    .where(ProcessVersion.deployment_id == deployment.id)
                                    .order_by(ProcessVersion.process_id)))


def latest_versions(uow: UnitOfWork) -> list[ProcessVersion]:
    newest = (select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
              .group_by(ProcessVersion.process_id).subquery())
    stmt = (select(ProcessVersion)
            .join(newest, (ProcessVersion.process_id == newest.c.process_id)
                  & (ProcessVersion.version == newest.c.v))
            .order_by(ProcessVersion.process_id))
    return list(uow.session.scalars(stmt))


def latest_version(uow: UnitOfWork, process_id: str) -> ProcessVersion:
    version = uow.session.scalars(select(ProcessVersion)
                                  .where(ProcessVersion.process_id == process_id)
                                  .order_by(ProcessVersion.version.desc()).limit(1)).first()
    if version is None:
        raise NotFound(f"Protocole inconnu : {process_id}.", code="process_not_found")
    return version


def can_start(principal: Principal, version: ProcessVersion) -> bool:
    if version.starter_role is None:
        return bool(principal.grants)
    return principal.has_role(version.starter_role)


# --- instances -----------------------------------------------------------------------------

@dataclass
class Loaded:
    """An instance with its live workflow and what this step asked for."""

    instance: Instance
    version: ProcessVersion
    workflow: Any

    @property
    def requests(self) -> list[tuple[str, str, dict[str, Any]]]:
        return self.workflow.script_engine.service_requests


def _script_engine() -> Any:
    engine = make_script_engine()
    engine.service_requests = []
    return engine


def start_instance(uow: UnitOfWork, principal: Principal, process_id: str,
                   case_id: int | None = None) -> Instance:
    """Start the newest version of `process_id` on a case (a new one when none is given)."""
    version = latest_version(uow, process_id)
    if not can_start(principal, version):
        raise PermissionDenied("Votre rôle ne permet pas de lancer ce protocole.")
    return _create_instance(uow, principal, version, case_id).instance


def _create_instance(uow: UnitOfWork, principal: Principal, version: ProcessVersion,
                     case_id: int | None, message: Message | None = None) -> Loaded:
    starter_org = _starter_organisation(principal, version)
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
    workflow.data.update({"case_id": case.id, "instance_id": instance.id})
    loaded = Loaded(instance, version, workflow)
    audit.append(uow, principal.actor, "runtime.instance_started", subject_type="instance",
                 subject_id=instance.id, organisation_id=starter_org, case=case.id,
                 process=version.process_id, version=version.version,
                 message=message.id if message else None)
    if message is not None:
        with spiff.clock_context(uow.db.clock):
            workflow.do_engine_steps()  # the start event now waits for its message
        _catch(uow, loaded, message)
    _advance(uow, loaded, principal.actor)
    return loaded


def _starter_organisation(principal: Principal, version: ProcessVersion) -> int:
    for grant in principal.grants:
        if version.starter_role is None or grant.role == version.starter_role:
            return grant.organisation_id
    raise PermissionDenied("Vous n'êtes rattaché·e à aucune organisation.")


def load(uow: UnitOfWork, instance: Instance) -> Loaded:
    version = uow.session.get(ProcessVersion, instance.process_version_id)
    assert version is not None
    with spiff.clock_context(uow.db.clock):
        workflow = spiff.load_state(version.id, version.spec, instance.state, _script_engine())
    return Loaded(instance, version, workflow)


def _advance(uow: UnitOfWork, loaded: Loaded, actor: Actor) -> None:
    """Run engine steps (catching buffered messages the instance now waits for), then save
    everything the step produced."""
    for _round in range(MAX_BUFFERED_ROUNDS):
        with spiff.clock_context(uow.db.clock):
            try:
                loaded.workflow.refresh_timers()
                loaded.workflow.do_engine_steps()
            except SpiffWorkflowException as exc:
                _incident(uow, loaded.instance, "task_error", _engine_message(exc),
                          task_guid=str(exc.task.id) if getattr(exc, "task", None) else None,
                          trace=traceback.format_exc())
                break
        if not _catch_buffered(uow, loaded):
            break
    _save(uow, loaded, actor)


def _catch_buffered(uow: UnitOfWork, loaded: Loaded) -> bool:
    """Deliver one buffered, unexpired message that this instance now waits for."""
    waiting = {getattr(d, "name", None): t
               for t in loaded.workflow.get_tasks(state=TaskState.WAITING)
               for d in _event_definitions(t)}
    waiting.pop(None, None)
    if not waiting:
        return False
    pending = uow.session.scalars(
        select(Message).where(Message.name.in_(list(waiting)), Message.consumed_at.is_(None),
                              Message.expires_at > uow.now()).order_by(Message.id))
    for message in pending:
        wanted = json.loads(message.correlation)
        if wanted.get("instance_id") not in (None, loaded.instance.id) or \
                wanted.get("case_id") not in (None, loaded.instance.case_id):
            continue
        if _correlates(message, loaded.workflow, waiting[message.name]):
            _catch(uow, loaded, message)
            return True
    return False


def _engine_message(exc: Exception) -> str:
    return str(exc).split("\n")[0][:500] or type(exc).__name__


def _save(uow: UnitOfWork, loaded: Loaded, actor: Actor) -> None:
    instance, workflow = loaded.instance, loaded.workflow
    for guid, operator, params in loaded.requests:
        _enqueue_connector(uow, instance, guid, operator, params)
    loaded.requests.clear()
    _throw_events(uow, instance, workflow)
    now = uow.now()
    stalled = instance.status == RUNNING and _detect_stall(uow, loaded)
    if workflow.is_completed() and instance.status == RUNNING and not stalled:
        instance.status, instance.ended_at = COMPLETED, now
        audit.append(uow, actor, "runtime.instance_completed", subject_type="instance",
                     subject_id=instance.id)
        events.record(uow, events.InstanceCompleted(actor, instance.id, cases.get_case(
            uow, instance.case_id).organisation_id, instance.process_id))
    instance.state = spiff.dump_state(workflow)
    instance.updated_at = now
    _sync_human_tasks(uow, loaded)
    _sync_timers(uow, loaded)
    try:
        uow.session.flush()
    except StaleDataError:
        uow.rollback()
        raise Conflict("Ce dossier a été modifié entre-temps : rechargez et recommencez.",
                       code="stale_instance") from None


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
        _incident(uow, loaded.instance, "stalled",
                  f"Le protocole ne progresse plus : {reason}. Un administrateur doit "
                  "examiner l'instance.", task_guid=str(stuck[0].id) if stuck else None)
    return True


def _lanes(instance: Instance) -> dict[str, int]:
    return {k: int(v) for k, v in json.loads(instance.lanes or "{}").items()}


def _bind_lane(uow: UnitOfWork, loaded: Loaded, role: str, data: Mapping[str, Any]) -> int | None:
    """The organisation acting in `role` for this instance, bound once and then kept.

    Order: an existing binding; an organisation slug in the workflow data under
    `organisation_<ROLE>` (a routing field of a form or a diagram parameter); the starter's
    organisation when it has members in that role.
    """
    lanes = _lanes(loaded.instance)
    if role in lanes:
        return lanes[role]
    chosen: int | None = None
    slug = data.get(f"organisation_{role}") or loaded.workflow.data.get(f"organisation_{role}")
    if isinstance(slug, str):
        from engine.identity.service import find_organisation

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


def _sync_human_tasks(uow: UnitOfWork, loaded: Loaded) -> None:
    """Mirror the workflow's ready human tasks; a suspended instance's tasks are set aside."""
    instance, workflow = loaded.instance, loaded.workflow
    rows = {r.task_guid: r for r in uow.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id,
                                HumanTask.state.in_(("ready", "suspended"))))}
    if instance.status == SUSPENDED:
        for row in rows.values():
            row.state = "suspended"
        return
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
    for guid, task in ready.items():
        if guid not in rows:
            _add_human_task(uow, loaded, guid, task, now)


def _add_human_task(uow: UnitOfWork, loaded: Loaded, guid: str, task: Any,
                    now: datetime) -> None:
    lane = getattr(task.task_spec, "lane", None)
    org = _bind_lane(uow, loaded, lane, task.data) if lane else None
    uow.session.add(row := HumanTask(
        instance_id=loaded.instance.id, task_guid=guid,
        spec_name=task.task_spec.bpmn_id or task.task_spec.name,
        name=task.task_spec.bpmn_name or task.task_spec.name, lane=lane, organisation_id=org,
        form=_form_of(task.task_spec), state="ready", created_at=now))
    uow.session.flush()
    events.record(uow, events.TaskCreated(SYSTEM, row.id, loaded.instance.id, org, lane,
                                          loaded.instance.process_id))
    if lane and org is None:
        _incident(uow, loaded.instance, "lane_unbound",
                  f"Aucune organisation n'est désignée pour le rôle {lane} : précisez-la "
                  "dans le protocole ou le formulaire.", task_guid=guid)


def _form_of(task_spec: Any) -> str | None:
    extensions = getattr(task_spec, "extensions", None) or {}
    return (extensions.get("properties") or {}).get("formJsonSchemaFilename")


def _sync_timers(uow: UnitOfWork, loaded: Loaded) -> None:
    instance = loaded.instance
    uow.session.execute(delete(DueTimer).where(DueTimer.instance_id == instance.id))
    if instance.status != RUNNING:
        return
    for value in _timer_values(loaded.workflow):
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
    from datetime import UTC

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
        _store_message(uow, name, correlation, _routing_only(payload),
                       f"instance-{instance.id}-{uow.now().timestamp()}-{name}")


def _routing_only(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items()
            if isinstance(v, str | int | float | bool) or v is None}


def _incident(uow: UnitOfWork, instance: Instance, kind: str, error: str, *,
              task_guid: str | None = None, trace: str | None = None, attempts: int = 0,
              outbox_id: int | None = None) -> Incident:
    incident = Incident(instance_id=instance.id, task_guid=task_guid, kind=kind, error=error,
                        attempts=attempts, traceback=trace, outbox_id=outbox_id,
                        created_at=uow.now())
    uow.session.add(incident)
    uow.session.flush()
    audit.append(uow, SYSTEM, "runtime.incident_opened", subject_type="instance",
                 subject_id=instance.id, incident=incident.id, kind=kind)
    events.record(uow, events.IncidentOpened(SYSTEM, incident.id, instance.id, kind))
    return incident


# --- human tasks ---------------------------------------------------------------------------

def visible_task(uow: UnitOfWork, principal: Principal, task_id: int) -> HumanTask:
    """A task the principal may act on: their role in the lane's bound organisation."""
    task = uow.session.get(HumanTask, task_id)
    if task is None or not _may_act(principal, task):
        raise NotFound("Tâche introuvable.", code="task_not_found")
    return task


def _may_act(principal: Principal, task: HumanTask) -> bool:
    if task.organisation_id is None:
        return False
    if task.lane is None:
        return any(g.organisation_id == task.organisation_id for g in principal.grants)
    return principal.has_role(task.lane, task.organisation_id)


def ready_tasks(uow: UnitOfWork, principal: Principal, limit: int = 200) -> list[HumanTask]:
    """The principal's ready tasks (the worklist), newest last."""
    clauses = [(HumanTask.organisation_id == g.organisation_id) & (HumanTask.lane == g.role)
               for g in principal.grants]
    if not clauses:
        return []
    from sqlalchemy import or_

    stmt = (select(HumanTask).where(HumanTask.state == "ready", or_(*clauses))
            .order_by(HumanTask.id).limit(limit))
    return list(uow.session.scalars(stmt))


def complete_task(uow: UnitOfWork, principal: Principal, task_id: int, data: Any,
                  expected_version: int | None = None) -> Instance:
    """Validate the form, store the submission encrypted, run the task and advance."""
    row = visible_task(uow, principal, task_id)
    if row.state != "ready":
        raise Conflict("Cette tâche a déjà été traitée.", code="task_already_completed")
    instance = uow.session.get(Instance, row.instance_id)
    assert instance is not None
    if instance.status != RUNNING:
        raise Conflict("Ce protocole n'est pas en cours (suspendu ou terminé).",
                       code="instance_not_running")
    if expected_version is not None and expected_version != instance.version:
        raise Conflict("Ce dossier a été modifié entre-temps : rechargez et recommencez.",
                       code="stale_instance")
    submission = data if data is not None else {}
    if not isinstance(submission, dict):
        raise Invalid("Les données doivent être un objet.",
                      [{"field": "data", "message": "Un objet JSON est attendu."}])
    loaded = load(uow, instance)
    task = loaded.workflow.get_task_from_id(UUID(row.task_guid))
    if task is None or not task.has_state(TaskState.READY):
        raise Conflict("Cette tâche n'est plus disponible.", code="task_already_completed")
    routing: dict[str, Any] = {}
    if row.form:
        form, fixed = _task_form(uow, loaded.version, row, task)
        try:
            cleaned = form.validate({**fixed, **submission})
        except forms.FormInvalid as exc:
            raise Invalid("Le formulaire contient des erreurs.", exc.errors) from None
        case = cases.get_case(uow, instance.case_id)
        record = cases.store_record(uow, principal.actor, case, kind="form", payload=cleaned,
                                    categories=form.categories(),
                                    organisation_id=row.organisation_id or 0, form=row.form,
                                    instance_id=instance.id, task_ref=row.spec_name)
        routing = form.routing_data(cleaned)
        routing[f"record_{row.spec_name}"] = record.id
    elif submission:
        raise Invalid("Cette étape n'attend aucune donnée.",
                      [{"field": "data", "message": "Aucune donnée attendue."}])
    task.data.update(routing)
    with spiff.clock_context(uow.db.clock):
        task.run()
    row.completed_by, row.completed_at = principal.user_id, uow.now()
    audit.append(uow, principal.actor, "runtime.task_completed", subject_type="instance",
                 subject_id=instance.id, organisation_id=row.organisation_id, task=row.id,
                 spec=row.spec_name)
    _advance(uow, loaded, principal.actor)
    return instance


# --- lifecycle -----------------------------------------------------------------------------

def _involves(uow: UnitOfWork, instance: Instance, organisations: set[int]) -> bool:
    case = cases.get_case(uow, instance.case_id)
    return case.organisation_id in organisations \
        or bool(organisations & set(_lanes(instance).values()))


def visible_instance(uow: UnitOfWork, principal: Principal, instance_id: int) -> Instance:
    """An instance the principal's organisation owns or acts in; otherwise 'not found'."""
    instance = uow.session.get(Instance, instance_id)
    if instance is None:
        raise NotFound("Instance introuvable.", code="instance_not_found")
    if principal.has_role(Role.ADMIN) or _involves(
            uow, instance, {g.organisation_id for g in principal.grants}):
        return instance
    raise NotFound("Instance introuvable.", code="instance_not_found")


def set_status(uow: UnitOfWork, principal: Principal, instance_id: int, action: str) -> Instance:
    """suspend, resume or terminate (administrators, or the owning organisation's starter role)."""
    instance = visible_instance(uow, principal, instance_id)
    require_role(principal, Role.ADMIN)
    transitions = {"suspend": ({RUNNING}, SUSPENDED), "resume": ({SUSPENDED}, RUNNING),
                   "terminate": ({RUNNING, SUSPENDED}, TERMINATED)}
    if action not in transitions:
        raise Invalid(f"Action inconnue : {action}.")
    allowed, target = transitions[action]
    if instance.status not in allowed:
        raise Conflict(f"Impossible : l'instance est « {instance.status} ».",
                       code="invalid_transition")
    loaded = load(uow, instance)
    instance.status = target
    if target == TERMINATED:
        instance.ended_at = uow.now()
        loaded.workflow.cancel()
    audit.append(uow, principal.actor, f"runtime.instance_{target}", subject_type="instance",
                 subject_id=instance.id)
    if target == RUNNING:
        _advance(uow, loaded, principal.actor)
    else:
        _save(uow, loaded, principal.actor)
    return instance


# --- timers --------------------------------------------------------------------------------

def due_timers(uow: UnitOfWork, limit: int = 100) -> list[int]:
    """Claim the instances with a due timer (SKIP LOCKED on PostgreSQL)."""
    stmt = (select(DueTimer.instance_id).where(DueTimer.due_at <= uow.now())
            .order_by(DueTimer.due_at).limit(limit))
    if uow.dialect == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return sorted(set(uow.session.scalars(stmt)))


def fire_timers(uow: UnitOfWork, instance_id: int) -> None:
    instance = uow.session.get(Instance, instance_id)
    if instance is None or instance.status != RUNNING:
        uow.session.execute(delete(DueTimer).where(DueTimer.instance_id == instance_id))
        return
    loaded = load(uow, instance)
    audit.append(uow, SYSTEM, "runtime.timers_fired", subject_type="instance",
                 subject_id=instance.id)
    _advance(uow, loaded, SYSTEM)


# --- messages ------------------------------------------------------------------------------

def _store_message(uow: UnitOfWork, name: str, correlation: Mapping[str, Any],
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


# Messages only the platform itself sends, never a caller of the API: routing's receipt
# ("accuse_reception", sent once the recipient organisation has signed) would otherwise be
# forgeable by anyone allowed to post messages to the instance; likewise consent's
# "consentement_retire" (sent to the case's instances when a consent is withdrawn).
PLATFORM_MESSAGES = frozenset({"accuse_reception", "consentement_retire"})


def receive_message(uow: UnitOfWork, actor: Actor, *, name: str,
                    correlation: Mapping[str, Any], payload: Mapping[str, Any],
                    message_id: str, visible_to: set[int] | None = None,
                    starter: Principal | None = None,
                    from_platform: bool = False) -> tuple[Message | None, int | None]:
    """Store a message (once per message_id) and deliver it if an instance waits for it;
    else, with a `starter`, start a protocol whose start event waits for it; else buffer it
    until it expires. Names in PLATFORM_MESSAGES are accepted only `from_platform`."""
    if not name or not message_id:
        raise Invalid("Message incomplet.", [{"field": "name", "message": "Obligatoire."}])
    if name in PLATFORM_MESSAGES and not from_platform:
        raise PermissionDenied(f"Le message « {name} » est réservé à la plateforme : il "
                               "n'est émis qu'avec un accusé de réception signé.",
                               code="reserved_message")
    message = _store_message(uow, name, correlation, _routing_only(payload), message_id)
    if message is None:
        return None, None
    audit.append(uow, actor, "runtime.message_received", subject_type="message",
                 subject_id=message.id, name=name)
    delivered = deliver_message(uow, message, visible_to)
    if delivered is None and starter is not None:
        delivered = start_by_message(uow, starter, message)
    return message, delivered


def _event_definitions(task: Any) -> list[Any]:
    """What a waiting task waits for: its event definition, or each of those an event-based
    gateway (a multiple event definition) waits for on behalf of its catch events."""
    definition = getattr(task.task_spec, "event_definition", None)
    if definition is None:
        return []
    children = getattr(definition, "event_definitions", None)
    return list(children) if isinstance(children, list) else [definition]


def _waiting_for(workflow: Any, name: str) -> list[Any]:
    return [t for t in workflow.get_tasks(state=TaskState.WAITING)
            if any(getattr(d, "name", None) == name for d in _event_definitions(t))]


def _correlates(message: Message, workflow: Any, task: Any) -> bool:
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


def deliver_message(uow: UnitOfWork, message: Message,
                    visible_to: set[int] | None = None) -> int | None:
    """Deliver a pending message to the one running instance it correlates with, if any.

    `visible_to` limits delivery to instances whose case or lanes involve those organisations
    (a partner's API message never reaches an instance it could not see).
    """
    wanted = json.loads(message.correlation)
    stmt = select(Instance).where(Instance.status == RUNNING)
    if "instance_id" in wanted:
        stmt = stmt.where(Instance.id == wanted["instance_id"])
    if "case_id" in wanted:
        stmt = stmt.where(Instance.case_id == wanted["case_id"])
    for instance in uow.session.scalars(stmt.order_by(Instance.id)):
        if visible_to is not None and not _involves(uow, instance, visible_to):
            continue
        loaded = load(uow, instance)
        waiting = _waiting_for(loaded.workflow, message.name)
        if not waiting or not _correlates(message, loaded.workflow, waiting[0]):
            continue
        _catch(uow, loaded, message)
        _advance(uow, loaded, SYSTEM)
        return instance.id
    return None


def _catch(uow: UnitOfWork, loaded: Loaded, message: Message) -> None:
    from SpiffWorkflow.bpmn.util.event import BpmnEvent

    waiting = _waiting_for(loaded.workflow, message.name)
    # The waiting task's own definition: spiff and plain BPMN classes compare unequal (an
    # event-based gateway waits with its catch events' definitions: the one of this name).
    definition = next(d for d in _event_definitions(waiting[0])
                      if getattr(d, "name", None) == message.name)
    with spiff.clock_context(uow.db.clock):
        loaded.workflow.catch(BpmnEvent(definition, json.loads(message.payload)))
    message.consumed_at, message.consumed_by = uow.now(), loaded.instance.id
    audit.append(uow, SYSTEM, "runtime.message_delivered", subject_type="instance",
                 subject_id=loaded.instance.id, message=message.id, name=message.name)


def _message_starts(version: ProcessVersion, name: str) -> bool:
    spec, _subs = spiff.restored_spec(version.id, version.spec)
    return any(getattr(getattr(ts, "event_definition", None), "name", None) == name
               for ts in spec.start.outputs)


def start_by_message(uow: UnitOfWork, principal: Principal, message: Message) -> int | None:
    """Start the newest protocol whose start event waits for this message, if the sender may.

    The instance opens on the correlated case when the sender can see it, else on a new case.
    """
    for version in latest_versions(uow):
        if not _message_starts(version, message.name) or not can_start(principal, version):
            continue
        case_id = json.loads(message.correlation).get("case_id")
        if case_id is not None:
            cases.visible_case(uow, principal, int(case_id))
        return _create_instance(uow, principal, version, case_id, message).instance.id
    return None


# --- service tasks (called by the outbox actor) --------------------------------------------

def resume_service_task(uow: UnitOfWork, item: OutboxItem, result: dict[str, Any]) -> None:
    """Complete the waiting service task with its connector's result, then advance."""
    instance = uow.session.get(Instance, item.instance_id)
    if instance is None or instance.status != RUNNING:
        return
    loaded = load(uow, instance)
    task = loaded.workflow.get_task_from_id(UUID(item.task_guid))
    if task is None or not task.has_state(TaskState.STARTED):
        return  # already resumed: idempotent
    task.data[task.task_spec.result_variable] = _routing_only(result)
    with spiff.clock_context(uow.db.clock):
        task.complete()
    audit.append(uow, SYSTEM, "runtime.service_task_completed", subject_type="instance",
                 subject_id=instance.id, outbox=item.id, operator=item.operator)
    _advance(uow, loaded, SYSTEM)


def service_task_failed(uow: UnitOfWork, item: OutboxItem, error: str, trace: str | None,
                        kind: str = "connector_failed") -> Incident:
    instance = uow.session.get(Instance, item.instance_id)
    assert instance is not None
    return _incident(uow, instance, kind, error, task_guid=item.task_guid,
                     trace=trace, attempts=item.attempts, outbox_id=item.id)


# --- incidents -----------------------------------------------------------------------------

def open_incidents(uow: UnitOfWork, principal: Principal) -> list[Incident]:
    require_role(principal, Role.ADMIN)
    return list(uow.session.scalars(select(Incident).where(Incident.resolved_at.is_(None))
                                    .order_by(Incident.id)))


# --- read models for the API and pages -----------------------------------------------------

def instance_summary(uow: UnitOfWork, principal: Principal, instance: Instance) -> dict[str, Any]:
    """Status, the caller's ready tasks and the history of steps the caller may see."""
    version = uow.session.get(ProcessVersion, instance.process_version_id)
    rows = list(uow.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)
                                    .order_by(HumanTask.id)))
    return {
        "id": instance.id, "process_id": instance.process_id,
        "version": version.version if version else None, "status": instance.status,
        "case_id": instance.case_id, "revision": instance.version,
        "started_at": instance.started_at.isoformat(),
        "ready_tasks": [task_summary(r, instance) for r in rows
                        if r.state == "ready" and _may_act(principal, r)],
        "history": [{"name": r.name, "lane": r.lane, "state": r.state,
                     "completed_at": r.completed_at.isoformat() if r.completed_at else None}
                    for r in rows if r.state != "ready"
                    and (r.organisation_id in {g.organisation_id for g in principal.grants})],
    }


def task_summary(row: HumanTask, instance: Instance) -> dict[str, Any]:
    return _task_summary(row, instance.process_id)


def _task_summary(row: HumanTask, process_id: str) -> dict[str, Any]:
    return {"id": row.id, "instance_id": row.instance_id, "process_id": process_id,
            "name": row.name, "lane": row.lane, "form_name": row.form,
            "created_at": row.created_at.isoformat()}


def worklist(uow: UnitOfWork, principal: Principal) -> list[dict[str, Any]]:
    """The principal's ready tasks with their process ids (instance states are not loaded)."""
    rows = ready_tasks(uow, principal)
    process_of = {iid: pid for iid, pid in uow.session.execute(
        select(Instance.id, Instance.process_id)
        .where(Instance.id.in_({r.instance_id for r in rows})))} if rows else {}
    return [_task_summary(r, process_of[r.instance_id]) for r in rows]


def task_form(uow: UnitOfWork, task: HumanTask) -> dict[str, Any] | None:
    """The task's form as the professional sees it, with the diagram's fixed values filled."""
    if not task.form:
        return None
    instance = uow.session.get(Instance, task.instance_id)
    if instance is None:
        return None
    loaded = load(uow, instance)
    spiff_task = loaded.workflow.get_task_from_id(UUID(task.task_guid))
    form, _fixed = _task_form(uow, loaded.version, task, spiff_task)
    return {"schema": form.schema, "ui": form.ui}


PREFILL = "prefill."


def _task_form(uow: UnitOfWork, version: ProcessVersion, row: HumanTask,
               task: Any) -> tuple[forms.Form, dict[str, Any]]:
    """The deployed form with the values the diagram fixes for this task.

    A user task's spiff property `prefill.<field>` is an expression evaluated on the task's
    data (e.g. `prefill.recipients` = `[organisation_ASSOCIATION]`); the value is shown to the
    professional and is the only one accepted (a consent covers exactly what the diagram
    will send).
    """
    form = form_of_version(uow, version, row.form or "")
    properties = (getattr(task.task_spec, "extensions", None) or {}).get("properties") or {} \
        if task is not None else {}
    fixed: dict[str, Any] = {}
    for name, expression in properties.items():
        if not name.startswith(PREFILL):
            continue
        field = name[len(PREFILL):]
        if field not in form.properties:
            continue
        try:
            with spiff.clock_context(uow.db.clock):
                fixed[field] = task.workflow.script_engine.evaluate(task, expression)
        except SpiffWorkflowException as exc:
            raise RelaisError(f"Le protocole ne peut pas préparer le champ « {field} » de ce "
                              f"formulaire ({_engine_message(exc)}) : signalez-le à "
                              "l'administrateur.", code="form_prefill_failed",
                              status=409) from None
    return (form.with_fixed(fixed) if fixed else form), fixed


# --- administration: migration and incidents -----------------------------------------------

def migrate_instance(uow: UnitOfWork, principal: Principal, instance_id: int,
                     target_version: int | None = None) -> Instance:
    """Move a running instance to a newer version when SpiffWorkflow's diff allows it.

    Refused (with the reasons, in French) when a task the instance has reached no longer
    exists in the target version, or a running sub-process has no counterpart.
    """
    from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow

    require_role(principal, Role.ADMIN)
    instance = visible_instance(uow, principal, instance_id)
    if instance.status not in {RUNNING, SUSPENDED}:
        raise Conflict("Seule une instance en cours ou suspendue peut être migrée.",
                       code="invalid_transition")
    current = uow.session.get(ProcessVersion, instance.process_version_id)
    assert current is not None
    target = _target_version(uow, current, target_version)
    loaded = load(uow, instance)
    spec, subprocess_specs = spiff.restored_spec(target.id, target.spec)
    top, subs = diff_workflow(spiff.SERIALIZER.registry, loaded.workflow, spec, subprocess_specs)
    # Predicted tasks are simply re-predicted; a step already reached must still exist.
    reasons = [{"field": t.task_spec.bpmn_id or t.task_spec.name,
                "message": f"l'étape « {t.task_spec.bpmn_name or t.task_spec.name} », déjà "
                           f"atteinte, n'existe plus dans la version {target.version}"}
               for t in top.removed if not t.has_state(TaskState.PREDICTED_MASK)]
    reasons += [{"field": str(sp_id), "message": "un sous-processus en cours n'existe plus"}
                for sp_id, diff in subs.items() if diff is None]
    if reasons:
        raise Invalid(f"Migration vers la version {target.version} impossible.", reasons,
                      code="migration_refused")
    migrate_workflow(top, loaded.workflow, spec)
    loaded.workflow.subprocess_specs = subprocess_specs
    for sp_id, diff in subs.items():
        sub = loaded.workflow.subprocesses[sp_id]
        migrate_workflow(diff, sub, subprocess_specs[sub.spec.name])
    instance.process_version_id = target.id
    loaded.version = target
    audit.append(uow, principal.actor, "runtime.instance_migrated", subject_type="instance",
                 subject_id=instance.id, from_version=current.version, to_version=target.version)
    if instance.status == RUNNING:
        _advance(uow, loaded, principal.actor)
    else:
        _save(uow, loaded, principal.actor)
    return instance


def _target_version(uow: UnitOfWork, current: ProcessVersion,
                    wanted: int | None) -> ProcessVersion:
    stmt = select(ProcessVersion).where(ProcessVersion.process_id == current.process_id)
    if wanted is None:
        stmt = stmt.order_by(ProcessVersion.version.desc()).limit(1)
    else:
        stmt = stmt.where(ProcessVersion.version == wanted)
    target = uow.session.scalars(stmt).first()
    if target is None:
        raise NotFound(f"Version {wanted} inconnue pour ce protocole.", code="version_not_found")
    if target.version <= current.version:
        raise Conflict("L'instance est déjà à cette version ou à une plus récente.",
                       code="nothing_to_migrate")
    return target


def retry_incident(uow: UnitOfWork, principal: Principal, incident_id: int) -> Incident:
    """An administrator retries: a failed connector runs again; an engine error re-runs steps."""
    require_role(principal, Role.ADMIN)
    incident = uow.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("Incident introuvable.", code="incident_not_found")
    if incident.resolved_at is not None:
        raise Conflict("Cet incident est déjà résolu.", code="incident_resolved")
    instance = uow.session.get(Instance, incident.instance_id)
    assert instance is not None
    # Resolved first: if the cause persists, the retry opens a fresh incident.
    incident.resolved_at, incident.resolved_by = uow.now(), principal.user_id
    uow.session.flush()
    if incident.outbox_id is not None:
        item = uow.session.get(OutboxItem, incident.outbox_id)
        if item is not None and item.status == "failed":
            item.status, item.attempts, item.next_attempt_at = "pending", 0, uow.now()
    elif instance.status == RUNNING:
        _advance(uow, load(uow, instance), principal.actor)
    audit.append(uow, principal.actor, "runtime.incident_retried", subject_type="instance",
                 subject_id=instance.id, incident=incident.id, kind=incident.kind)
    return incident
