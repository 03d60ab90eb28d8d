"""The administration page of webhook endpoints: register, rotate, delete, see why one was
disabled, read its attempts and replay a message. Platform administrators only (the service
checks it; anonymous visitors are sent to the login page)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import g, redirect, render_template, request, url_for
from sqlalchemy import select

from engine.errors import RelaisError
from engine.identity.models import Organisation
from engine.identity.roles import Role
from engine.identity.service import require_role
from engine.web.context import uow
from engine.web.ui.auth import load_principal, safe_next
from webhooks import service
from webhooks.signing import SCHEMES

bp = APIBlueprint("webhooks_admin", __name__, url_prefix="/admin/webhooks",
                  enable_openapi=False)
bp.before_request(load_principal)

EVENT_LABELS = {
    "delivery.created": "Document adressé à l'organisation",
    "delivery.acknowledged": "Réception accusée par le destinataire",
    "task.created": "Tâche créée pour l'organisation",
    "instance.completed": "Protocole terminé",
    "consent.withdrawn": "Consentement retiré",
    "incident.opened": "Incident ouvert (plateforme)",
    "audit.checkpoint": "Point de contrôle du journal",
}


@bp.before_request
def _administrators_only() -> Any:
    if g.get("principal") is None:
        return redirect(url_for("ui.login", next=safe_next(request.full_path)))
    require_role(g.principal, Role.ADMIN)  # PermissionDenied: the French 403 page
    return None


def _page(shown: dict[str, Any] | None = None, refused: RelaisError | None = None,
          status: int = 200) -> Any:
    rows = [service.describe(uow(), e) for e in service.endpoints(uow(), g.principal)]
    organisations = list(uow().session.scalars(select(Organisation).order_by(Organisation.name)))
    return render_template("admin/webhooks.html", endpoints=rows, shown=shown,
                           refused=refused, organisations=organisations,
                           event_labels=EVENT_LABELS, schemes=SCHEMES), status


@bp.get("")
def endpoints() -> Any:
    return _page()


@bp.post("")
def create() -> Any:
    try:
        endpoint, secret = service.create_endpoint(
            uow(), g.principal, organisation=request.form.get("organisation", ""),
            url=request.form.get("url", "").strip(),
            event_types=request.form.getlist("event_types"),
            scheme=request.form.get("scheme", "v1"))
    except RelaisError as exc:
        uow().rollback()
        return _page(refused=exc, status=exc.status)
    shown = {"id": endpoint.id, "secret": secret}
    uow().commit()
    return _page(shown=shown, status=201)


@bp.post("/<int:endpoint_id>/rotation")
def rotate(endpoint_id: int) -> Any:
    endpoint, secret = service.rotate(uow(), g.principal, endpoint_id)
    shown = {"id": endpoint.id, "secret": secret}
    uow().commit()
    return _page(shown=shown)


@bp.post("/<int:endpoint_id>/suppression")
def delete(endpoint_id: int) -> Any:
    service.delete_endpoint(uow(), g.principal, endpoint_id)
    uow().commit()
    return redirect(url_for("webhooks_admin.endpoints"))


@bp.get("/<int:endpoint_id>/tentatives")
def attempts(endpoint_id: int) -> Any:
    endpoint = service.describe(uow(), service.endpoint_of(uow(), g.principal, endpoint_id))
    rows = service.attempts(uow(), g.principal, endpoint_id)
    return render_template("admin/webhooks_tentatives.html", endpoint=endpoint, attempts=rows)


@bp.post("/messages/<int:message_id>/renvoi")
def replay(message_id: int) -> Any:
    message = service.replay(uow(), g.principal, message_id)
    endpoint_id = message.endpoint_id
    uow().commit()
    return redirect(url_for("webhooks_admin.attempts", endpoint_id=endpoint_id))
