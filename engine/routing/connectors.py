"""The `relais/transmit_document` connector: a diagram sends a document through routing.

Parameters (each a restricted expression evaluated against the task data):
- `template`: the `.docx` template's file name (see `engine.documents.render.template_dirs`);
- `recipient`: an organisation slug (`'asso-victimes-demo'`), or a role (`'ASSOCIATION'`):
  then the organisation bound to that lane in this instance, and an error if none is;
- `purpose`: the purpose code the consent must name (`'vc_transmission'`);
- `categories`: the data categories sent, a list (`['SOC', 'ID', 'OFF']`); every field the
  template shows must belong to one of them;
- optional `document_name`: the kind label inboxes show (default: the template's title);
- optional `recipient_role`: the role of the recipient organisation the document is for
  (default: the `recipient` role when one is given, else every member of the organisation);
- optional `legal_basis_record`: the id of a submitted `base_legale.json` form of the case
  (e.g. `record_base_legale`): the transmission then rests on that legal basis instead of a
  consent (see `engine.consent.policy`).

It runs inside the unit of work that resumes the instance (exactly once with its outbox row)
and returns `{"delivery_id": id}` as the task's result. The sender is the organisation holding
the case; the document is filled from the case's form records of this instance (decrypted
only after consent authorised the transmission; the transmission's audit row names them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select

from engine.audit.service import Actor
from engine.cases import service as cases
from engine.cases.models import Case, CaseRecord
from engine.consent import mentions
from engine.consent.service import Authorization
from engine.db import UnitOfWork
from engine.documents import build, render
from engine.errors import RelaisError
from engine.identity.models import Organisation
from engine.identity.roles import is_known_role
from engine.routing import recipients
from engine.routing import service as routing
from engine.routing.errors import RefusalAudit, RoutingInvalid, attach
from engine.runtime import connectors
from engine.runtime import service as runtime
from engine.runtime.models import HumanTask, Instance, ProcessVersion


def _text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RoutingInvalid(f"Paramètre « {name} » invalide : un texte est attendu.",
                             code="connector_parameter_invalid")
    return value.strip()


def _record_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RoutingInvalid("Paramètre « legal_basis_record » invalide : l'identifiant de la "
                             "saisie du formulaire base_legale.json est attendu "
                             "(record_<tâche>).", code="connector_parameter_invalid")
    return value


def _categories(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items \
            or not all(isinstance(c, str) for c in items):
        raise RoutingInvalid("Paramètre « categories » invalide : une liste de catégories est "
                             "attendue, par exemple ['SOC', 'ID'].",
                             code="connector_parameter_invalid")
    return sorted(set(items))


def _recipient(uow: UnitOfWork, instance: Instance, value: str,
               role: str | None) -> tuple[Organisation, str | None]:
    """(organisation, targeted role) named by the `recipient` parameter."""
    if role is not None and not is_known_role(role):
        raise RoutingInvalid(f"Rôle destinataire inconnu : {role}.",
                             code="connector_parameter_invalid")
    org = recipients.recipient_organisation(uow, lanes_of(instance), value)
    if recipients.names_role(value):
        if role is not None and role != value:
            raise RoutingInvalid("« recipient » désigne déjà un rôle : « recipient_role » doit "
                                 "être le même ou absent.", code="connector_parameter_invalid")
        if org is None:
            raise RoutingInvalid(f"Aucune organisation n'est liée au rôle {value} dans ce "
                                 "protocole : désignez-la dans un formulaire "
                                 f"(organisation_{value}) ou nommez l'organisation dans le "
                                 "diagramme.", code="recipient_unbound")
        return org, value
    if org is None:
        raise RoutingInvalid(f"Organisation destinataire inconnue : {value}.",
                             code="recipient_unknown")
    return org, role


def lanes_of(instance: Instance) -> dict[str, int]:
    """The instance's bound lanes: role → organisation id."""
    return {role: int(org) for role, org in json.loads(instance.lanes or "{}").items()}


def acting_user(uow: UnitOfWork, instance: Instance, organisation_id: int) -> int:
    """On whose behalf a connector acts for `organisation_id`: the user of that organisation
    who completed the instance's latest step (else the user who started the instance)."""
    last = uow.session.scalars(
        select(HumanTask.completed_by)
        .where(HumanTask.instance_id == instance.id, HumanTask.completed_by.is_not(None),
               HumanTask.organisation_id == organisation_id)
        .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(1)).first()
    return last if last is not None else instance.started_by


def form_fields(uow: UnitOfWork, instance: Instance,
            records: list[CaseRecord]) -> dict[str, dict[str, Any]]:
    """Every form property of the instance's records, by name (later forms win)."""
    version = uow.session.get(ProcessVersion, instance.process_version_id)
    assert version is not None
    fields: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r.form for r in records if r.form):
        fields.update(runtime.form_of_version(uow, version, name).properties)
    return fields


def _check_categories(template: render.Template, fields: Mapping[str, Mapping[str, Any]],
                      declared: list[str]) -> None:
    shown = render.placeholders(template.content) & set(fields)
    carried = {fields[name].get("x-relais-category") for name in shown} - {None}
    undeclared = sorted(str(c) for c in carried - set(declared))
    if undeclared:
        raise RoutingInvalid(
            f"Le modèle {template.name} montre des données de catégorie "
            f"{', '.join(undeclared)} que la transmission ne déclare pas : ajoutez ces "
            "catégories au connecteur (et au consentement) ou retirez ces champs du modèle.",
            code="categories_undeclared")


def document_producer(uow: UnitOfWork, actor: Actor, case: Case, records: list[CaseRecord],
                      fields: dict[str, dict[str, Any]], template: render.Template,
                      sender: Organisation, recipient: Organisation, purpose: str,
                      validator: int) -> Any:
    def produce(authorization: Authorization) -> bytes:
        values: dict[str, Any] = dict.fromkeys(fields)  # a field left empty renders empty
        for record in records:
            values.update(cases.read_record(uow, actor, case, record, audited=False))
        values.update(reference=case.reference, date_document=render.french_date(uow.now()),
                      organisation_expediteur=sender.name,
                      organisation_destinataire=recipient.name, finalite=purpose,
                      consentement_du=render.french_date(authorization.given_at),
                      fondement=authorization.explanation)
        author = records[-1].created_by if records else None
        return build.stamp(render.render_docx(template.content, values, fields),
                           mentions.mentions_for(uow, sender, author, purpose, uow.now(),
                                                 validator_user_id=validator, sealed=True))

    return produce


def run_in_transaction(context: connectors.ConnectorContext,
                       params: Mapping[str, Any]) -> dict[str, Any]:
    """Send the document; a refusal (RelaisError) carries its `routing.transmission_refused`
    audit row for the outbox, which records it with the incident."""
    uow: UnitOfWork = context.uow
    instance = uow.session.get(Instance, context.instance_id)
    assert instance is not None
    case = cases.get_case(uow, instance.case_id)
    sender = uow.session.get(Organisation, case.organisation_id)
    assert sender is not None
    actor = Actor(None, "système", organisation_id=sender.id)
    try:
        recipient, role = _recipient(uow, instance, _text(params, "recipient") or "",
                                     _text(params, "recipient_role"))
        purpose = _text(params, "purpose") or ""
        categories = _categories(params.get("categories"))
        template = render.load_template(_text(params, "template") or "")
        records = [r for r in cases.records_of(uow, case, kind="form")
                   if r.instance_id == instance.id]
        fields = form_fields(uow, instance, records)
        _check_categories(template, fields, categories)
        kind_label = _text(params, "document_name") or template.kind_label
        legal_basis_record = _record_id(params.get("legal_basis_record"))
    except RelaisError as exc:
        raise attach(exc, RefusalAudit(actor, "routing.transmission_refused", "case", case.id,
                                       sender.id, {"code": exc.code, "instance": instance.id,
                                                   "outbox": context.outbox_id})) from None
    stem = PurePosixPath(template.name).stem
    validator = acting_user(uow, instance, sender.id)
    document = routing.Outgoing(
        kind_label=kind_label, title=kind_label, template=template.name,
        file_name=f"{stem}-{uow.now():%Y-%m-%d}.docx", records=tuple(r.id for r in records),
        produce=document_producer(uow, actor, case, records, fields, template, sender,
                                  recipient, purpose, validator), validator_user_id=validator)
    delivery = routing.transmit(
        uow, actor, case, sender_org=sender, recipient_org=recipient, purpose=purpose,
        categories=categories, document=document,
        author_user_id=validator,
        instance_id=instance.id, recipient_role=role, outbox_id=context.outbox_id,
        commit_refusals=False, legal_basis_record=legal_basis_record)
    return {"delivery_id": delivery.id}


TRANSMIT_DOCUMENT = connectors.register(connectors.Connector(
    id="relais/transmit_document",
    description="Produit un document depuis un modèle .docx et les données de la situation, "
    "le signe, le chiffre pour l'organisation destinataire et le dépose dans sa boîte de "
    "réception — seulement si un consentement ou la base légale invoquée couvre la "
    "transmission.",
    required=("template", "recipient", "purpose", "categories"),
    optional=("document_name", "recipient_role", "legal_basis_record"),
    documented=(
        connectors.Parameter("template", "str", (
            "Nom du modèle .docx du document transmis (dossier templates/ du protocole)."
        )),
        connectors.Parameter("recipient", "str", (
            "Organisation destinataire : un rôle de couloir (ex. « ASSOCIATION ») ou "
            "l'identifiant d'une organisation."
        )),
        connectors.Parameter("purpose", "str", (
            "Finalité de la transmission (code du catalogue des finalités)."
        )),
        connectors.Parameter("categories", "list", (
            "Catégories de données transmises (ID, SOC, HEALTH, OFF, MINOR, THIRD)."
        )),
        connectors.Parameter("document_name", "str", (
            "Nom donné au document transmis (par défaut, celui du modèle)."
        )),
        connectors.Parameter("recipient_role", "str", (
            "Rôle destinataire dans l'organisation (ex. « IS ») ; sans lui, toute "
            "l'organisation."
        )),
        connectors.Parameter("legal_basis_record", "int", (
            "Numéro de la saisie de la base légale invoquée, quand ce n'est pas un "
            "consentement qui couvre la transmission."
        )),
    ),
    run_in_transaction=run_in_transaction,
))
