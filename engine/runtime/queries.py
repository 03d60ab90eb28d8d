"""Read-only queries of the runtime: visibility, worklists, summaries, the catalogue of
deployed protocols (versions, diagram files) for the administration pages, incidents.

Nothing here writes: deploying and every step go through `engine.runtime.deployments` and
`engine.runtime.instances`.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import func, or_, select
from sqlalchemy.orm import make_transient_to_detached

from engine.audit import refusals
from engine.cases import disclosure
from engine.cases import service as cases
from engine.db import UnitOfWork
from engine.errors import NotFound
from engine.identity.models import User
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role
from engine.runtime.deployments import latest_version, latest_versions
from engine.runtime.models import (
    Deployment,
    DeploymentFile,
    HumanTask,
    Incident,
    Instance,
    ProcessVersion,
)
from engine.runtime.reading import UnsafeXml, parse_xml
from engine.runtime.vocabulary import BPMN_NS

DIAGRAM_SUFFIXES = (".bpmn", ".dmn")
_ENCODING_DECL = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._-]+)(["'])""")


def lanes_of(instance: Instance) -> dict[str, int]:
    return {k: int(v) for k, v in json.loads(instance.lanes or "{}").items()}


# --- human tasks ---------------------------------------------------------------------------

def visible_task(uow: UnitOfWork, principal: Principal, task_id: int) -> HumanTask:
    """A task the principal may act on: their role in the lane's bound organisation. Any
    other id answers the same 'not found' as an unknown one, and the refusal is audited
    (`runtime.access_refused`), ending the caller's unit of work."""
    task = uow.session.get(HumanTask, task_id)
    if task is None or not may_act(principal, task):
        raise refusals.refuse_read(uow, principal.actor, "runtime", "task", task_id,
                                   NotFound("Tâche introuvable.", code="task_not_found"),
                                   reason="unknown" if task is None else "not_visible")
    return task


def may_act(principal: Principal, task: HumanTask) -> bool:
    if task.organisation_id is None:
        return False
    if task.lane is None:
        return principal.belongs_to(task.organisation_id)
    return principal.has_role(task.lane, task.organisation_id)


WORKLIST_PAGE = 200


def ready_tasks(uow: UnitOfWork, principal: Principal, limit: int = WORKLIST_PAGE,
                after: int | None = None) -> list[HumanTask]:
    """The principal's ready tasks (the worklist), newest last.

    Keyset pagination: `after` is the last id of the previous page, so a page costs the same
    at any depth (an index range scan on `ix_human_task_worklist`, never an OFFSET).
    """
    clauses = [(HumanTask.organisation_id == g.organisation_id) & (HumanTask.lane == g.role)
               for g in principal.grants]
    if not clauses:
        return []
    stmt = select(HumanTask).where(HumanTask.state == "ready", or_(*clauses))
    if after is not None:
        stmt = stmt.where(HumanTask.id > after)
    return list(uow.session.scalars(stmt.order_by(HumanTask.id).limit(limit)))


def involves(uow: UnitOfWork, instance: Instance, organisations: set[int]) -> bool:
    case = cases.get_case(uow, instance.case_id)
    return case.organisation_id in organisations \
        or bool(organisations & set(lanes_of(instance).values()))


def takes_part(principal: Principal, instance: Instance) -> bool:
    """Visibility is by role, not by organisation: the principal holds the role of one of the
    instance's lanes in the organisation bound to it (police do not see the DPP's instances,
    the ITP secretariat not the social office's)."""
    return any(principal.has_role(role, organisation_id)
               for role, organisation_id in lanes_of(instance).items())


def visible_instance(uow: UnitOfWork, principal: Principal, instance_id: int) -> Instance:
    """An instance the principal takes part in (`takes_part`), or any instance for the
    platform administrator, who sees its operational metadata only (`instance_summary`
    leaves the case out). Otherwise the same 'not found' as an unknown id, audited."""
    instance = uow.session.get(Instance, instance_id)
    if instance is not None and (principal.has_role(Role.ADMIN)
                                 or takes_part(principal, instance)):
        return instance
    raise refusals.refuse_read(uow, principal.actor, "runtime", "instance", instance_id,
                               NotFound("Instance introuvable.", code="instance_not_found"),
                               reason="unknown" if instance is None else "not_visible")


def request_case_disclosure(uow: UnitOfWork, principal: Principal, instance_id: int,
                            reason: str) -> Any:
    """An administrator asks the organisation holding an instance's situation to disclose
    which one it is (engine.cases.disclosure); the answer comes from that organisation."""
    require_role(principal, Role.ADMIN)
    instance = visible_instance(uow, principal, instance_id)
    return disclosure.request(uow, principal, instance.case_id, reason, instance.id)


# --- incidents -----------------------------------------------------------------------------

def open_incidents(uow: UnitOfWork, principal: Principal) -> list[Incident]:
    require_role(principal, Role.ADMIN)
    return list(uow.session.scalars(select(Incident).where(Incident.resolved_at.is_(None))
                                    .order_by(Incident.id)))


# --- read models for the API and pages -----------------------------------------------------

def process_version(uow: UnitOfWork, version_id: int) -> ProcessVersion:
    """A deployed process version, read once per process and database.

    Versions are immutable once deployed (a change is a new version), so a step attaches a
    kept copy (`merge(load=False)`: no SELECT, not even of the spec text) instead of reading
    the row again. The copy is kept on the `Database`, so each database has its own.
    """
    key = ("process_version", version_id)
    kept = uow.db.immutable_rows.get(key)
    if kept is not None:
        return uow.session.merge(kept, load=False)
    version = uow.session.get(ProcessVersion, version_id)
    assert version is not None
    copy = ProcessVersion(**{c.key: getattr(version, c.key)
                             for c in ProcessVersion.__table__.columns})
    make_transient_to_detached(copy)
    uow.db.immutable_rows[key] = copy
    return version


def instance_summary(uow: UnitOfWork, principal: Principal, instance: Instance) -> dict[str, Any]:
    """Status, the caller's ready tasks and the history of steps the caller may see."""
    version = process_version(uow, instance.process_version_id)
    # One query, plain columns rather than ORM objects: a long follow-up has hundreds of rows.
    rows = list(uow.session.execute(
        select(HumanTask.id, HumanTask.instance_id, HumanTask.name, HumanTask.lane,
               HumanTask.form, HumanTask.state, HumanTask.created_at, HumanTask.completed_at,
               HumanTask.organisation_id)
        .where(HumanTask.instance_id == instance.id).order_by(HumanTask.id)))
    return {
        "id": instance.id, "process_id": instance.process_id,
        "version": version.version, "status": instance.status,
        # The situation only for those who take part: an administrator runs the platform
        # and follows no situation, unless the holder approved a disclosure (legal review).
        "case_id": instance.case_id if takes_part(principal, instance)
        or disclosure.disclosed(uow, principal, instance.case_id) else None,
        "revision": instance.version,
        "started_at": instance.started_at.isoformat(),
        "ready_tasks": [task_summary(r, instance) for r in rows
                        if r.state == "ready" and may_act(principal, r)],
        "history": [{"name": r.name, "lane": r.lane, "state": r.state,
                     "completed_at": r.completed_at.isoformat() if r.completed_at else None}
                    for r in rows if r.state != "ready"
                    and principal.belongs_to(r.organisation_id)],
    }


def task_summary(row: HumanTask, instance: Instance) -> dict[str, Any]:
    return _task_summary(row, instance.process_id)


def _task_summary(row: HumanTask, process_id: str) -> dict[str, Any]:
    return {"id": row.id, "instance_id": row.instance_id, "process_id": process_id,
            "name": row.name, "lane": row.lane, "form_name": row.form,
            "created_at": row.created_at.isoformat()}


def worklist(uow: UnitOfWork, principal: Principal, after: int | None = None,
             limit: int = WORKLIST_PAGE) -> list[dict[str, Any]]:
    """The principal's ready tasks with their process ids (instance states are not loaded);
    one page after the task id `after` (see `ready_tasks`)."""
    rows = ready_tasks(uow, principal, limit=min(limit, WORKLIST_PAGE), after=after)
    process_of = {iid: pid for iid, pid in uow.session.execute(
        select(Instance.id, Instance.process_id)
        .where(Instance.id.in_({r.instance_id for r in rows})))} if rows else {}
    return [_task_summary(r, process_of[r.instance_id]) for r in rows]


# --- the catalogue of deployed protocols (administration pages) ---------------------------

@dataclass(frozen=True)
class ProtocolRow:
    process_id: str
    name: str
    version: int
    deployed_at: datetime
    versions: int
    startable: bool = True  # False: every version is withdrawn from new starts


@dataclass(frozen=True)
class VersionRow:
    version: int
    name: str
    deployed_at: datetime
    source: str
    deployed_by: str
    files: tuple[str, ...]
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = None


@dataclass(frozen=True)
class DiagramFile:
    name: str
    xml: str  # decoded text whose XML declaration, if any, says UTF-8


def protocols(uow: UnitOfWork) -> list[ProtocolRow]:
    """Every deployed process: its newest version, when it was deployed, how many versions."""
    counts = {process_id: count for process_id, count in uow.session.execute(
        select(ProcessVersion.process_id, func.count()).group_by(ProcessVersion.process_id))}
    startable = set(uow.session.scalars(select(ProcessVersion.process_id).distinct()
                                        .where(ProcessVersion.withdrawn_at.is_(None))))
    rows = []
    for version in latest_versions(uow):
        deployment = uow.session.get(Deployment, version.deployment_id)
        rows.append(ProtocolRow(version.process_id, version.name, version.version,
                                deployment.deployed_at, counts.get(version.process_id, 1),
                                version.process_id in startable))
    return rows


def instances_by_version(uow: UnitOfWork, process_id: str) -> dict[int, dict[str, int]]:
    """How many instances each version of the protocol has, by status (running,
    suspended, completed, terminated); versions without instances are absent."""
    rows = uow.session.execute(
        select(ProcessVersion.version, Instance.status, func.count())
        .join(Instance, Instance.process_version_id == ProcessVersion.id)
        .where(ProcessVersion.process_id == process_id)
        .group_by(ProcessVersion.version, Instance.status))
    out: dict[int, dict[str, int]] = {}
    for version, status, count in rows:
        out.setdefault(version, {})[status] = count
    return out


def running_instance_ids(uow: UnitOfWork, process_id: str, version: int) -> list[int]:
    """The running or suspended instances of one version (what migration may move)."""
    return list(uow.session.scalars(
        select(Instance.id).join(ProcessVersion, Instance.process_version_id == ProcessVersion.id)
        .where(ProcessVersion.process_id == process_id, ProcessVersion.version == version,
               Instance.status.in_(("running", "suspended"))).order_by(Instance.id)))


def protocol_names(uow: UnitOfWork) -> dict[str, str]:
    """Each deployed protocol's name (its newest version's), by process id: the words the
    activity figures show for a protocol."""
    rows = uow.session.execute(select(ProcessVersion.process_id, ProcessVersion.name)
                               .order_by(ProcessVersion.process_id, ProcessVersion.version))
    return {process_id: name for process_id, name in rows}


def history(uow: UnitOfWork, process_id: str) -> list[VersionRow]:
    """The versions of one process, newest first; NotFound when it was never deployed."""
    versions = list(uow.session.scalars(select(ProcessVersion)
                                        .where(ProcessVersion.process_id == process_id)
                                        .order_by(ProcessVersion.version.desc())))
    if not versions:
        raise NotFound(f"Protocole inconnu : {process_id}.", code="process_not_found")
    out = []
    for version in versions:
        deployment = uow.session.get(Deployment, version.deployment_id)
        user = uow.session.get(User, deployment.deployed_by) if deployment.deployed_by else None
        files = tuple(uow.session.scalars(
            select(DeploymentFile.name).where(DeploymentFile.deployment_id == deployment.id)
            .order_by(DeploymentFile.name)))
        out.append(VersionRow(version.version, version.name, deployment.deployed_at,
                              deployment.source, user.username if user else deployment.source,
                              files, version.withdrawn_at, version.withdrawn_reason))
    return out


def diagram_files(uow: UnitOfWork, version: ProcessVersion) -> dict[str, bytes]:
    """The .bpmn and .dmn files deployed with this version (forms excluded)."""
    rows = uow.session.scalars(select(DeploymentFile)
                               .where(DeploymentFile.deployment_id == version.deployment_id)
                               .order_by(DeploymentFile.name))
    return {row.name: row.content for row in rows if row.name.lower().endswith(DIAGRAM_SUFFIXES)}


def version_of(uow: UnitOfWork, process_id: str, number: int | None) -> ProcessVersion:
    """One version of a process (the newest when `number` is None), or NotFound."""
    if number is None:
        return latest_version(uow, process_id)
    version = uow.session.scalars(select(ProcessVersion).where(
        ProcessVersion.process_id == process_id, ProcessVersion.version == number)).first()
    if version is None:
        raise NotFound(f"Version {number} inconnue pour le protocole {process_id}.",
                       code="version_not_found")
    return version


def diagram_of(uow: UnitOfWork, version: ProcessVersion) -> DiagramFile:
    """The .bpmn file of the version's deployment that defines its process, as text."""
    bpmn = {name: content for name, content in diagram_files(uow, version).items()
            if name.lower().endswith(".bpmn")}
    for name, content in bpmn.items():
        if len(bpmn) == 1 or _defines_process(content, version.process_id):
            return DiagramFile(name, as_utf8_text(content))
    raise NotFound(f"Le diagramme du protocole {version.process_id} est introuvable dans son "
                   "déploiement.", code="diagram_missing")


def as_utf8_text(content: bytes) -> str:
    """Decode a stored XML file by its declared encoding; the declaration then says UTF-8.

    Browsers' `fetch().text()` always decodes UTF-8, and bpmn-js takes a string: files
    declared ISO-8859-1 (six MIWG references) must reach it already decoded.
    """
    if content.startswith(codecs.BOM_UTF8):
        return content[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace")
    match = _ENCODING_DECL.match(content)
    encoding = match.group(2).decode("ascii") if match else "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = "utf-8"
    if match:
        content = _ENCODING_DECL.sub(rb"\g<1>UTF-8\g<3>", content, count=1)
    return content.decode(encoding, errors="replace")


def _defines_process(content: bytes, process_id: str) -> bool:
    try:
        root = parse_xml(content)
    except (UnsafeXml, etree.XMLSyntaxError):
        return False
    return any(p.get("id") == process_id for p in root.iterfind(f"{{{BPMN_NS}}}process"))
