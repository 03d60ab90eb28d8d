"""API for deliveries: inbox, one delivery, its document, its envelope, acknowledgement.

Views authenticate, call `engine.routing.service`, and shape answers; no rule lives here.
Refusals are audited by the service itself (it commits their audit row before raising).
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Dict, Integer, List, Nested, String

from engine.routing import service as routing
from engine.web.api.auth import auth, current
from engine.web.api.views import bp
from engine.web.context import uow
from engine.web.downloads import attachment
from engine.web.idempotency import idempotent

ENVELOPE_MEDIA_TYPE = "application/vnd.relais.envelope"


class InboxItemOut(Schema):
    id = Integer(required=True)
    instance_id = Integer(allow_none=True)
    process_id = String(allow_none=True)
    document_name = String(required=True)
    status = String(required=True)
    received_at = String(allow_none=True)
    sender_organisation = String()
    purpose = String()


class SignatureOut(Schema):
    status = String(required=True)
    code = String(allow_none=True)
    signer_kid = String(allow_none=True)


class ReceiptOut(Schema):
    id = Integer()
    statement = Dict()
    signature = String()
    signer_kid = String()
    received_at = String()
    signature_status = String()
    code = String(allow_none=True)


class AcknowledgedOut(ReceiptOut):
    """The receipt just signed."""


class DeliveryOut(Schema):
    id = Integer(required=True)
    envelope_id = String()
    instance_id = Integer(allow_none=True)
    process_id = String(allow_none=True)
    document_name = String()
    status = String()
    sender_organisation = String()
    recipient_organisation = String()
    recipient_role = String(allow_none=True)
    purpose = String()
    categories = List(String())
    created_at = String()
    received_at = String(allow_none=True)
    opened_at = String(allow_none=True)
    acknowledged_at = String(allow_none=True)
    manifest = Dict()
    manifest_sha256 = String()
    signature = Nested(SignatureOut)
    receipts = List(Nested(ReceiptOut))
    destroyed_at = String(allow_none=True)


@bp.get("/inbox")
@bp.auth_required(auth)
@bp.output(InboxItemOut(many=True))
@bp.doc(summary="Boîte de réception", description="Les envois adressés à l'organisation de "
        "l'appelant, pour un rôle qu'il y tient ; les plus récents d'abord.")
def inbox() -> list[dict[str, Any]]:
    return routing.inbox(uow(), current())


@bp.get("/deliveries/<int:delivery_id>")
@bp.auth_required(auth)
@bp.output(DeliveryOut)
@bp.doc(summary="Un envoi : manifeste signé, état de la signature, accusés de réception",
        description="404 pour qui n'est ni de l'organisation expéditrice ni destinataire "
        "(ni du rôle visé chez le destinataire) ; la tentative est journalisée.")
def delivery(delivery_id: int) -> dict[str, Any]:
    return routing.delivery_summary(uow(), current(), delivery_id)


@bp.get("/deliveries/<int:delivery_id>/document")
@bp.auth_required(auth)
@bp.doc(summary="Le document déchiffré (docx)",
        description="Réservé au destinataire ; chaque lecture est journalisée. 410 si les "
        "données de la situation ont été détruites.",
        responses={200: {"description": "Le document", "content": {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {}}}})
def delivery_document(delivery_id: int) -> Any:
    opened = routing.open_document(uow(), current(), delivery_id)
    uow().commit()
    return attachment(opened.content, opened.metadata.media_type, opened.metadata.file_name)


@bp.get("/deliveries/<int:delivery_id>/envelope")
@bp.auth_required(auth)
@bp.doc(summary="L'enveloppe scellée telle que conservée (.relais, pour « relais verify »)",
        description="Expéditeur ou destinataire ; journalisé. 410 après destruction.",
        responses={200: {"description": "L'enveloppe", "content": {ENVELOPE_MEDIA_TYPE: {}}}})
def delivery_envelope(delivery_id: int) -> Any:
    envelope_id, blob = routing.export_envelope(uow(), current(), delivery_id)
    uow().commit()
    return attachment(blob, ENVELOPE_MEDIA_TYPE, f"{envelope_id}.relais")


@bp.post("/deliveries/<int:delivery_id>/acknowledge")
@bp.auth_required(auth)
@bp.output(AcknowledgedOut, status_code=201)
@bp.doc(summary="Accuser réception (reçu signé par l'organisation destinataire)",
        description="Reprend l'instance expéditrice (message « accuse_reception »). 409 si "
        "la réception est déjà accusée. Accepte l'en-tête Idempotency-Key.")
def acknowledge(delivery_id: int) -> Any:
    principal = current()

    def create() -> tuple[dict[str, Any], int]:
        receipt = routing.acknowledge(uow(), principal, delivery_id)
        return routing.describe_receipt(uow(), receipt), 201

    return idempotent(principal.user_id, create)
