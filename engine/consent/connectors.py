"""The `relais/record_consent` connector: a consent checkpoint of a diagram becomes a Consent.

A checkpoint is a user task with the standard form `consentement.json` whose `purposes`,
`recipients` and `categories` the diagram fixes (`prefill.*` properties), followed by a
service task `relais/record_consent` with parameters (restricted expressions):
- `record`: the id of the form's submission, i.e. `record_<user task id>`;
- optional `expires_days`: how long the consent lasts when the form gives no date.

It runs in the transaction that resumes the instance and returns
`{"consent_id": id, "decision": "granted" | "refused"}`; diagrams branch on the form's
`decision` routing field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.cases.models import CaseRecord
from engine.consent import service as consent
from engine.consent.errors import ConsentInvalid
from engine.identity.models import User
from engine.identity.service import principal_for
from engine.runtime import connectors

CONSENT_FORM = "consentement.json"
MAX_DAYS = 3650


def _record(context: connectors.ConnectorContext, value: Any) -> CaseRecord:
    record = context.uow.session.get(CaseRecord, value) if isinstance(value, int) else None
    if record is None or record.case_id != context.case_id or record.form != CONSENT_FORM:
        raise ConsentInvalid("Paramètre « record » invalide : indiquez la saisie du formulaire "
                             "de consentement de ce protocole (record_<tâche>).",
                             code="connector_parameter_invalid")
    return record


def _expiry(payload: Mapping[str, Any], days: Any, now: datetime) -> datetime | None:
    if payload.get("expires_on"):
        day = date.fromisoformat(payload["expires_on"])
        return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ConsentInvalid(f"Paramètre « expires_days » invalide : un nombre de jours de 1 à "
                             f"{MAX_DAYS}.", code="connector_parameter_invalid")
    return now + timedelta(days=days)


def run_in_transaction(context: connectors.ConnectorContext,
                       params: Mapping[str, Any]) -> dict[str, Any]:
    uow = context.uow
    record = _record(context, params.get("record"))
    case = cases.get_case(uow, context.case_id)
    # Read without its own audit row: consent.recorded below names the record's case.
    payload = cases.read_record(uow, SYSTEM, case, record, audited=False)
    author = uow.session.get(User, record.created_by)
    if author is None:
        raise ConsentInvalid("Auteur du recueil inconnu.", code="consent_invalid")
    now = uow.now()
    recorded = consent.record_consent(
        uow, principal_for(author), case, purposes=payload["purposes"],
        recipients=payload["recipients"], categories=payload["categories"],
        channel=payload["channel"], decision=payload["decision"], given_at=record.created_at,
        expires_at=_expiry(payload, params.get("expires_days"), now))
    return {"consent_id": recorded.id, "decision": recorded.decision}


RECORD_CONSENT = connectors.register(connectors.Connector(
    id="relais/record_consent",
    description="Enregistre la décision de la personne saisie dans le formulaire de "
    "consentement : finalités, destinataires, catégories de données, forme et durée.",
    required=("record",),
    optional=("expires_days",),
    run_in_transaction=run_in_transaction,
))
