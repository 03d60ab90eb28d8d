"""Connectors of the dossiers domain (each runs in the transaction that resumes the instance).

- `relais/render_document` — `template` (a `.docx` of the protocol's `templates/`), optional
  `document_name`: renders the template from the instance's submissions into a piece of the
  case, for the organisation holding it (a letter to print, a copy kept when nothing is
  sent). Returns `{"piece_id"}`. Nothing leaves the organisation.
- `relais/file_delivery` — `delivery` (the id of a delivery received by the organisation
  holding the case), optional `purposes` (the purposes it may carry) and `acknowledge`
  (default true): keeps a copy in the case and acknowledges it as the user who completed the
  instance's last step. Returns `{"piece_id", "delivery_id"}`.
- `relais/export_dossier` — `recipient` (organisation slug), `purpose`, `categories`,
  `template` (the cover page), optional `document_name`, `recipient_role` (default: `POLICE`
  for a police organisation, `GENDARMERIE` for a gendarmerie one, else every member):
  sends every filed piece of the case, in the order the documents were established, as one
  document, through `routing.transmit` (consent or legal basis checked there, as always).
  Returns `{"delivery_id"}`.
- `relais/destroy_dossier` — optional `reason` (a code, default `demande_personne`):
  crypto-shreds the case. Returns `{"destroyed": true}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select

from engine.audit.service import Actor
from engine.cases import service as cases
from engine.consent import mentions
from engine.consent.policy import Authorization
from engine.db import UnitOfWork
from engine.documents import build, render
from engine.documents.envelope import CODE_RE
from engine.dossiers import service as dossiers
from engine.dossiers.errors import DossierInvalid
from engine.dossiers.models import Piece
from engine.errors import RelaisError
from engine.identity.models import Organisation, OrganisationKind, User
from engine.identity.roles import is_known_role
from engine.identity.service import Principal, principal_for
from engine.routing import service as routing
from engine.routing.connectors import acting_user
from engine.routing.errors import RefusalAudit, attach
from engine.routing.models import Delivery
from engine.routing.recipients import recipient_organisation
from engine.runtime import connectors
from engine.runtime.models import Instance

ROLE_OF_KIND = {OrganisationKind.POLICE: "POLICE", OrganisationKind.GENDARMERIE: "GENDARMERIE"}


def _instance(uow: UnitOfWork, context: connectors.ConnectorContext) -> Instance:
    instance = uow.session.get(Instance, context.instance_id)
    assert instance is not None
    return instance


def _text(params: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise DossierInvalid(f"Paramètre « {name} » invalide : un texte est attendu.",
                             code="connector_parameter_invalid")
    return value.strip()


def _principal(uow: UnitOfWork, instance: Instance, organisation_id: int) -> Principal:
    user = uow.session.get(User, acting_user(uow, instance, organisation_id))
    if user is None:
        raise DossierInvalid("Aucun utilisateur de l'organisation n'a agi dans ce protocole.",
                             code="connector_no_actor")
    return principal_for(user)


# --- relais/render_document ----------------------------------------------------------------

def _render(context: connectors.ConnectorContext, params: Mapping[str, Any]) -> dict[str, Any]:
    uow: UnitOfWork = context.uow
    instance = _instance(uow, context)
    case = cases.get_case(uow, context.case_id)
    user_id = acting_user(uow, instance, case.organisation_id)
    actor = Actor(user_id, "système", organisation_id=case.organisation_id)
    piece = dossiers.generate(uow, actor, case, instance,
                              template_name=_text(params, "template") or "",
                              document_name=_text(params, "document_name", required=False))
    return {"piece_id": piece.id}


RENDER_DOCUMENT = connectors.register(connectors.Connector(
    id="relais/render_document",
    description="Produit un document (courrier à imprimer, exemplaire conservé) depuis un "
    "modèle .docx et les saisies du protocole, et le range dans la situation : il ne quitte "
    "pas l'organisation.",
    required=("template",),
    optional=("document_name",),
    documented=(
        connectors.Parameter("template", "str", (
            "Nom du modèle .docx du protocole (dossier templates/ à côté du diagramme)."
        )),
        connectors.Parameter("document_name", "str", (
            "Nom donné au document produit (par défaut, celui du modèle)."
        )),
    ),
    run_in_transaction=_render,
))


# --- relais/file_delivery ------------------------------------------------------------------

def _file(context: connectors.ConnectorContext, params: Mapping[str, Any]) -> dict[str, Any]:
    uow: UnitOfWork = context.uow
    instance = _instance(uow, context)
    case = cases.get_case(uow, context.case_id)
    purposes = params.get("purposes")
    if purposes is not None and (not isinstance(purposes, list | tuple)
                                 or not all(isinstance(p, str) for p in purposes)):
        raise DossierInvalid("Paramètre « purposes » invalide : une liste de finalités est "
                             "attendue.", code="connector_parameter_invalid")
    acknowledge = params.get("acknowledge", True)
    if not isinstance(acknowledge, bool):
        raise DossierInvalid("Paramètre « acknowledge » invalide : True ou False.",
                             code="connector_parameter_invalid")
    principal = _principal(uow, instance, case.organisation_id)
    piece = dossiers.file_delivery(uow, principal, case, params.get("delivery"),
                                   instance_id=instance.id, purposes=purposes,
                                   acknowledge=acknowledge)
    return {"piece_id": piece.id, "delivery_id": piece.delivery_id}


def _file_refusals(context: connectors.ValidationContext,
                   params: Mapping[str, Any]) -> dict[str, str]:
    """Before the form feeding `delivery` is accepted: a number that is not a document
    received by the organisation holding the case, or one already filed, is refused on the
    field (the connector would refuse it the same way, later, as an incident)."""
    if "delivery" not in params:
        return {}
    uow: UnitOfWork = context.uow
    value = params["delivery"]
    delivery = uow.session.get(Delivery, value) \
        if isinstance(value, int) and not isinstance(value, bool) else None
    case = cases.get_case(uow, context.case_id)
    if delivery is None or delivery.recipient_organisation_id != case.organisation_id \
            or delivery.status == routing.SEALED:
        return {"delivery": "Aucun document reçu par votre organisation ne porte ce numéro : "
                            "reprenez le numéro de l'envoi affiché dans « Documents reçus »."}
    if uow.session.scalars(select(Piece.id).where(Piece.delivery_id == delivery.id)).first():
        return {"delivery": "Ce document est déjà classé dans un dossier."}
    return {}


FILE_DELIVERY = connectors.register(connectors.Connector(
    id="relais/file_delivery",
    description="Classe dans le dossier un document reçu (copie chiffrée pour le dossier), "
    "puis en accuse réception auprès de l'expéditeur.",
    required=("delivery",),
    optional=("purposes", "acknowledge"),
    documented=(
        connectors.Parameter("delivery", "int", (
            "Numéro de la remise reçue à classer dans le dossier."
        )),
        connectors.Parameter("purposes", "list", (
            "Finalités sous lesquelles la pièce est conservée (codes du catalogue des "
            "finalités)."
        )),
        connectors.Parameter("acknowledge", "bool", (
            "Accuser réception auprès de l'expéditeur (True par défaut)."
        )),
    ),
    run_in_transaction=_file,
    validate=_file_refusals,
))


# --- relais/export_dossier -----------------------------------------------------------------

def _categories(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items \
            or not all(isinstance(c, str) for c in items):
        raise DossierInvalid("Paramètre « categories » invalide : une liste de catégories est "
                             "attendue, par exemple ['ID', 'OFF', 'SOC'].",
                             code="connector_parameter_invalid")
    return sorted(set(items))


def _export(context: connectors.ConnectorContext, params: Mapping[str, Any]) -> dict[str, Any]:
    uow: UnitOfWork = context.uow
    instance = _instance(uow, context)
    case = cases.get_case(uow, context.case_id)
    sender = uow.session.get(Organisation, case.organisation_id)
    assert sender is not None
    actor = Actor(None, "système", organisation_id=sender.id)
    try:
        slug = _text(params, "recipient")
        # An organisation slug (a role is not accepted here: no lane is looked up).
        recipient = recipient_organisation(uow, {}, slug)
        if recipient is None:
            raise DossierInvalid(f"Organisation destinataire inconnue : {slug}.",
                                 code="recipient_unknown")
        role = _text(params, "recipient_role", required=False) \
            or ROLE_OF_KIND.get(OrganisationKind(recipient.kind))
        if role is not None and not is_known_role(role):
            raise DossierInvalid(f"Rôle destinataire inconnu : {role}.",
                                 code="connector_parameter_invalid")
        purpose = _text(params, "purpose") or ""
        if not CODE_RE.fullmatch(purpose):
            raise DossierInvalid("Finalité invalide : un code est attendu.",
                                 code="purpose_invalid")
        declared = _categories(params.get("categories"))
        cover = render.load_template(_text(params, "template") or "")
        kind_label = _text(params, "document_name", required=False) or cover.kind_label
        made = dossiers.export(uow, case, cover)
        undeclared = sorted(made.categories - set(declared))
        if undeclared:
            raise DossierInvalid(
                f"Le dossier contient des données de catégorie {', '.join(undeclared)} que "
                "la remise ne déclare pas : ajoutez-les au connecteur (et au consentement).",
                code="categories_undeclared")
        records = dossiers.instance_records(uow, case, instance)
        fields = dossiers.instance_fields(uow, instance, records)
    except RelaisError as exc:
        raise attach(exc, RefusalAudit(actor, "routing.transmission_refused", "case", case.id,
                                       sender.id, {"code": exc.code, "instance": instance.id,
                                                   "outbox": context.outbox_id})) from None

    def produce(authorization: Authorization) -> bytes:
        values = dossiers.instance_values(uow, case, records, fields)
        values.update(reference=case.reference, date_document=render.french_date(uow.now()),
                      organisation_expediteur=sender.name,
                      organisation_destinataire=recipient.name, finalite=purpose,
                      consentement_du=render.french_date(authorization.given_at),
                      fondement=authorization.explanation)
        return build.stamp(made.produce(values),
                           mentions.mentions_for(uow, sender, author, purpose, uow.now(),
                                                 validator_user_id=author, sealed=True))

    stem = PurePosixPath(cover.name).stem
    author = acting_user(uow, instance, sender.id)
    document = routing.Outgoing(
        kind_label=kind_label, title=kind_label, template=cover.name,
        file_name=f"{stem}-{uow.now():%Y-%m-%d}.docx",
        records=tuple(r.id for r in records) + tuple(p.record_id for p in made.pieces),
        produce=produce, validator_user_id=author)
    delivery = routing.transmit(
        uow, actor, case, sender_org=sender, recipient_org=recipient, purpose=purpose,
        categories=declared, document=document, author_user_id=author,
        instance_id=instance.id, recipient_role=role, outbox_id=context.outbox_id,
        commit_refusals=False)
    return {"delivery_id": delivery.id, "pieces": len(made.pieces)}


EXPORT_DOSSIER = connectors.register(connectors.Connector(
    id="relais/export_dossier",
    description="Remet tout le dossier (les documents classés, dans l'ordre où ils ont été "
    "établis) à une organisation, en un seul document signé et chiffré — seulement si un "
    "consentement ou une base légale couvre la remise.",
    required=("recipient", "purpose", "categories", "template"),
    optional=("document_name", "recipient_role"),
    documented=(
        connectors.Parameter("recipient", "str", (
            "Organisation destinataire : un rôle de couloir (ex. « POLICE ») ou "
            "l'identifiant d'une organisation."
        )),
        connectors.Parameter("purpose", "str", (
            "Finalité de la remise (code du catalogue des finalités)."
        )),
        connectors.Parameter("categories", "list", (
            "Catégories de données remises (ID, SOC, HEALTH, OFF, MINOR, THIRD)."
        )),
        connectors.Parameter("template", "str", (
            "Nom du modèle .docx de la page de garde du dossier."
        )),
        connectors.Parameter("document_name", "str", (
            "Nom donné au document remis (par défaut, celui du modèle)."
        )),
        connectors.Parameter("recipient_role", "str", (
            "Rôle destinataire dans l'organisation (ex. « IS ») ; sans lui, toute "
            "l'organisation."
        )),
    ),
    run_in_transaction=_export,
))


# --- relais/hand_dossier -------------------------------------------------------------------

def _hand(context: connectors.ConnectorContext, params: Mapping[str, Any]) -> dict[str, Any]:
    uow: UnitOfWork = context.uow
    instance = _instance(uow, context)
    case = cases.get_case(uow, context.case_id)
    user_id = acting_user(uow, instance, case.organisation_id)
    actor = Actor(user_id, "système", organisation_id=case.organisation_id)
    piece = dossiers.hand_over(uow, actor, case, instance,
                               cover_name=_text(params, "template") or "",
                               beneficiary=_text(params, "beneficiary") or "")
    return {"piece_id": piece.id}


HAND_DOSSIER = connectors.register(connectors.Connector(
    id="relais/hand_dossier",
    description="Prépare tout le dossier (les documents classés, dans l'ordre où ils ont été "
    "établis) en un seul document que l'organisation remet à la victime elle-même ou à son "
    "avocat, à sa demande écrite : rien ne part par Relais, le document reste dans le dossier "
    "pour être imprimé ou remis.",
    required=("template", "beneficiary"),
    documented=(
        connectors.Parameter("template", "str", (
            "Nom du modèle .docx de la page de garde (dossier templates/ à côté du diagramme)."
        )),
        connectors.Parameter("beneficiary", "str", (
            "À qui le dossier est remis : « victime » (la personne elle-même) ou « avocat » "
            "(son avocat), selon sa demande écrite."
        )),
    ),
    run_in_transaction=_hand,
))


# --- relais/destroy_dossier ----------------------------------------------------------------

def _destroy(context: connectors.ConnectorContext, params: Mapping[str, Any]) -> dict[str, Any]:
    uow: UnitOfWork = context.uow
    instance = _instance(uow, context)
    case = cases.get_case(uow, context.case_id)
    reason = params.get("reason", "demande_personne")
    if not isinstance(reason, str) or not CODE_RE.fullmatch(reason) or len(reason) > 40:
        raise DossierInvalid("Paramètre « reason » invalide : un code est attendu (par exemple "
                             "« demande_personne »).", code="connector_parameter_invalid")
    user_id = acting_user(uow, instance, case.organisation_id)
    dossiers.destroy(uow, Actor(user_id, "système", organisation_id=case.organisation_id),
                     case, reason)
    return {"destroyed": True}


DESTROY_DOSSIER = connectors.register(connectors.Connector(
    id="relais/destroy_dossier",
    description="Détruit définitivement le dossier (effacement cryptographique de la "
    "situation : aucune pièce ni saisie ne peut plus être lue, par personne).",
    optional=("reason",),
    documented=(
        connectors.Parameter("reason", "str", (
            "Motif de la destruction, en code (« demande_personne » par défaut)."
        )),
    ),
    run_in_transaction=_destroy,
))
