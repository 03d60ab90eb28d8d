"""API of case disclosures: an administrator asks which situation an instance serves, the
organisation holding it answers (engine.cases.disclosure). Views parse, call, shape."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Integer, String
from apiflask.validators import Length

from engine.cases import disclosure
from engine.runtime import service as runtime
from engine.web.api.auth import auth, current
from engine.web.api.views import bp
from engine.web.context import uow


class DisclosureIn(Schema):
    reason = String(required=True, validate=Length(1, disclosure.REASON_MAX))


class AnswerIn(Schema):
    approve = Boolean(required=True)


class DisclosureOut(Schema):
    id = Integer(required=True)
    instance_id = Integer(allow_none=True)
    case_id = Integer(allow_none=True)
    reason = String()
    status = String()
    requested_at = String()
    expires_at = String(allow_none=True)


def _out(row: Any, *, with_case: bool) -> dict[str, Any]:
    status = "pending" if row.answered_at is None else \
        "approved" if row.approved else "refused"
    return {"id": row.id, "instance_id": row.instance_id,
            "case_id": row.case_id if with_case else None, "reason": row.reason,
            "status": status, "requested_at": row.requested_at.isoformat(),
            "expires_at": row.expires_at.isoformat() if row.expires_at else None}


@bp.post("/admin/instances/<int:instance_id>/case-disclosure")
@bp.auth_required(auth)
@bp.input(DisclosureIn, arg_name="body")
@bp.output(DisclosureOut, status_code=201)
@bp.doc(summary="Demander quelle situation sert une instance (administrateurs)",
        description="La demande part vers l'organisation qui détient la situation ; tant "
        "qu'elle n'est pas approuvée, `case_id` reste masqué.")
def request_disclosure(instance_id: int, body: dict[str, Any]) -> dict[str, Any]:
    row = runtime.request_case_disclosure(uow(), current(), instance_id, body["reason"])
    out = _out(row, with_case=False)
    uow().commit()
    return out


@bp.get("/case-disclosures")
@bp.auth_required(auth)
@bp.output(DisclosureOut(many=True))
@bp.doc(summary="Demandes de levée du masquage en attente pour mes organisations")
def pending_disclosures() -> list[dict[str, Any]]:
    return [_out(r, with_case=True) for r in disclosure.pending(uow(), current())]


@bp.post("/case-disclosures/<int:disclosure_id>/answer")
@bp.auth_required(auth)
@bp.input(AnswerIn, arg_name="body")
@bp.output(DisclosureOut)
@bp.doc(summary="Approuver ou refuser une demande (organisation qui détient la situation)",
        description="Une seule réponse (409 ensuite) ; jamais par la personne qui a demandé.")
def answer_disclosure(disclosure_id: int, body: dict[str, Any]) -> dict[str, Any]:
    row = disclosure.answer(uow(), current(), disclosure_id, body["approve"])
    out = _out(row, with_case=True)
    uow().commit()
    return out
