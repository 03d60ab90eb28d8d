"""Read-only views of the deployed process versions, for the administration pages.

Deploying (the only write) goes through `engine.runtime.service.deploy`; this module only
reads the runtime tables to list protocols, their versions and the diagram files stored
with a deployment. (Candidates to move into `engine.runtime.service` as query functions.)
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy import func, select

from engine.db import UnitOfWork
from engine.errors import NotFound
from engine.identity.models import User
from engine.runtime import loader
from engine.runtime import service as runtime
from engine.runtime.models import Deployment, DeploymentFile, ProcessVersion

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DIAGRAM_SUFFIXES = (".bpmn", ".dmn")
_ENCODING_DECL = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._-]+)(["'])""")


@dataclass(frozen=True)
class ProtocolRow:
    process_id: str
    name: str
    version: int
    deployed_at: datetime
    versions: int


@dataclass(frozen=True)
class VersionRow:
    version: int
    name: str
    deployed_at: datetime
    source: str
    deployed_by: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class DiagramFile:
    name: str
    xml: str  # decoded text whose XML declaration, if any, says UTF-8


def protocols(uow: UnitOfWork) -> list[ProtocolRow]:
    """Every deployed process: its newest version, when it was deployed, how many versions."""
    counts = {process_id: count for process_id, count in uow.session.execute(
        select(ProcessVersion.process_id, func.count()).group_by(ProcessVersion.process_id))}
    rows = []
    for version in runtime.latest_versions(uow):
        deployment = uow.session.get(Deployment, version.deployment_id)
        rows.append(ProtocolRow(version.process_id, version.name, version.version,
                                deployment.deployed_at, counts.get(version.process_id, 1)))
    return rows


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
                              files))
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
        return runtime.latest_version(uow, process_id)
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


def already_deployed(uow: UnitOfWork, files: Mapping[str, bytes]) -> bool:
    """True when these exact files were deployed before (deploying them again is a no-op)."""
    digest = loader.content_hash(files)
    return uow.session.scalar(select(func.count()).select_from(Deployment)
                              .where(Deployment.content_hash == digest)) > 0


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
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError:
        return False
    return any(p.get("id") == process_id for p in root.iterfind(f"{{{BPMN_NS}}}process"))
