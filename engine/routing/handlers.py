"""Routing's reactions to the consent domain's events (registered in `events`).

- `ConsentWithdrawn`: the pending `relais/transmit_document` rows of the case that rested on
  the withdrawn consent alone — naming one of its purposes and one of its recipients, not on
  a legal basis, and covered by no other live consent — are cancelled (the runtime cancels
  its own rows, `engine.runtime.cancellation`, with an incident on their instance), and
  every organisation holding a copy sent under that consent gets a notice.
- `CaseShredding`: every pending transmission of the case is cancelled and every holder of
  a copy notified, before the consent domain destroys the case key.

Each handler returns a `consent.Cascade` (outbox rows cancelled, deliveries notified): the
consent service reports it in its answer. Every cancellation is audited
(`consent.transmission_cancelled`, ids and codes only).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.attributes import set_committed_value

from engine import events
from engine.audit import service as audit
from engine.audit.service import Actor
from engine.cases import service as cases
from engine.cases.models import Case
from engine.consent import service as consent
from engine.consent.errors import ConsentRefused
from engine.consent.models import Consent
from engine.db import UnitOfWork
from engine.documents import render
from engine.documents.errors import DocumentError
from engine.routing import notices
from engine.routing.recipients import recipient_organisation
from engine.runtime import cancellation
from engine.runtime.cancellation import PendingServiceTask

TRANSMIT_OPERATOR = "relais/transmit_document"
WITHDRAWN, DESTROYED = "consent_withdrawn", "data_destroyed"
EXPLANATIONS = {
    WITHDRAWN: "Transmission annulée : la personne a retiré le consentement sur lequel elle "
    "reposait. Recueillez un nouveau consentement et relancez le protocole, ou arrêtez "
    "l'instance.",
    DESTROYED: "Transmission annulée : les données de la situation ont été détruites à la "
    "demande de la personne ou au terme de leur durée de conservation. Arrêtez l'instance.",
}


@events.subscribe(events.ConsentWithdrawn)
def on_consent_withdrawn(uow: UnitOfWork, event: events.ConsentWithdrawn) -> consent.Cascade:
    case = cases.get_case(uow, event.case_id)
    withdrawn = consent.get_consent(uow, event.consent_id)
    cancelled = _cancel(uow, event.actor, case, WITHDRAWN, [
        task for task in cancellation.pending_service_tasks(uow, case.id, TRANSMIT_OPERATOR)
        if _rested_on(uow, case, withdrawn, task)], consent_id=withdrawn.id)
    notified = notices.notify_holders(uow, event.actor, case_id=case.id,
                                      organisation_id=case.organisation_id,
                                      kind=notices.NOTICE_WITHDRAWN, consent_id=withdrawn.id)
    return consent.Cascade(cancelled, notified)


@events.subscribe(events.CaseShredding)
def on_case_shredding(uow: UnitOfWork, event: events.CaseShredding) -> consent.Cascade:
    case = cases.get_case(uow, event.case_id)
    cancelled = _cancel(uow, event.actor, case, DESTROYED,
                        cancellation.pending_service_tasks(uow, case.id, TRANSMIT_OPERATOR),
                        consent_id=None)
    notified = notices.notify_holders(uow, event.actor, case_id=case.id,
                                      organisation_id=case.organisation_id,
                                      kind=notices.NOTICE_DESTROYED, consent_id=None)
    return consent.Cascade(cancelled, notified)


def _rested_on(uow: UnitOfWork, case: Case, withdrawn: Consent,
               task: PendingServiceTask) -> bool:
    """The pending transmission named a purpose and a recipient of `withdrawn`, rests on no
    legal basis, and no other live consent covers it any more."""
    params = task.params
    recipient = recipient_organisation(uow, task.lanes, params.get("recipient"))
    scope = consent.scope_of(withdrawn)
    return params.get("legal_basis_record") is None \
        and params.get("purpose") in scope.purposes \
        and recipient is not None and recipient.id in scope.recipient_ids \
        and not _still_authorised(uow, case, recipient.id, params.get("purpose"),
                                  params.get("categories"))


def _still_authorised(uow: UnitOfWork, case: Case, recipient_id: int, purpose: Any,
                      categories: Any) -> bool:
    wanted = [categories] if isinstance(categories, str) else categories
    if not isinstance(purpose, str) or not isinstance(wanted, list):
        return False
    try:
        consent.authorize(uow, case, case.organisation_id, recipient_id, purpose,
                          [str(c) for c in wanted], uow.now())
    except ConsentRefused:
        return False
    return True


def _cancel(uow: UnitOfWork, actor: Actor, case: Case, reason: str,
            tasks: list[PendingServiceTask], *, consent_id: int | None) -> tuple[int, ...]:
    """Ask the runtime to cancel each pending transmission; audit each cancellation."""
    cancelled: list[int] = []
    for task in tasks:
        if not cancellation.cancel_service_task(
                uow, task.outbox_id, reason=reason, note="transmission annulée",
                explanation=EXPLANATIONS[reason], incident_kind="transmission_cancelled"):
            continue
        audit.append(uow, actor, "consent.transmission_cancelled", subject_type="instance",
                     subject_id=task.instance_id, organisation_id=case.organisation_id,
                     outbox=task.outbox_id, case=case.id, reason=reason, consent=consent_id)
        cancelled.append(task.outbox_id)
    return tuple(cancelled)


def pending_on_consent(uow: UnitOfWork, case: Case, withdrawn: Consent) -> list[tuple[str, str]]:
    """(document, recipient organisation's name) of each pending transmission that a
    withdrawal of `withdrawn` would cancel now — what the confirmation step tells the person.

    The same rule as `on_consent_withdrawn`, asked as if the consent were withdrawn: its
    withdrawal date is set in memory only (no flush), then its stored value is restored as
    unchanged, so nothing is written (on PostgreSQL the pending rows stay locked until the
    caller's transaction ends, as for a withdrawal)."""
    found = []
    original = withdrawn.withdrawn_at
    with uow.session.no_autoflush:
        withdrawn.withdrawn_at = original or uow.now()
        try:
            for task in cancellation.pending_service_tasks(uow, case.id, TRANSMIT_OPERATOR):
                if _rested_on(uow, case, withdrawn, task):
                    recipient = recipient_organisation(uow, task.lanes,
                                                       task.params.get("recipient"))
                    found.append((_document_name(task.params),
                                  recipient.name if recipient else ""))
        finally:
            set_committed_value(withdrawn, "withdrawn_at", original)
    return found


def _document_name(params: dict[str, Any]) -> str:
    named = params.get("document_name")
    if isinstance(named, str) and named.strip():
        return named.strip()
    try:
        return render.load_template(str(params.get("template"))).kind_label
    except DocumentError:
        return "document"
