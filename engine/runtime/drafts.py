"""Drafts of protocols: saved from the modeler, seen by every administrator, published once
the server's validation accepts them.

Guarantees:
- only administrators save, list, open, delete, check or publish drafts (`require_role`);
- a save naming an older revision than the stored one is a `Conflict` (409): two
  administrators never overwrite each other silently (optimistic concurrency);
- publishing runs every deployment rule (`loader.load_model`, the forms) PLUS the
  structural rules of `engine.runtime.structure`; any problem refuses the publication with
  the list of problems element by element (`PublishRefused.problems`), nothing is
  published and the refusal is audited;
- an accepted draft becomes a version through `deployments.deploy` (audited
  `runtime.deployed`), then the draft is deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select

import forms
from engine.audit import service as audit
from engine.db import UnitOfWork
from engine.errors import Conflict, Invalid, NotFound
from engine.identity.models import User
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role
from engine.runtime import loader, rules
from engine.runtime.deployments import (
    DeploymentRejected,
    Upload,
    _form_files,
    _refuse,
    already_deployed,
    deploy,
    read_uploads,
    safe_file_name,
)
from engine.runtime.errors import ModelRejected, Problem
from engine.runtime.models import ProcessVersion, ProtocolDraft
from engine.runtime.queries import diagram_files
from engine.runtime.reading import MAX_DIAGRAM_BYTES, UnsafeXml, parse_xml, read_all
from engine.runtime.structure import structural_problems
from engine.runtime.vocabulary import NS


class PublishRefused(Invalid):
    """The draft breaks rules: `problems` lists them as {element_id, element_name, message}."""

    code = "publish_refused"

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        count = len(problems)
        plural = "s" if count > 1 else ""
        super().__init__(f"Publication refusée : {count} problème{plural} à corriger.",
                         [{"field": ":".join(filter(None, [p.get("file"), p["element_id"]]))
                           or "_", "message": p["message"]} for p in problems])
        self.problems = problems


@dataclass(frozen=True)
class DraftRow:
    id: int
    process_id: str
    name: str
    file_name: str
    revision: int
    base_version: int | None
    updated_at: datetime
    updated_by: str


# --- save, list, open, delete --------------------------------------------------------------

def save_draft(uow: UnitOfWork, principal: Principal, xml: str, *, file_name: str,
               draft_id: int | None = None, revision: int | None = None,
               base_process_id: str | None = None) -> ProtocolDraft:
    """Create a draft (no `draft_id`) or update one whose stored revision is `revision`.

    `base_process_id` names the published protocol the new draft starts from (its newest
    version); None for a new protocol.
    """
    require_role(principal, Role.ADMIN)
    process_id, name = _read_process(xml)
    now = uow.now()
    if draft_id is None:
        base = _base_version(uow, base_process_id) if base_process_id else None
        draft = ProtocolDraft(process_id=process_id, name=name, xml=xml, forms="[]",
                              file_name=_file_name(file_name, base, uow),
                              base_version_id=base.id if base else None, revision=0,
                              created_by=principal.user_id, created_at=now)
        uow.session.add(draft)
    else:
        draft = _draft(uow, draft_id)
        if revision != draft.revision:
            raise Conflict(_conflict_message(uow, draft), code="draft_conflict")
        draft.process_id, draft.name, draft.xml = process_id, name, xml
    draft.forms = json.dumps(sorted(_forms_named(xml)))
    draft.revision += 1
    draft.updated_by, draft.updated_at = principal.user_id, now
    uow.session.flush()
    audit.append(uow, principal.actor, "runtime.draft_saved", subject_type="protocol_draft",
                 subject_id=draft.id, process_id=process_id, revision=draft.revision)
    return draft


def drafts(uow: UnitOfWork, principal: Principal,
           process_id: str | None = None) -> list[DraftRow]:
    """The drafts (of one protocol when `process_id` is given), most recently saved first."""
    require_role(principal, Role.ADMIN)
    stmt = select(ProtocolDraft).order_by(ProtocolDraft.updated_at.desc(), ProtocolDraft.id)
    if process_id is not None:
        stmt = stmt.where(ProtocolDraft.process_id == process_id)
    return [_row(uow, d) for d in uow.session.scalars(stmt)]


def get_draft(uow: UnitOfWork, principal: Principal, draft_id: int) -> ProtocolDraft:
    require_role(principal, Role.ADMIN)
    return _draft(uow, draft_id)


def draft_row(uow: UnitOfWork, principal: Principal, draft_id: int) -> DraftRow:
    return _row(uow, get_draft(uow, principal, draft_id))


def delete_draft(uow: UnitOfWork, principal: Principal, draft_id: int) -> None:
    require_role(principal, Role.ADMIN)
    draft = _draft(uow, draft_id)
    audit.append(uow, principal.actor, "runtime.draft_deleted", subject_type="protocol_draft",
                 subject_id=draft.id, process_id=draft.process_id, revision=draft.revision)
    uow.session.delete(draft)
    uow.session.flush()


def base_version(uow: UnitOfWork, draft: ProtocolDraft) -> ProcessVersion | None:
    """The published version the draft starts from (None for a new protocol)."""
    if draft.base_version_id is None:
        return None
    return uow.session.get(ProcessVersion, draft.base_version_id)


# --- check and publish ---------------------------------------------------------------------

def check_draft(uow: UnitOfWork, principal: Principal, draft_id: int,
                forms_dir: Path = forms.FORMS_DIR) -> list[dict[str, Any]]:
    """The problems that would refuse publishing this draft (empty: it can be published)."""
    require_role(principal, Role.ADMIN)
    return publication_problems(_files(uow, _draft(uow, draft_id)), forms_dir)


def publish_draft(uow: UnitOfWork, principal: Principal, draft_id: int, revision: int,
                  forms_dir: Path = forms.FORMS_DIR) -> list[ProcessVersion]:
    """Validate, deploy (a new version of each process), then delete the draft.

    A refusal ends the caller's unit of work: rolled back, audited
    (`runtime.publish_refused`), committed, then raised.
    """
    require_role(principal, Role.ADMIN)
    draft = _draft(uow, draft_id)
    if revision != draft.revision:
        raise Conflict(_conflict_message(uow, draft), code="draft_conflict")
    files = _files(uow, draft)
    problems = publication_problems(files, forms_dir)
    if problems:
        process_id = draft.process_id
        uow.rollback()
        audit.append(uow, principal.actor, "runtime.publish_refused",
                     subject_type="protocol_draft", subject_id=draft_id,
                     process_id=process_id, problems=len(problems))
        uow.commit()
        raise PublishRefused(problems)
    versions = deploy(uow, principal, files, source="web", forms_dir=forms_dir)
    audit.append(uow, principal.actor, "runtime.draft_published",
                 subject_type="protocol_draft", subject_id=draft.id,
                 process_id=draft.process_id,
                 versions={v.process_id: v.version for v in versions})
    uow.session.delete(draft)
    uow.session.flush()
    return versions


def publish_uploads(uow: UnitOfWork, principal: Principal, uploads: list[Upload], *,
                    source: str) -> tuple[list[ProcessVersion], bool]:
    """The administration's file import: the upload policy, then the same rules as
    publishing a draft (`publication_problems`), then `deploy`. Returns the versions and
    whether they are new. A refusal is audited (`runtime.deployment_refused`) and raised."""
    require_role(principal, Role.ADMIN)
    try:
        files = read_uploads(uploads)
        problems = publication_problems(files)
        if problems:
            raise PublishRefused(problems)
    except Invalid as exc:
        raise _refuse(uow, principal.actor, exc, source) from None
    created = not already_deployed(uow, files)
    return deploy(uow, principal, files, source=source), created


def publication_problems(files: dict[str, bytes],
                         forms_dir: Path = forms.FORMS_DIR) -> list[dict[str, Any]]:
    """Every reason to refuse publishing `files`: deployment rules, forms, structure."""
    found: list[Problem] = []
    try:
        model = loader.load_model(files, forms_dir)
        _form_files(model, forms_dir)
    except ModelRejected as exc:
        found.extend(exc.problems)
    except DeploymentRejected as exc:
        found.extend(Problem(**p) for p in exc.problems)
    try:
        documents = read_all(files)
    except ModelRejected:
        documents = []
    bpmn = [d for d in documents if d.kind == "bpmn"]
    found.extend(structural_problems(rules.executable_processes(bpmn)))
    names = _element_names(documents)
    return [{"element_id": p.element_id, "element_name": names.get(p.element_id or ""),
             "element_type": p.element_type, "file": p.file, "message": p.reason}
            for p in _unique(found)]


# --- helpers -------------------------------------------------------------------------------

def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str | None, str]] = set()
    out = []
    for p in problems:
        if (p.element_id, p.reason) not in seen:
            seen.add((p.element_id, p.reason))
            out.append(p)
    return out


def _element_names(documents: list[Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    for doc in documents:
        for element in doc.root.iter():
            if isinstance(element.tag, str) and element.get("id") and element.get("name"):
                names.setdefault(element.get("id"), element.get("name"))
    return names


def _files(uow: UnitOfWork, draft: ProtocolDraft) -> dict[str, bytes]:
    """The draft's diagram beside the other diagram files of the version it starts from."""
    base = base_version(uow, draft)
    files = dict(diagram_files(uow, base)) if base is not None else {}
    files[draft.file_name] = draft.xml.encode("utf-8")
    return files


def _read_process(xml: str) -> tuple[str, str]:
    """The id and name of the diagram's (first executable) process; Invalid when unreadable."""
    raw = xml.encode("utf-8")
    if not raw.strip() or len(raw) > MAX_DIAGRAM_BYTES:
        raise Invalid("Le diagramme est vide ou dépasse 2 Mio : rien n'a été enregistré.",
                      [{"field": "xml", "message": "Diagramme vide ou trop volumineux."}])
    try:
        root = parse_xml(raw)
    except (UnsafeXml, etree.XMLSyntaxError):
        raise Invalid("Le diagramme n'est pas un XML BPMN lisible : rien n'a été enregistré.",
                      [{"field": "xml", "message": "XML illisible."}]) from None
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable") == "true"] or processes
    if not executable or not executable[0].get("id"):
        raise Invalid("Le diagramme ne contient aucun processus : rien n'a été enregistré.",
                      [{"field": "xml", "message": "Aucun processus."}])
    process = executable[0]
    return process.get("id")[:120], (process.get("name") or process.get("id"))[:200]


def _forms_named(xml: str) -> set[str]:
    root = parse_xml(xml.encode("utf-8"))
    path = ".//spiffworkflow:property"
    return {p.get("value") or "" for p in root.iterfind(path, NS)
            if p.get("name") in ("formJsonSchemaFilename", "formUiSchemaFilename")} - {""}


def _base_version(uow: UnitOfWork, process_id: str) -> ProcessVersion:
    version = uow.session.scalars(select(ProcessVersion)
                                  .where(ProcessVersion.process_id == process_id)
                                  .order_by(ProcessVersion.version.desc()).limit(1)).first()
    if version is None:
        raise NotFound(f"Protocole inconnu : {process_id}.", code="process_not_found")
    return version


def _file_name(requested: str, base: ProcessVersion | None, uow: UnitOfWork) -> str:
    """The edited file keeps its deployed name; a new one gets a safe name."""
    if base is not None and requested in diagram_files(uow, base):
        return requested
    return safe_file_name(requested or "diagramme.bpmn", (".bpmn",))


def _draft(uow: UnitOfWork, draft_id: int) -> ProtocolDraft:
    draft = uow.session.get(ProtocolDraft, draft_id)
    if draft is None:
        raise NotFound("Brouillon introuvable : il a peut-être été publié ou supprimé.",
                       code="draft_not_found")
    return draft


def _username(uow: UnitOfWork, user_id: int | None) -> str:
    user = uow.session.get(User, user_id) if user_id else None
    return user.username if user else "plateforme"


def _conflict_message(uow: UnitOfWork, draft: ProtocolDraft) -> str:
    return (f"{_username(uow, draft.updated_by)} a enregistré ce brouillon entre-temps "
            f"(révision {draft.revision}) : rien n'a été enregistré. Téléchargez votre .bpmn "
            "pour garder vos modifications, rechargez le brouillon puis reportez-les.")


def _row(uow: UnitOfWork, draft: ProtocolDraft) -> DraftRow:
    base = base_version(uow, draft)
    return DraftRow(draft.id, draft.process_id, draft.name, draft.file_name, draft.revision,
                    base.version if base else None, draft.updated_at,
                    _username(uow, draft.updated_by))
