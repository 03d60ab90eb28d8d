"""Withdrawing published versions from new starts, and putting them back.

A withdrawn version cannot be started any more (the protocol lists and `start_instance`
skip it); its running instances continue on it. New starts use the newest version that is
not withdrawn: withdrawing only the newest version sends new starts back to the previous
one; withdrawing the protocol withdraws all its versions, and it disappears from the lists
of protocols to start until a version is put back or a new one is published.
"""

from __future__ import annotations

from sqlalchemy import func, select

from engine.audit import service as audit
from engine.db import UnitOfWork
from engine.errors import Conflict, Invalid, NotFound
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role
from engine.runtime.models import ProcessVersion

MAX_REASON = 500


class ProtocolWithdrawn(Conflict):
    code = "protocol_withdrawn"


def withdraw(uow: UnitOfWork, principal: Principal, process_id: str, version: int | None,
             reason: str) -> list[ProcessVersion]:
    """Withdraw one version (or every version when `version` is None) from new starts."""
    require_role(principal, Role.ADMIN)
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > MAX_REASON:
        raise Invalid("Indiquez le motif du retrait (500 caractères au plus).",
                      [{"field": "motif", "message": "Motif obligatoire (500 caractères au "
                                                     "plus)."}])
    targets = [v for v in _versions(uow, process_id, version) if v.withdrawn_at is None]
    if not targets:
        raise Conflict("Déjà retiré des nouveaux lancements.", code="already_withdrawn")
    for target in targets:
        target.withdrawn_at, target.withdrawn_by = uow.now(), principal.user_id
        target.withdrawn_reason = reason
    audit.append(uow, principal.actor, "runtime.protocol_withdrawn",
                 subject_type="process", subject_id=process_id,
                 versions=[t.version for t in targets], reason=reason)
    return targets


def restore(uow: UnitOfWork, principal: Principal, process_id: str,
            version: int | None) -> list[ProcessVersion]:
    """Put back one version (or every version) into the protocols that can be started."""
    require_role(principal, Role.ADMIN)
    targets = [v for v in _versions(uow, process_id, version) if v.withdrawn_at is not None]
    if not targets:
        raise Conflict("Rien à remettre : ce protocole n'est pas retiré.",
                       code="not_withdrawn")
    for target in targets:
        target.withdrawn_at = target.withdrawn_by = target.withdrawn_reason = None
    audit.append(uow, principal.actor, "runtime.protocol_restored",
                 subject_type="process", subject_id=process_id,
                 versions=[t.version for t in targets])
    return targets


def available_version(uow: UnitOfWork, process_id: str) -> ProcessVersion:
    """The version a new start uses: the newest not withdrawn.

    NotFound for an unknown protocol; `ProtocolWithdrawn` (409) when every version is
    withdrawn.
    """
    versions = list(uow.session.scalars(select(ProcessVersion)
                                        .where(ProcessVersion.process_id == process_id)
                                        .order_by(ProcessVersion.version.desc())))
    if not versions:
        raise NotFound(f"Protocole inconnu : {process_id}.", code="process_not_found")
    for version in versions:
        if version.withdrawn_at is None:
            return version
    raise ProtocolWithdrawn(f"Le protocole « {versions[0].name} » a été retiré des nouveaux "
                            "lancements par l'administration : il ne peut plus être lancé. "
                            "Les situations déjà en cours continuent.")


def available_versions(uow: UnitOfWork) -> list[ProcessVersion]:
    """For each protocol that can be started, the version new starts use."""
    newest = (select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
              .where(ProcessVersion.withdrawn_at.is_(None))
              .group_by(ProcessVersion.process_id).subquery())
    stmt = (select(ProcessVersion)
            .join(newest, (ProcessVersion.process_id == newest.c.process_id)
                  & (ProcessVersion.version == newest.c.v))
            .order_by(ProcessVersion.process_id))
    return list(uow.session.scalars(stmt))


def _versions(uow: UnitOfWork, process_id: str, version: int | None) -> list[ProcessVersion]:
    stmt = select(ProcessVersion).where(ProcessVersion.process_id == process_id)
    if version is not None:
        stmt = stmt.where(ProcessVersion.version == version)
    found = list(uow.session.scalars(stmt.order_by(ProcessVersion.version)))
    if not found:
        what = f"Version {version} inconnue" if version is not None else "Protocole inconnu"
        raise NotFound(f"{what} : {process_id}.", code="process_not_found")
    return found
