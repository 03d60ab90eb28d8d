"""Webhook HTTP surface: the administrators' API under /api/v1/webhooks and the inbound
endpoint /webhooks/in/{endpoint_id} (no session, no bearer token: the signature is the
credential). Views parse, call one service, shape the answer.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, APIFlask, Schema
from apiflask.fields import Boolean, Integer, List, String
from apiflask.validators import Length, OneOf
from flask import request
from flask_wtf.csrf import CSRFProtect

from engine.errors import RelaisError
from engine.web.api.auth import auth, current
from engine.web.context import uow
from engine.web.errors import HTTP_ERRORS, problem
from engine.web.input import PARSED_IN_VIEW
from webhooks import admin, inbound, preferences, service
from webhooks.signing import SCHEMES

api = APIBlueprint("webhooks_api", __name__, url_prefix="/api/v1/webhooks", tag="Webhooks")
incoming = APIBlueprint("webhooks_in", __name__, url_prefix="/webhooks/in",
                        enable_openapi=False)


class EndpointIn(Schema):
    organisation = String(required=True, validate=Length(1, 64))
    url = String(required=True, validate=Length(1, 2000))
    event_types = List(String(validate=Length(1, 40)), required=True, validate=Length(1, 20))
    scheme = String(load_default="v1", validate=OneOf(SCHEMES))


class EndpointOut(Schema):
    id = Integer(required=True)
    organisation = String(required=True)
    url = String(required=True)
    event_types = List(String(), required=True)
    scheme = String(required=True)
    active = Boolean()
    disabled_at = String(allow_none=True)
    disabled_reason = String(allow_none=True)
    created_at = String()
    previous_secret_valid_until = String(allow_none=True)
    secret = String()


class AttemptOut(Schema):
    id = Integer(required=True)
    message_id = Integer(required=True)
    webhook_id = String(required=True)
    event_type = String(required=True)
    number = Integer(required=True)
    started_at = String(required=True)
    outcome = String(required=True)
    status_code = Integer(allow_none=True)
    latency_ms = Integer(allow_none=True)
    excerpt = String(allow_none=True)
    message_status = String(required=True)


class ReplayedOut(Schema):
    id = Integer(required=True)
    webhook_id = String(required=True)
    status = String(required=True)


@api.post("/endpoints")
@api.auth_required(auth)
@api.input(EndpointIn, arg_name="body")
@api.output(EndpointOut, status_code=201)
@api.doc(summary="Enregistrer un point de réception (administrateurs)",
         description="Le secret (whsec_… en v1, clé publique whpk_… en v1a) n'est montré "
         "qu'ici. 422 pour une adresse refusée (https seulement, adresses publiques).")
def create_endpoint(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    endpoint, secret = service.create_endpoint(uow(), current(), **body)
    answer = service.describe(uow(), endpoint, secret)
    uow().commit()
    return answer, 201


@api.get("/endpoints")
@api.auth_required(auth)
@api.output(EndpointOut(many=True))
@api.doc(summary="Points de réception (administrateurs)")
def list_endpoints() -> list[dict[str, Any]]:
    return [service.describe(uow(), e) for e in service.endpoints(uow(), current())]


@api.get("/endpoints/<int:endpoint_id>")
@api.auth_required(auth)
@api.output(EndpointOut)
@api.doc(summary="Un point de réception (administrateurs)")
def get_endpoint(endpoint_id: int) -> dict[str, Any]:
    return service.describe(uow(), service.endpoint_of(uow(), current(), endpoint_id))


@api.delete("/endpoints/<int:endpoint_id>")
@api.auth_required(auth)
@api.output({}, status_code=204)
@api.doc(summary="Supprimer un point de réception (administrateurs)")
def delete_endpoint(endpoint_id: int) -> tuple[str, int]:
    service.delete_endpoint(uow(), current(), endpoint_id)
    uow().commit()
    return "", 204


@api.post("/endpoints/<int:endpoint_id>/rotate")
@api.auth_required(auth)
@api.output(EndpointOut)
@api.doc(summary="Nouveau secret (l'ancien reste valable 24 h, les deux signent)")
def rotate(endpoint_id: int) -> dict[str, Any]:
    endpoint, secret = service.rotate(uow(), current(), endpoint_id)
    answer = service.describe(uow(), endpoint, secret)
    uow().commit()
    return answer


@api.get("/endpoints/<int:endpoint_id>/attempts")
@api.auth_required(auth)
@api.output(AttemptOut(many=True))
@api.doc(summary="Chaque tentative d'envoi, les plus récentes d'abord")
def attempts(endpoint_id: int) -> list[dict[str, Any]]:
    return service.attempts(uow(), current(), endpoint_id)


@api.post("/messages/<int:message_id>/replay")
@api.auth_required(auth)
@api.output(ReplayedOut, status_code=202)
@api.doc(summary="Renvoyer un message (même webhook-id)")
def replay(message_id: int) -> tuple[dict[str, Any], int]:
    message = service.replay(uow(), current(), message_id)
    answer = {"id": message.id, "webhook_id": message.webhook_id, "status": message.status}
    uow().commit()
    return answer, 202


@incoming.post("/<int:endpoint_id>")
def receive(endpoint_id: int) -> tuple[dict[str, Any], int]:
    headers = {k.lower(): v for k, v in request.headers.items()}
    answer = inbound.receive(uow(), endpoint_id, headers, request.get_data(cache=False))
    uow().commit()
    return answer, 200


@incoming.errorhandler(RelaisError)
def _inbound_problem(exc: RelaisError) -> Any:
    """Outside /api/v1, still a problem document (a partner's system reads it)."""
    title = HTTP_ERRORS.get(exc.status, HTTP_ERRORS[400])[1]
    return problem(exc.status, exc.code, title, exc.message)


def register(app: APIFlask, csrf: CSRFProtect) -> None:
    """Mount the API, the inbound endpoint, the administration and preference pages."""
    csrf.exempt(api)  # bearer tokens, no ambient cookies
    csrf.exempt(incoming)  # signed by the partner, no cookies
    PARSED_IN_VIEW.add(incoming.name)  # refusals of partner calls are audited as theirs
    app.register_blueprint(api)
    app.register_blueprint(incoming)
    app.register_blueprint(admin.bp)
    app.register_blueprint(preferences.bp)
