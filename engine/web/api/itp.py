"""API for the ITP secretariat's session calendar (role CG_ITP of the council).

Views authenticate, call `engine.itp.service`, and shape answers; no rule lives here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apiflask import Schema
from apiflask.fields import AwareDateTime, Boolean, Integer, String
from apiflask.validators import Length, Range

from engine.itp import service as itp
from engine.web.api.auth import auth, current
from engine.web.api.views import bp
from engine.web.context import uow


class SessionOut(Schema):
    id = Integer(required=True)
    starts_at = String(required=True)
    label = String()
    capacity = Integer()
    booked = Integer()
    available = Integer()
    place = String(allow_none=True)
    cancelled = Boolean()


class SessionIn(Schema):
    starts_at = AwareDateTime(required=True)
    capacity = Integer(required=True, validate=Range(1, itp.MAX_CAPACITY))
    place = String(load_default=None, allow_none=True, validate=Length(max=200))


class WeeklyIn(SessionIn):
    weeks = Integer(required=True, validate=Range(1, itp.MAX_WEEKS))


class SessionChangeIn(Schema):
    capacity = Integer(load_default=None, allow_none=True, validate=Range(1, itp.MAX_CAPACITY))
    cancelled = Boolean(load_default=None, allow_none=True)


class SinceIn(Schema):
    since = AwareDateTime(load_default=None, allow_none=True)


@bp.get("/itp/sessions")
@bp.auth_required(auth)
@bp.input(SinceIn, location="query", arg_name="query")
@bp.output(SessionOut(many=True))
@bp.doc(summary="Calendrier des séances de l'ITP (secrétariat)",
        description="Les séances à venir du conseil départemental de l'appelant, avec leurs "
        "places restantes.")
def itp_sessions(query: dict[str, Any]) -> list[dict[str, Any]]:
    since: datetime | None = query.get("since")
    return itp.sessions(uow(), current(), since)


@bp.post("/itp/sessions")
@bp.auth_required(auth)
@bp.input(SessionIn, arg_name="body")
@bp.output(SessionOut, status_code=201)
@bp.doc(summary="Ouvrir une séance de l'ITP (secrétariat)")
def itp_open_session(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    session = itp.open_session(uow(), current(), body["starts_at"], body["capacity"],
                               body["place"])
    answer = itp.describe(uow(), session)
    uow().commit()
    return answer, 201


@bp.post("/itp/sessions/weekly")
@bp.auth_required(auth)
@bp.input(WeeklyIn, arg_name="body")
@bp.output(SessionOut(many=True), status_code=201)
@bp.doc(summary="Ouvrir des séances hebdomadaires (secrétariat)",
        description="Une séance par semaine à partir de starts_at, le même jour à la même heure "
        "(heure de Paris) ; une séance déjà ouverte à cette heure est conservée.")
def itp_plan_weekly(body: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    planned = itp.plan_weekly(uow(), current(), body["starts_at"], body["weeks"],
                              body["capacity"], body["place"])
    answer = [itp.describe(uow(), s) for s in planned]
    uow().commit()
    return answer, 201


@bp.patch("/itp/sessions/<int:session_id>")
@bp.auth_required(auth)
@bp.input(SessionChangeIn, arg_name="body")
@bp.output(SessionOut)
@bp.doc(summary="Changer la capacité d'une séance ou l'annuler (secrétariat)",
        description="422 si la capacité passerait sous le nombre de situations inscrites, "
        "ou si une séance occupée est annulée.")
def itp_change_session(session_id: int, body: dict[str, Any]) -> dict[str, Any]:
    principal = current()
    session = itp.session_of(uow(), principal, session_id)
    if body["capacity"] is not None:
        session = itp.resize(uow(), principal, session_id, body["capacity"])
    if body["cancelled"]:
        session = itp.cancel(uow(), principal, session_id)
    answer = itp.describe(uow(), session)
    uow().commit()
    return answer
