"""Deployments: validated, immutable versions of process models and their forms.

Guarantees:
- a model is stored only when `engine.runtime.loader` accepts it; a refused model is a
  `DeploymentRejected` (HTTP 422) listing every problem in French, and nothing is stored;
- each executable process gets a new version; identical content (same hash) is a no-op;
- the forms a model names are stored with its deployment: an instance keeps the forms of
  its version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select

import forms
from engine.audit import service as audit
from engine.audit.service import Actor
from engine.db import UnitOfWork
from engine.errors import Invalid, NotFound, RelaisError
from engine.identity.errors import PermissionDenied
from engine.identity.roles import Role
from engine.identity.service import Principal
from engine.runtime import loader, spiff
from engine.runtime.errors import ModelRejected, Problem
from engine.runtime.models import Deployment, DeploymentFile, ProcessVersion
from engine.runtime.reading import MAX_DIAGRAM_BYTES


class DeploymentRejected(Invalid):
    code = "model_rejected"

    def __init__(self, rejected: ModelRejected):
        errors = [{"field": ":".join(filter(None, [p.file, p.element_id])) or p.file,
                   "message": str(p)} for p in rejected.problems]
        super().__init__(rejected.report(), errors)
        self.problems = [p.as_dict() for p in rejected.problems]


# --- deployment ----------------------------------------------------------------------------

MAX_UPLOAD_FILES = 10
UPLOAD_SUFFIXES = (".bpmn", ".dmn")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# Who deploys: an administrator (a Principal), or the platform itself — an operator at the
# machine (`relais deploy`, `relais init`), whose actor names no user.
Deployer = Principal | Actor


@dataclass(frozen=True)
class Upload:
    """One uploaded file as the web received it: the name the client gave and its stream."""

    name: str
    stream: BinaryIO


def deploy(uow: UnitOfWork, by: Deployer, files: Mapping[str, bytes], *, source: str,
           forms_dir: Path = forms.FORMS_DIR) -> list[ProcessVersion]:
    """Validate and store a new immutable version of each executable process.

    Only administrators deploy: `by` is the administrator's Principal, or the platform's own
    Actor (no user). The forms the diagrams name are stored with the deployment, so a
    running instance keeps the forms of its version. Identical content (same hash) is a
    no-op returning the versions already deployed. A refusal (not an administrator, model
    rejected) ends the caller's unit of work: rolled back, audited
    (`runtime.deployment_refused`), committed, then raised.
    """
    actor = _deployer(uow, by, source)
    try:
        model = loader.load_model(files, forms_dir)
        form_files = _form_files(model, forms_dir)
    except ModelRejected as exc:
        raise _refuse(uow, actor, DeploymentRejected(exc), source,
                      content_hash=loader.content_hash(files)) from None
    except DeploymentRejected as exc:
        raise _refuse(uow, actor, exc, source, content_hash=loader.content_hash(files)) \
            from None
    existing = uow.session.scalars(select(Deployment)
                                   .where(Deployment.content_hash == model.content_hash)).first()
    if existing is not None:
        return versions_of(uow, existing)
    deployment = Deployment(content_hash=model.content_hash, source=source,
                            deployed_by=actor.user_id, deployed_at=uow.now())
    uow.session.add(deployment)
    uow.session.flush()
    for name, content in sorted({**files, **form_files}.items()):
        uow.session.add(DeploymentFile(deployment_id=deployment.id, name=name, content=content))
    versions = [_new_version(uow, deployment, model, pid) for pid in model.process_ids]
    audit.append(uow, actor, "runtime.deployed", subject_type="deployment",
                 subject_id=deployment.id, content_hash=model.content_hash, source=source,
                 processes={v.process_id: v.version for v in versions})
    return versions


def deploy_uploads(uow: UnitOfWork, principal: Principal, uploads: Sequence[Upload], *,
                   source: str) -> tuple[list[ProcessVersion], bool]:
    """Deploy uploaded files under the upload policy (`read_uploads`); returns the versions
    and whether they are new (False: identical content was already deployed)."""
    actor = _deployer(uow, principal, source)
    try:
        files = read_uploads(uploads)
    except Invalid as exc:
        raise _refuse(uow, actor, exc, source) from None
    created = not already_deployed(uow, files)
    return deploy(uow, principal, files, source=source), created


def read_uploads(uploads: Sequence[Upload]) -> dict[str, bytes]:
    """The upload policy, the same for the API and the administration pages: one to
    `MAX_UPLOAD_FILES` files, each a .bpmn or .dmn of at most `MAX_DIAGRAM_BYTES` (never read
    further), under a safe and distinct name (`safe_file_name`)."""
    if not uploads or len(uploads) > MAX_UPLOAD_FILES:
        raise Invalid(f"Choisissez un à {MAX_UPLOAD_FILES} fichiers .bpmn ou .dmn.",
                      [{"field": "file", "message": "Nombre de fichiers incorrect."}])
    files: dict[str, bytes] = {}
    for upload in uploads:
        name = safe_file_name(upload.name)
        content = upload.stream.read(MAX_DIAGRAM_BYTES + 1)
        if len(content) > MAX_DIAGRAM_BYTES:
            raise Invalid(f"Le fichier {name} dépasse la limite de 2 Mio.",
                          [{"field": "file", "message": f"Fichier trop volumineux : {name}"}])
        if name in files:
            raise Invalid(f"Deux fichiers portent le même nom : {name}.",
                          [{"field": "file", "message": f"Nom en double : {name}"}])
        files[name] = content
    return files


def safe_file_name(name: str, suffixes: tuple[str, ...] = UPLOAD_SUFFIXES) -> str:
    """The base name of an uploaded file, reduced to letters, digits, « . », « - », « _ »
    (at most 120 characters); Invalid unless it ends with one of `suffixes`."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    cleaned = _UNSAFE_NAME.sub("_", base)[-120:]
    if not cleaned.lower().endswith(suffixes):
        accepted = " et ".join(suffixes)
        raise Invalid(f"Seuls les fichiers {accepted} sont acceptés.",
                      [{"field": "file", "message": f"Extension refusée : {base or '?'}"}])
    return cleaned


def _deployer(uow: UnitOfWork, by: Deployer, source: str) -> Actor:
    """The actor deploying; PermissionDenied (audited) unless an administrator or the
    platform itself."""
    if isinstance(by, Principal):
        if by.has_role(Role.ADMIN):
            return by.actor
        raise _refuse(uow, by.actor, PermissionDenied("Seuls les administrateurs déploient "
                                                      "des protocoles."), source)
    if by.user_id is None:
        return by
    raise _refuse(uow, by, PermissionDenied("Seuls les administrateurs déploient des "
                                            "protocoles."), source)


def _refuse(uow: UnitOfWork, actor: Actor, exc: RelaisError, source: str,
            **details: Any) -> RelaisError:
    """End the caller's unit of work with an audited refusal; returns `exc` to raise."""
    uow.rollback()
    audit.append(uow, actor, "runtime.deployment_refused", subject_type="deployment",
                 subject_id=None, organisation_id=actor.organisation_id, source=source,
                 code=exc.code, problems=len(getattr(exc, "errors", None) or []), **details)
    uow.commit()
    return exc


def already_deployed(uow: UnitOfWork, files: Mapping[str, bytes]) -> bool:
    """True when these exact files were deployed before (deploying them again is a no-op)."""
    digest = loader.content_hash(files)
    return uow.session.scalar(select(func.count()).select_from(Deployment)
                              .where(Deployment.content_hash == digest)) > 0


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

