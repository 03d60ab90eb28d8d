"""The document a consent screen would let leave, built from what was typed, before the
person decides (an informed consent shows what is sent, not only its categories).

`transmission_preview` finds the next `relais/transmit_document` service task downstream of
a ready consent task (the runtime walks the diagram), and renders its template exactly as the
connector would — same records of the instance, same mentions — with the consent dated
today. Nothing is sealed, stored or sent; the reading is audited once
(`routing.preview_shown`, ids only). Only who may act on the task sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.audit import service as audit
from engine.cases import service as cases
from engine.consent.service import Authorization
from engine.db import UnitOfWork
from engine.documents import readable, render
from engine.errors import RelaisError
from engine.identity.models import Organisation
from engine.identity.service import Principal
from engine.routing.connectors import document_producer, form_fields, lanes_of
from engine.routing.recipients import recipient_organisation
from engine.runtime import service as runtime
from engine.runtime import upcoming
from engine.runtime.models import Instance

TRANSMIT_OPERATOR = "relais/transmit_document"
CONSENT_FORM = "consentement.json"


@dataclass(frozen=True)
class Preview:
    title: str  # the document's kind, « Fiche protocole violences conjugales »
    recipient: str  # the recipient organisation's name
    blocks: list[readable.Block]


def transmission_preview(uow: UnitOfWork, principal: Principal, task_id: int) -> Preview | None:
    """The document the consent task `task_id` is about, rendered for reading; None when the
    task is not a ready consent checkpoint followed by a transmission, or when the diagram's
    data cannot name the document yet."""
    row = runtime.visible_task(uow, principal, task_id)
    if row.form != CONSENT_FORM or row.state != "ready":
        return None
    params = upcoming.next_service_params(uow, row, TRANSMIT_OPERATOR)
    instance = uow.session.get(Instance, row.instance_id)
    if not params or instance is None or instance.case_id is None:
        return None
    case = cases.get_case(uow, instance.case_id)
    sender = uow.session.get(Organisation, case.organisation_id)
    recipient = recipient_organisation(uow, lanes_of(instance), params.get("recipient"))
    template_name, purpose = params.get("template"), params.get("purpose")
    if sender is None or recipient is None or not isinstance(template_name, str) \
            or not isinstance(purpose, str):
        return None
    try:
        template = render.load_template(template_name)
        records = [r for r in cases.records_of(uow, case, kind="form")
                   if r.instance_id == instance.id]
        produce = document_producer(uow, principal.actor, case, records,
                                    form_fields(uow, instance, records), template, sender,
                                    recipient, purpose, principal.user_id)
        content = produce(Authorization(None, None, uow.now()))
    except RelaisError:
        return None  # the connector will say what is wrong, as an incident, when it runs
    audit.append(uow, principal.actor, "routing.preview_shown", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id, task=row.id)
    title = params.get("document_name") if isinstance(params.get("document_name"), str) \
        else template.kind_label
    return Preview(str(title), recipient.name, readable.blocks(content))
