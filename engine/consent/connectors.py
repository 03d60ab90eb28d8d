"""The consent domain's connectors: consent checkpoints and legal-basis invocations.

`relais/record_consent`: a consent checkpoint of a diagram becomes a Consent.

A checkpoint is a user task with the standard form `consentement.json` whose `purposes`,
`recipients` and `categories` the diagram fixes (`prefill.*` properties), followed by a
service task `relais/record_consent` with parameters (restricted expressions):
- `record`: the id of the form's submission, i.e. `record_<user task id>`;
- optional `expires_days`: how long the consent lasts when the form gives no date.

It runs in the transaction that resumes the instance and returns
`{"consent_id": id, "decision": "granted" | "refused"}`; diagrams branch on the form's
`decision` routing field. Only a decision form completed in this instance (by the user
holding the task) is accepted; it gives rise to one consent only, and a decision given no
later than a withdrawal of the same scope is refused (`engine.consent.service`).

`relais/invoke_legal_basis` (parameter `record`: the `base_legale.json` submission, e.g.
`record_base_legale`) checks the invocation early (basis, author's role, justification,
information step) and opens the legal review a `requisition_60_1` needs; it returns
`{"legal_basis": code, "review": "pending" | "approved" | "rejected" | "not_required",
"review_id": id | None}`. A refused invocation is a connector refusal (incident, audited).

`relais/answer_legal_review` (parameters `legal_basis_record`, and `record`: the
`revue_juridique.json` submission) records the reviewer's answer — the author of that
submission, who must hold a reviewer role — and returns `{"review_decision": …}`.
Transmitting with `relais/transmit_document`'s `legal_basis_record` then succeeds only after
an approving answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.cases.models import CaseRecord
from engine.clock import paris
from engine.consent import policy
from engine.consent import service as consent
from engine.consent.catalogue import modeler_vocabulary
from engine.consent.errors import ConsentInvalid
from engine.identity.models import User
from engine.identity.service import principal_for
from engine.runtime import catalogue as runtime_catalogue
from engine.runtime import connectors

CONSENT_FORM = "consentement.json"
REVIEW_FORM = "revue_juridique.json"
FORM_RECORD = "form"  # the kind of record the runtime stores when a user completes a task
MAX_DAYS = 3650


def _record(context: connectors.ConnectorContext, value: Any) -> CaseRecord:
    """The decision form completed in THIS instance: a `form` record is only ever stored by
    the runtime when a user holding the task completes it, so its author is the person who
    held the task. A record of another instance (even of the same case) is refused."""
    record = context.uow.session.get(CaseRecord, value) \
        if isinstance(value, int) and not isinstance(value, bool) else None
    if record is None or record.case_id != context.case_id or record.form != CONSENT_FORM \
            or record.kind != FORM_RECORD or record.task_ref is None \
            or record.instance_id != context.instance_id:
        raise ConsentInvalid("Paramètre « record » invalide : indiquez la saisie du formulaire "
                             "de consentement complétée dans ce protocole (record_<tâche>).",
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
        expires_at=_expiry(payload, params.get("expires_days"), now),
        person=payload.get("person") or consent.DEFAULT_PERSON, source_record=record,
        given_by=payload.get("given_by") or consent.DEFAULT_GIVEN_BY)
    return {"consent_id": recorded.id, "decision": recorded.decision}


def _refusals(context: connectors.ValidationContext,
              _params: Mapping[str, Any]) -> dict[str, str]:
    """Before the decision form is accepted: an end date before today would be refused when
    the decision is recorded; say so on the field instead."""
    raw = context.answers.get("expires_on")
    if not isinstance(raw, str):
        return {}
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return {}  # the form's own validation answers a malformed date
    today = context.uow.now().astimezone(paris()).date()
    if day < today:
        return {"expires_on": "La date de fin du consentement est passée : choisissez "
                              "aujourd'hui ou une date à venir."}
    return {}


RECORD_CONSENT = connectors.register(connectors.Connector(
    id="relais/record_consent",
    description="Enregistre la décision de la personne saisie dans le formulaire de "
    "consentement : finalités, destinataires, catégories de données, forme et durée.",
    required=("record",),
    optional=("expires_days",),
    documented=(
        connectors.Parameter("record", "int", (
            "Numéro de la saisie du formulaire de consentement (variable « record_<tâche> "
            "» laissée par la tâche utilisateur)."
        )),
        connectors.Parameter("expires_days", "int", (
            "Durée de validité du consentement, en jours (365 si absent)."
        )),
    ),
    run_in_transaction=run_in_transaction,
    validate=_refusals,
))


def _invoke(context: connectors.ConnectorContext, params: Mapping[str, Any]) -> dict[str, Any]:
    case = cases.get_case(context.uow, context.case_id)
    invoked = consent.invoke_legal_basis(context.uow, SYSTEM, case, params.get("record"))
    review = invoked.review
    return {"legal_basis": invoked.legal_basis,
            "review": (review.decision or "pending") if review else "not_required",
            "review_id": review.id if review else None}


INVOKE_LEGAL_BASIS = connectors.register(connectors.Connector(
    id="relais/invoke_legal_basis",
    description="Vérifie la base légale saisie (rôle de son auteur, justification, "
    "information de la personne) et ouvre la revue juridique qu'exige une réquisition.",
    required=("record",),
    documented=(
        connectors.Parameter("record", "int", (
            "Numéro de la saisie du formulaire base_legale.json (variable « "
            "record_<tâche> »)."
        )),
    ),
    run_in_transaction=_invoke,
))


def _answer(context: connectors.ConnectorContext, params: Mapping[str, Any]) -> dict[str, Any]:
    uow = context.uow
    case = cases.get_case(uow, context.case_id)
    basis_record = policy.legal_basis_record(uow, case, params.get("legal_basis_record"))
    value = params.get("record")
    answer = uow.session.get(CaseRecord, value) \
        if isinstance(value, int) and not isinstance(value, bool) else None
    if answer is None or answer.case_id != case.id or answer.form != REVIEW_FORM:
        raise ConsentInvalid("Paramètre « record » invalide : indiquez la saisie du formulaire "
                             f"{REVIEW_FORM} de ce protocole (record_<tâche>).",
                             code="connector_parameter_invalid")
    review = policy.review_of(uow, basis_record.id)
    if review is None:
        raise ConsentInvalid("Aucune revue juridique n'est ouverte pour cette base légale : "
                             "appelez d'abord relais/invoke_legal_basis.",
                             code="legal_review_missing")
    payload = cases.read_record(uow, SYSTEM, case, answer, audited=False)
    reviewer = uow.session.get(User, answer.created_by)
    if reviewer is None:
        raise ConsentInvalid("Auteur de la revue inconnu.", code="legal_review_invalid")
    consent.answer_legal_review(uow, principal_for(reviewer), review,
                                payload["review_decision"], answer_record=answer.id)
    return {"review_decision": payload["review_decision"]}


ANSWER_LEGAL_REVIEW = connectors.register(connectors.Connector(
    id="relais/answer_legal_review",
    description="Enregistre la décision de la revue juridique d'une réquisition (formulaire "
    "revue_juridique.json) ; seule une réponse approuvée permet ensuite la transmission.",
    required=("legal_basis_record", "record"),
    documented=(
        connectors.Parameter("legal_basis_record", "int", (
            "Numéro de la saisie de la base légale dont la revue juridique est tranchée."
        )),
        connectors.Parameter("record", "int", (
            "Numéro de la saisie du formulaire revue_juridique.json (la décision de la "
            "revue)."
        )),
    ),
    run_in_transaction=_answer,
))


# The modeler offers the purposes and data categories of a consent checkpoint.
runtime_catalogue.register_vocabulary("consent", modeler_vocabulary)
