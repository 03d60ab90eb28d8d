"""Use cases on instances and tasks: start, complete a task, suspend/resume/terminate,
fire timers, resume service tasks, migrate to a newer version, retry incidents.

Each checks who may act, then runs one step through `engine.runtime.execution`.
Workflow data holds references, enumerations, booleans, numbers and dates only;
submissions go to `cases` encrypted (invariant 1).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select

import forms
from engine.audit import service as audit
from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.db import UnitOfWork
from engine.errors import Conflict, Invalid, NotFound, RelaisError
from engine.identity.errors import PermissionDenied
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role
from engine.runtime import connectors, spiff, upcoming
from engine.runtime.deployments import can_start, form_of_version
from engine.runtime.execution import (
    RUNNING,
    SUSPENDED,
    TERMINATED,
    advance,
    concurrent_change_is_conflict,
    create_instance,
    engine_message,
    load,
    open_incident,
    routing_only,
    save,
)
from engine.runtime.models import (
    DueTimer,
    HumanTask,
    Incident,
    Instance,
    OutboxItem,
    ProcessVersion,
)
from engine.runtime.queries import visible_instance, visible_task
from engine.runtime.vocabulary import ALLOWED, NEVER_PREFILLED, PREFILL
from engine.runtime.withdrawals import available_version


def start_instance(uow: UnitOfWork, principal: Principal, process_id: str,
                   case_id: int | None = None) -> Instance:
    """Start the newest version of `process_id` not withdrawn from new starts on a case (a
    new one when none is given); `ProtocolWithdrawn` (409) when every version is withdrawn."""
    version = available_version(uow, process_id)
    if not can_start(principal, version):
        raise PermissionDenied("Votre rôle ne permet pas de lancer ce protocole.")
    return create_instance(uow, principal, version, case_id).instance


def complete_task(uow: UnitOfWork, principal: Principal, task_id: int, data: Any,
                  expected_version: int | None = None) -> Instance:
    """Validate the form, store the submission encrypted, run the task and advance.

    A completion that loses a race with another one is a `Conflict` (409), whichever flush
    detects it; callers commit inside `concurrent_change_is_conflict` too.
    """
    with concurrent_change_is_conflict(uow):
        return _complete_task(uow, principal, task_id, data, expected_version)


def _complete_task(uow: UnitOfWork, principal: Principal, task_id: int, data: Any,
                   expected_version: int | None) -> Instance:
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
        _check_next_connector(uow, task, instance, row, form, cleaned)
        record = cases.store_record(uow, principal.actor, case, kind="form", payload=cleaned,
                                    categories=form.categories(),
                                    organisation_id=row.organisation_id or 0, form=row.form,
                                    instance_id=instance.id, task_ref=row.spec_name,
                                    stats=form.stat_facts(cleaned),
                                    gravity=form.retention_gravity(cleaned))
        routing = form.routing_data(cleaned)
        routing[f"record_{row.spec_name}"] = record.id
    elif submission:
        raise Invalid("Cette étape n'attend aucune donnée.",
                      [{"field": "data", "message": "Aucune donnée attendue."}])
    task.data.update(routing)
    with spiff.clock_context(uow.db.clock):
        task.run()
    # Every field of the completed row at once: one UPDATE (the sync then skips the row).
    row.completed_by, row.completed_at, row.state = principal.user_id, uow.now(), "completed"
    audit.append(uow, principal.actor, "runtime.task_completed", subject_type="instance",
                 subject_id=instance.id, organisation_id=row.organisation_id, task=row.id,
                 spec=row.spec_name)
    advance(uow, loaded, principal.actor)
    return instance


def _check_next_connector(uow: UnitOfWork, task: Any, instance: Instance, row: HumanTask,
                          form: forms.Form, cleaned: dict[str, Any]) -> None:
    """A value the next service task's connector would refuse is a field error now (422,
    nothing stored), not an accepted task followed by an incident."""
    routed = form.routing_data(cleaned)
    saved = dict(task.data)
    task.data.update(routed)
    try:
        refused = upcoming.refusals_of_next_connector(
            uow, task, set(routed), connectors.ValidationContext(
                uow, instance.id, instance.case_id, row.organisation_id or 0, routed))
    finally:
        task.data.clear()
        task.data.update(saved)
    if refused:
        raise Invalid("Le formulaire contient des erreurs.",
                      [{"field": f, "message": m} for f, m in refused.items()])


def set_status(uow: UnitOfWork, principal: Principal, instance_id: int, action: str,
               reason: str | None = None) -> Instance:
    """suspend, resume or terminate (administrators). `reason` is a code of
    `engine.runtime.operations.REASONS` when given (the console requires one); it is
    recorded in the audit row, never free text."""
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
    extra = {"reason": reason} if reason is not None else {}
    audit.append(uow, principal.actor, f"runtime.instance_{target}", subject_type="instance",
                 subject_id=instance.id, **extra)
    if target == RUNNING:
        advance(uow, loaded, principal.actor)
    else:
        save(uow, loaded, principal.actor)
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
    advance(uow, loaded, SYSTEM)


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
    task.data[task.task_spec.result_variable] = routing_only(result)
    with spiff.clock_context(uow.db.clock):
        task.complete()
    audit.append(uow, SYSTEM, "runtime.service_task_completed", subject_type="instance",
                 subject_id=instance.id, outbox=item.id, operator=item.operator)
    advance(uow, loaded, SYSTEM)


def service_task_failed(uow: UnitOfWork, item: OutboxItem, error: str, trace: str | None,
                        kind: str = "connector_failed") -> Incident:
    instance = uow.session.get(Instance, item.instance_id)
    assert instance is not None
    return open_incident(uow, instance, kind, error, task_guid=item.task_guid,
                     trace=trace, attempts=item.attempts, outbox_id=item.id)


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


def _task_form(uow: UnitOfWork, version: ProcessVersion, row: HumanTask,
               task: Any) -> tuple[forms.Form, dict[str, Any]]:
    """The deployed form with the values the diagram fixes for this task.

    A user task's spiff property `prefill.<field>` is an expression evaluated on the task's
    data (e.g. `prefill.recipients` = `[organisation_ASSOCIATION]`); the value is shown to the
    professional and is the only one accepted (a consent covers exactly what the diagram
    will send). `allowed.<field>` narrows a choice without answering it (`['written']`: the
    person's request must be written).
    """
    form = form_of_version(uow, version, row.form or "")
    properties = (getattr(task.task_spec, "extensions", None) or {}).get("properties") or {} \
        if task is not None else {}
    fixed: dict[str, Any] = {}
    allowed: dict[str, list[Any]] = {}
    for name, expression in properties.items():
        prefix = PREFILL if name.startswith(PREFILL) else ALLOWED if name.startswith(ALLOWED) \
            else None
        field = name[len(prefix):] if prefix else ""
        if prefix is None or field not in form.properties \
                or (prefix == PREFILL and field in NEVER_PREFILLED):  # older deployments
            continue
        value = _evaluate(uow, task, field, expression)
        if prefix == ALLOWED:
            allowed[field] = value if isinstance(value, list) else [value]
        else:
            fixed[field] = value
    if allowed:
        form = form.with_choices(allowed)
    return (form.with_fixed(fixed) if fixed else form), fixed


def _evaluate(uow: UnitOfWork, task: Any, field: str, expression: str) -> Any:
    try:
        with spiff.clock_context(uow.db.clock):
            return task.workflow.script_engine.evaluate(task, expression)
    except SpiffWorkflowException as exc:
        raise RelaisError(f"Le protocole ne peut pas préparer le champ « {field} » de ce "
                          f"formulaire ({engine_message(exc)}) : signalez-le à "
                          "l'administrateur.", code="form_prefill_failed", status=409) from None


# --- administration: migration and incidents -----------------------------------------------

def migrate_instance(uow: UnitOfWork, principal: Principal, instance_id: int,
                     target_version: int | None = None) -> Instance:
    """Move a running instance to a newer version when SpiffWorkflow's diff allows it.

    Refused (with the reasons, in French) when a task the instance has reached no longer
    exists in the target version, or a running sub-process has no counterpart.
    """
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
        advance(uow, loaded, principal.actor)
    else:
        save(uow, loaded, principal.actor)
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
        advance(uow, load(uow, instance), principal.actor)
    audit.append(uow, principal.actor, "runtime.incident_retried", subject_type="instance",
                 subject_id=instance.id, incident=incident.id, kind=incident.kind)
    return incident
