"""Running the platform from the administration console: incidents (open and resolved) with
their explanation, instances searched by protocol, status and start date, and changing an
instance's status with a reason. Administrators only.

Changing a status and retrying go through `engine.runtime.instances` (the same code as the
API); this module adds the searches and the reasons the console requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.errors import Invalid
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role
from engine.runtime.execution import COMPLETED, RUNNING, SUSPENDED, TERMINATED
from engine.runtime.instances import retry_incident, set_status
from engine.runtime.models import Incident, Instance, ProcessVersion

PAGE_SIZE = 50

STATUS_LABELS = {RUNNING: "En cours", SUSPENDED: "Suspendue", COMPLETED: "Terminée",
                 TERMINATED: "Arrêtée"}
ACTION_LABELS = {"suspend": "Suspendre", "resume": "Reprendre", "terminate": "Arrêter"}

# Why an administrator suspends, resumes or stops an instance: codes (the audit log holds no
# free text), in French on the page.
REASONS: dict[str, str] = {
    "demande_partenaire": "À la demande d'une organisation partenaire",
    "erreur_lancement": "Lancée par erreur ou en double",
    "incident_technique": "Incident technique en cours d'analyse",
    "hors_protocole": "La situation ne relève plus de ce protocole",
    "nouvelle_version": "En attente d'une nouvelle version du protocole",
    "reprise_normale": "Le problème est réglé : reprise normale",
}

INCIDENT_KINDS: dict[str, str] = {
    "connector_failed": "Un connecteur (envoi, message, service externe) a échoué après "
                        "plusieurs tentatives. Relancer le réessaie.",
    "connector_refused": "Un connecteur a refusé les paramètres du protocole. Corrigez le "
                         "protocole ou sa configuration, puis relancez.",
    "task_error": "Une étape automatique du protocole a échoué (script ou condition). "
                  "Relancer la rejoue ; si l'erreur revient, le protocole doit être corrigé.",
    "stalled": "L'instance ne peut plus avancer d'elle-même (aucune tâche ni attente). "
               "Relancer la réexamine.",
    "lane_unbound": "Aucune organisation du territoire n'est désignée pour un rôle du "
                    "protocole. Désignez-la, puis relancez.",
}


def explain(kind: str) -> str:
    """What an incident of this kind means and what retrying does, in French."""
    return INCIDENT_KINDS.get(kind, f"Incident de type « {kind} ».")


# --- incidents -----------------------------------------------------------------------------

def incidents(uow: UnitOfWork, principal: Principal, *, resolved: bool = False,
              since: datetime | None = None, until: datetime | None = None,
              limit: int = 200) -> list[Incident]:
    """Open incidents (oldest first), or resolved ones (newest resolution first) opened
    between `since` and `until` when given."""
    require_role(principal, Role.ADMIN)
    stmt = select(Incident)
    if resolved:
        stmt = stmt.where(Incident.resolved_at.is_not(None)).order_by(
            Incident.resolved_at.desc(), Incident.id.desc())
    else:
        stmt = stmt.where(Incident.resolved_at.is_(None)).order_by(Incident.id)
    if since is not None:
        stmt = stmt.where(Incident.created_at >= since)
    if until is not None:
        stmt = stmt.where(Incident.created_at < until)
    return list(uow.session.scalars(stmt.limit(limit)))


def retry(uow: UnitOfWork, principal: Principal, incident_id: int) -> Incident:
    """`instances.retry_incident` (audited `runtime.incident_retried`)."""
    return retry_incident(uow, principal, incident_id)


# --- instances -----------------------------------------------------------------------------

@dataclass(frozen=True)
class InstanceQuery:
    process_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class InstanceRow:
    id: int
    process_id: str
    name: str
    version: int
    status: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    open_incidents: int

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def actions(self) -> list[str]:
        """What may be done to it now."""
        return {RUNNING: ["suspend", "terminate"], SUSPENDED: ["resume", "terminate"]}.get(
            self.status, [])


@dataclass(frozen=True)
class InstancePage:
    rows: list[InstanceRow]
    next_before: int | None


def search_instances(uow: UnitOfWork, principal: Principal, query: InstanceQuery, *,
                     before: int | None = None, size: int = PAGE_SIZE) -> InstancePage:
    """Instances matching `query`, newest first, keyset-paginated on id. Operational
    metadata only: the administrator never reads the situation behind an instance."""
    require_role(principal, Role.ADMIN)
    if query.status is not None and query.status not in STATUS_LABELS:
        raise Invalid("Statut inconnu.", [{"field": "statut", "message": "Statut inconnu."}])
    stmt = select(Instance, ProcessVersion.name, ProcessVersion.version).join(
        ProcessVersion, ProcessVersion.id == Instance.process_version_id)
    if query.process_id:
        stmt = stmt.where(Instance.process_id == query.process_id)
    if query.status:
        stmt = stmt.where(Instance.status == query.status)
    if query.since is not None:
        stmt = stmt.where(Instance.started_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(Instance.started_at < query.until)
    if before is not None:
        stmt = stmt.where(Instance.id < before)
    found = uow.session.execute(stmt.order_by(Instance.id.desc()).limit(size + 1)).all()
    more = len(found) > size
    found = found[:size]
    ids = [row[0].id for row in found]
    counts: dict[int, int] = {}
    if ids:
        for instance_id in uow.session.scalars(select(Incident.instance_id).where(
                Incident.instance_id.in_(ids), Incident.resolved_at.is_(None))):
            counts[instance_id] = counts.get(instance_id, 0) + 1
    rows = [InstanceRow(i.id, i.process_id, name, version, i.status, i.started_at,
                        i.updated_at, i.ended_at, counts.get(i.id, 0))
            for i, name, version in found]
    return InstancePage(rows, rows[-1].id if more and rows else None)


def change_status(uow: UnitOfWork, principal: Principal, instance_id: int, action: str,
                  reason: str | None) -> Instance:
    """Suspend, resume or terminate with a reason from `REASONS` (required): the same step
    as the API's (`instances.set_status`), the reason's code in its audit row."""
    require_role(principal, Role.ADMIN)
    if action not in ACTION_LABELS:
        raise Invalid(f"Action inconnue : {action}.",
                      [{"field": "action", "message": "Action inconnue."}])
    if not reason or reason not in REASONS:
        raise Invalid("Indiquez la raison de ce changement.",
                      [{"field": "raison", "message": "Choisissez une raison dans la liste."}])
    return set_status(uow, principal, instance_id, action, reason)
