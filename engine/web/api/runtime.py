"""API for protocols: processes, instances, tasks, messages, administration of models.

Views authenticate, call `engine.runtime.service`, and shape answers; no rule lives here.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Integer, List, Nested, String
from apiflask.validators import Length, Range
from flask import request

from engine.runtime import service as runtime
from engine.web.api.auth import auth, current
from engine.web.api.views import bp
from engine.web.context import uow
from engine.web.idempotency import idempotent


class ProcessOut(Schema):
    id = String(required=True)
    name = String(required=True)
    version = Integer(required=True)
    can_start = Boolean(required=True)


class StartIn(Schema):
    process_id = String(required=True, validate=Length(1, 120))
    case_id = Integer(load_default=None, allow_none=True)


class TaskOut(Schema):
    id = Integer(required=True)
    instance_id = Integer(required=True)
    process_id = String(required=True)
    name = String(required=True)
    lane = String(allow_none=True)
    form_name = String(allow_none=True)
    created_at = String()


class TaskDetailOut(TaskOut):
    form = Dict(allow_none=True)


class HistoryOut(Schema):
    name = String()
    lane = String(allow_none=True)
    state = String()
    completed_at = String(allow_none=True)


class InstanceOut(Schema):
    id = Integer(required=True)
    process_id = String(required=True)
    version = Integer(required=True)
    status = String(required=True)
    case_id = Integer(required=True, allow_none=True)
    revision = Integer()
    started_at = String()
    ready_tasks = List(Nested(TaskOut))
    history = List(Nested(HistoryOut))


class CompleteIn(Schema):
    data = Dict(load_default=dict)
    expected_version = Integer(load_default=None, allow_none=True)


class CompleteOut(Schema):
    instance = Nested(InstanceOut)


class MessageIn(Schema):
    name = String(required=True, validate=Length(1, 120))
    correlation = Dict(required=True)
    payload = Dict(load_default=dict)
    message_id = String(required=True, validate=Length(1, 120))


class MessageOut(Schema):
    status = String()
    delivered_to = Integer(allow_none=True)


class DeployedOut(Schema):
    id = String()
    name = String()
    version = Integer()


@bp.get("/processes")
@bp.auth_required(auth)
@bp.output(ProcessOut(many=True))
@bp.doc(summary="Protocoles déployés", description="Dernière version de chaque protocole.")
def processes() -> list[dict[str, Any]]:
    principal = current()
    return [{"id": v.process_id, "name": v.name, "version": v.version,
             "can_start": runtime.can_start(principal, v)}
            for v in runtime.available_versions(uow())]


@bp.post("/instances")
@bp.auth_required(auth)
@bp.input(StartIn, arg_name="body")
@bp.output(InstanceOut, status_code=201)
@bp.doc(summary="Lancer un protocole", description="Sans case_id, une situation est ouverte. "
        "Accepte l'en-tête Idempotency-Key.")
def start_instance(body: dict[str, Any]) -> Any:
    principal = current()

    def create() -> tuple[dict[str, Any], int]:
        instance = runtime.start_instance(uow(), principal, body["process_id"], body["case_id"])
        return runtime.instance_summary(uow(), principal, instance), 201

    return idempotent(principal.user_id, create)


@bp.get("/instances/<int:instance_id>")
@bp.auth_required(auth)
@bp.output(InstanceOut)
@bp.doc(summary="Une instance", description="Statut, tâches prêtes et historique visibles.")
def get_instance(instance_id: int) -> dict[str, Any]:
    principal = current()
    instance = runtime.visible_instance(uow(), principal, instance_id)
    return runtime.instance_summary(uow(), principal, instance)


@bp.post("/instances/<int:instance_id>/<any(suspend,resume,terminate):action>")
@bp.auth_required(auth)
@bp.output(InstanceOut)
@bp.doc(summary="Suspendre, reprendre ou arrêter une instance (administrateurs)")
def change_instance(instance_id: int, action: str) -> dict[str, Any]:
    principal = current()
    with runtime.concurrent_change_is_conflict(uow()):
        instance = runtime.set_status(uow(), principal, instance_id, action)
        summary = runtime.instance_summary(uow(), principal, instance)
        uow().commit()
    return summary


class TaskPageIn(Schema):
    after = Integer(load_default=None, allow_none=True, validate=Range(0, 2**53))
    limit = Integer(load_default=200, validate=Range(1, 200))


@bp.get("/tasks")
@bp.auth_required(auth)
@bp.input(TaskPageIn, location="query", arg_name="query")
@bp.output(TaskOut(many=True))
@bp.doc(summary="Mes tâches prêtes", description="Par identifiant croissant, 200 au plus par "
        "page ; la page suivante : `after` = identifiant de la dernière tâche reçue.")
def tasks(query: dict[str, Any]) -> list[dict[str, Any]]:
    return runtime.worklist(uow(), current(), after=query["after"], limit=query["limit"])


@bp.get("/tasks/<int:task_id>")
@bp.auth_required(auth)
@bp.output(TaskDetailOut)
@bp.doc(summary="Une tâche et son formulaire (JSON Schema 2020-12)")
def get_task(task_id: int) -> dict[str, Any]:
    task = runtime.visible_task(uow(), current(), task_id)
    instance = runtime.visible_instance(uow(), current(), task.instance_id)
    return {**runtime.task_summary(task, instance),
            "form": runtime.task_form(uow(), task)}


@bp.post("/tasks/<int:task_id>/complete")
@bp.auth_required(auth)
@bp.input(CompleteIn, arg_name="body")
@bp.output(CompleteOut)
@bp.doc(summary="Compléter une tâche", description="422 avec les erreurs par champ ; 409 si "
        "la tâche est déjà traitée ou si expected_version est dépassée.")
def complete_task(task_id: int, body: dict[str, Any]) -> dict[str, Any]:
    principal = current()
    with runtime.concurrent_change_is_conflict(uow()):  # the loser of a race: 409
        instance = runtime.complete_task(uow(), principal, task_id, body["data"],
                                         body["expected_version"])
        summary = runtime.instance_summary(uow(), principal, instance)
        uow().commit()
    return {"instance": summary}


@bp.post("/messages")
@bp.auth_required(auth)
@bp.input(MessageIn, arg_name="body")
@bp.output(MessageOut, status_code=202)
@bp.doc(summary="Envoyer un message", description="Corrélé aux instances en attente "
        "auxquelles l'organisation de l'appelant participe ; à défaut, démarre un protocole "
        "dont l'événement de début attend ce message (si l'appelant peut le lancer) ; sinon "
        "conservé avec une durée de vie ; dédoublonné par organisation et message_id. "
        "Corrélation et contenu : identifiants, codes, dates, nombres ou booléens "
        "seulement (422 sinon).")
def post_message(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    principal = current()
    message, delivered = runtime.receive_message(
        uow(), principal.actor, name=body["name"], correlation=body["correlation"],
        payload=body["payload"], message_id=body["message_id"], starter=principal)
    uow().commit()
    status = "duplicate" if message is None else ("delivered" if delivered else "buffered")
    return {"status": status, "delivered_to": delivered}, 202


@bp.post("/admin/process-models")
@bp.auth_required(auth)
@bp.output(DeployedOut(many=True), status_code=201)
@bp.doc(summary="Téléverser et déployer un diagramme (administrateurs)",
        description="multipart/form-data, champ « file » (un ou plusieurs .bpmn/.dmn).")
def upload_model() -> tuple[list[dict[str, Any]], int]:
    uploads = [runtime.Upload(u.filename or "", u.stream) for u in request.files.getlist("file")]
    versions, _created = runtime.deploy_uploads(uow(), current(), uploads, source="api")
    uow().commit()
    return [{"id": v.process_id, "name": v.name, "version": v.version} for v in versions], 201


class IncidentOut(Schema):
    id = Integer()
    instance_id = Integer()
    kind = String()
    error = String()
    attempts = Integer()
    traceback = String(allow_none=True)
    created_at = String()


class MigrateIn(Schema):
    version = Integer(load_default=None, allow_none=True)


def _incident(incident: Any) -> dict[str, Any]:
    return {"id": incident.id, "instance_id": incident.instance_id, "kind": incident.kind,
            "error": incident.error, "attempts": incident.attempts,
            "traceback": incident.traceback, "created_at": incident.created_at.isoformat()}


@bp.get("/admin/incidents")
@bp.auth_required(auth)
@bp.output(IncidentOut(many=True))
@bp.doc(summary="Incidents ouverts (administrateurs)",
        description="La trace technique n'est visible que des administrateurs.")
def incidents() -> list[dict[str, Any]]:
    return [_incident(i) for i in runtime.open_incidents(uow(), current())]


@bp.post("/admin/incidents/<int:incident_id>/retry")
@bp.auth_required(auth)
@bp.output(IncidentOut)
@bp.doc(summary="Relancer un incident (administrateurs)")
def retry_incident(incident_id: int) -> dict[str, Any]:
    incident = runtime.retry_incident(uow(), current(), incident_id)
    body = _incident(incident)
    uow().commit()
    return body


@bp.post("/admin/instances/<int:instance_id>/migrate")
@bp.auth_required(auth)
@bp.input(MigrateIn, arg_name="body")
@bp.output(InstanceOut)
@bp.doc(summary="Migrer une instance vers une version plus récente (administrateurs)",
        description="422 avec les raisons quand la différence des versions l'interdit.")
def migrate_instance(instance_id: int, body: dict[str, Any]) -> dict[str, Any]:
    principal = current()
    instance = runtime.migrate_instance(uow(), principal, instance_id, body["version"])
    summary = runtime.instance_summary(uow(), principal, instance)
    uow().commit()
    return summary
