"""API for consents, legal bases and the person's rights.

Views authenticate, call `engine.consent.service`, `engine.consent.rights` or
`engine.dossiers.rights`, and shape the answers; every rule (who may act, what cascades)
lives in the services. Who may call:
- a case's consents, receipts, evidence, withdrawal, destruction and access export: the
  professionals of the organisation holding the case (any role but ADMIN); others get the
  same 404 as for an unknown id;
- legal reviews: the reviewer roles of the basis, in the organisation that invoked it,
  never the person who invoked it;
- notices: the recipient organisation's members (role targeted by the delivery);
- the retention dry run: administrators (ids, codes and dates only);
- the catalogues: any authenticated user.
"""

from __future__ import annotations

import json
from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf
from flask import request

from engine.consent import rights
from engine.consent import service as consent
from engine.consent.catalogue import LEGAL_BASES, PURPOSES
from engine.dossiers import rights as person_rights
from engine.errors import Invalid
from engine.routing import notices as holder_notices
from engine.web.api.auth import auth, current
from engine.web.api.views import bp
from engine.web.context import uow
from engine.web.downloads import attachment
from engine.web.idempotency import idempotent

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class ConsentOut(Schema):
    id = Integer(required=True)
    uid = String(required=True)
    case_id = Integer()
    person = String()
    version = Integer()
    supersedes_id = Integer(allow_none=True)
    superseded_by_id = Integer(allow_none=True)
    decision = String()
    status = String()
    purposes = List(String())
    recipients = List(String())
    categories = List(String())
    channel = String()
    given_by = String(allow_none=True, metadata={
        "description": "Qui a donné l'accord : `personne`, `representant_legal` ou "
        "`mineur_et_parents` ; null pour un consentement recueilli avant que Relais ne "
        "l'enregistre."})
    given_at = String()
    expires_at = String(allow_none=True)
    withdrawn_at = String(allow_none=True)
    recorded_by = Integer()
    recorded_at = String()
    evidence = Boolean()


class EventOut(Schema):
    kind = String()
    at = String()
    by_user_id = Integer(allow_none=True)
    details = Dict()


class ConsentDetailOut(ConsentOut):
    history = List(Nested(EventOut))


class WithdrawIn(Schema):
    destroy = Boolean(load_default=False)


class CascadeOut(Schema):
    cancelled_outbox = List(Integer())
    notified_deliveries = List(Integer())
    destroyed = Boolean()


class WithdrawalOut(CascadeOut):
    consent = Nested(ConsentOut)


class DestructionIn(Schema):
    confirm_reference = String(required=True, validate=Length(1, 24))


class EvidenceOut(Schema):
    consent_id = Integer()
    record_id = Integer()


class ReviewOut(Schema):
    id = Integer()
    case_id = Integer()
    legal_basis = String()
    legal_basis_record = Integer()
    status = String()
    opened_at = String()
    decided_at = String(allow_none=True)
    decided_by = Integer(allow_none=True)


class AnswerIn(Schema):
    decision = String(required=True, validate=OneOf(["approved", "rejected"]))


class NoticeOut(Schema):
    id = Integer()
    kind = String()
    delivery_id = Integer(allow_none=True)
    consent_id = Integer(allow_none=True)
    created_at = String()
    message = String()


class RetentionItemOut(Schema):
    case_id = Integer()
    reference = String()
    organisation = String()
    purposes = List(String())
    last_activity_at = String()
    retention_days = Integer()
    due_at = String()
    held = Boolean()


class RetentionOut(Schema):
    at = String()
    dry_run = Boolean()
    due = List(Nested(RetentionItemOut))


class PurposeOut(Schema):
    code = String()
    label = String()
    retention_days = Integer(allow_none=True)


class LegalBasisOut(Schema):
    code = String()
    label = String()
    reference = String()
    roles = List(String())
    information = List(String())
    information_rule = String()
    recipient_kinds = List(String())
    requires_secrecy = Boolean()
    categories = List(String())
    requires_review = Boolean()


def _cascade(cascade: consent.Cascade) -> dict[str, Any]:
    return {"cancelled_outbox": list(cascade.cancelled_outbox),
            "notified_deliveries": list(cascade.notified_deliveries),
            "destroyed": cascade.destroyed}


# --- consents ------------------------------------------------------------------------------

@bp.get("/cases/<int:case_id>/consents")
@bp.auth_required(auth)
@bp.output(ConsentOut(many=True))
@bp.doc(summary="Consentements d'une situation (toutes les versions)",
        description="Réservé aux professionnels de l'organisation qui suit la situation ; "
        "404 pour les autres. `status` : active, refused, superseded, withdrawn, expired.")
def case_consents(case_id: int) -> list[dict[str, Any]]:
    case = consent.visible_case(uow(), current(), case_id)
    return [consent.describe(uow(), c) for c in consent.consents_of(uow(), case)]


@bp.get("/consents/<int:consent_id>")
@bp.auth_required(auth)
@bp.output(ConsentDetailOut)
@bp.doc(summary="Un consentement et son historique (jamais modifié : versionné)")
def get_consent(consent_id: int) -> dict[str, Any]:
    row = consent.visible_consent(uow(), current(), consent_id)
    return {**consent.describe(uow(), row),
            "history": [{"kind": e.kind, "at": e.at.isoformat(), "by_user_id": e.by_user_id,
                         "details": json.loads(e.details)}
                        for e in consent.history_of(uow(), row)]}


@bp.post("/consents/<int:consent_id>/withdraw")
@bp.auth_required(auth)
@bp.input(WithdrawIn, arg_name="body")
@bp.output(WithdrawalOut)
@bp.doc(summary="Retrait du consentement par la personne, et ses conséquences",
        description="Bloque toute transmission ultérieure, annule les transmissions encore "
        "en attente, avertit les destinataires qui détiennent une copie ; avec "
        "`destroy: true`, détruit aussi les données de la situation (effacement "
        "cryptographique). Idempotent.")
def withdraw(consent_id: int, body: dict[str, Any]) -> dict[str, Any]:
    principal = current()
    row = consent.visible_consent(uow(), principal, consent_id)
    cascade = consent.withdraw(uow(), principal, row, destroy=body["destroy"])
    answer = {"consent": consent.describe(uow(), consent.current_version(uow(), row)),
              **_cascade(cascade)}
    uow().commit()
    return answer


@bp.get("/consents/<int:consent_id>/receipt")
@bp.auth_required(auth)
@bp.doc(summary="Reçu de consentement à remettre à la personne (docx)",
        responses={200: {"description": "Le reçu", "content": {DOCX: {}}}})
def receipt(consent_id: int) -> Any:
    row = consent.visible_consent(uow(), current(), consent_id)
    file_name, content = rights.consent_receipt(uow(), current(), row)
    uow().commit()
    return attachment(content, DOCX, file_name)


@bp.post("/consents/<int:consent_id>/evidence")
@bp.auth_required(auth)
@bp.output(EvidenceOut, status_code=201)
@bp.doc(summary="Joindre le formulaire de consentement signé, numérisé (PDF, PNG, JPEG)",
        description="multipart/form-data, champ « file » ; conservé chiffré dans la situation. "
        "Accepte l'en-tête Idempotency-Key.")
def attach_evidence(consent_id: int) -> Any:
    principal = current()
    row = consent.visible_consent(uow(), principal, consent_id)
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("Joignez le formulaire signé dans le champ « file ».",
                      [{"field": "file", "message": "Fichier manquant."}])
    content = upload.read(consent.MAX_EVIDENCE_BYTES + 1)

    def create() -> tuple[dict[str, Any], int]:
        record = consent.attach_evidence(uow(), principal, row, content=content,
                                         media_type=upload.mimetype or "",
                                         file_name=upload.filename or "")
        return {"consent_id": row.id, "record_id": record.id}, 201

    return idempotent(principal.user_id, create)


@bp.get("/consents/<int:consent_id>/evidence")
@bp.auth_required(auth)
@bp.doc(summary="Le formulaire signé joint (déchiffré ; chaque lecture est journalisée)")
def read_evidence(consent_id: int) -> Any:
    row = consent.visible_consent(uow(), current(), consent_id)
    evidence = consent.read_evidence(uow(), current(), row)
    uow().commit()
    return attachment(evidence.content, evidence.media_type, evidence.file_name)


# --- the person's rights -------------------------------------------------------------------

@bp.get("/cases/<int:case_id>/access-export")
@bp.auth_required(auth)
@bp.doc(summary="Droit d'accès : tout ce que la situation contient sur la personne (docx)",
        description="Saisies, consentements, bases légales, documents transmis ; les "
        "informations sur des tiers (THIRD) sont retirées. Paramètre `person` (P1 par "
        "défaut). Journalisé.",
        responses={200: {"description": "L'export", "content": {DOCX: {}}}})
def access_export(case_id: int) -> Any:
    person = request.args.get("person", consent.DEFAULT_PERSON)
    file_name, content = person_rights.access_export(uow(), current(), case_id, person)
    uow().commit()
    return attachment(content, DOCX, file_name)


@bp.post("/cases/<int:case_id>/destruction")
@bp.auth_required(auth)
@bp.input(DestructionIn, arg_name="body")
@bp.output(CascadeOut)
@bp.doc(summary="Demande de destruction par la personne (effacement cryptographique)",
        description="Rend illisibles, pour tous et définitivement, les saisies et documents "
        "de la situation, y compris les copies détenues par les destinataires, qui en sont "
        "avertis. Confirmez en renvoyant la référence de la situation.")
def destruction(case_id: int, body: dict[str, Any]) -> dict[str, Any]:
    answer = _cascade(consent.confirm_destruction(uow(), current(), case_id,
                                                  body["confirm_reference"]))
    uow().commit()
    return answer


@bp.get("/notices")
@bp.auth_required(auth)
@bp.output(NoticeOut(many=True))
@bp.doc(summary="Avis aux destinataires : consentement retiré, données détruites")
def notices() -> list[dict[str, Any]]:
    return holder_notices.notices_for(uow(), current())


# --- legal reviews -------------------------------------------------------------------------

@bp.get("/cases/<int:case_id>/legal-reviews")
@bp.auth_required(auth)
@bp.output(ReviewOut(many=True))
@bp.doc(summary="Revues juridiques d'une situation (réquisitions judiciaires)")
def legal_reviews(case_id: int) -> list[dict[str, Any]]:
    case = consent.visible_case(uow(), current(), case_id)
    return [consent.describe_review(r) for r in consent.reviews_of(uow(), case)]


@bp.post("/legal-reviews/<int:review_id>/answer")
@bp.auth_required(auth)
@bp.input(AnswerIn, arg_name="body")
@bp.output(ReviewOut)
@bp.doc(summary="Trancher une revue juridique (approved ou rejected), une seule fois",
        description="409 si elle est déjà tranchée. Seule une réponse approuvée permet "
        "ensuite la transmission.")
def answer_review(review_id: int, body: dict[str, Any]) -> dict[str, Any]:
    principal = current()
    review = consent.visible_review(uow(), principal, review_id)
    consent.answer_legal_review(uow(), principal, review, body["decision"])
    answer = consent.describe_review(review)
    uow().commit()
    return answer


# --- retention and catalogues --------------------------------------------------------------

@bp.get("/retention/due")
@bp.auth_required(auth)
@bp.output(RetentionOut)
@bp.doc(summary="Durées de conservation : ce qui est échu (simulation, administrateurs)",
        description="Ce que `relais retention` détruirait maintenant ; rien n'est modifié. "
        "Journalisé.")
def retention_due() -> dict[str, Any]:
    sweep = person_rights.review_retention(uow(), current())
    uow().commit()
    return {"at": sweep.at.isoformat(), "dry_run": True,
            "due": [item.as_dict() for item in sweep.due]}


@bp.get("/purposes")
@bp.auth_required(auth)
@bp.output(PurposeOut(many=True))
@bp.doc(summary="Catalogue des finalités et de leurs durées de conservation")
def purposes() -> list[dict[str, Any]]:
    return [{"code": p.code, "label": p.label,
             "retention_days": p.retention.days if p.retention else None}
            for p in sorted(PURPOSES.values(), key=lambda p: p.code)]


@bp.get("/legal-bases")
@bp.auth_required(auth)
@bp.output(LegalBasisOut(many=True))
@bp.doc(summary="Catalogue des bases légales qui remplacent le consentement")
def legal_bases() -> list[dict[str, Any]]:
    return [{"code": b.code, "label": b.label, "reference": b.reference,
             "roles": sorted(b.roles), "information": sorted(b.information),
             "information_rule": b.information_rule,
             "recipient_kinds": sorted(b.recipient_kinds),
             "requires_secrecy": b.requires_secrecy, "categories": sorted(b.categories),
             "requires_review": b.requires_review}
            for b in sorted(LEGAL_BASES.values(), key=lambda b: b.code)]

