"""The page where a person chooses which email notices they get, and where."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import flash, g, redirect, render_template, request, url_for

from engine.errors import Invalid
from engine.web.context import uow
from engine.web.ui.auth import load_principal, login_required
from webhooks import notices

bp = APIBlueprint("notices", __name__, enable_openapi=False)
bp.before_request(load_principal)


def _page(values: dict[str, Any], refused: Invalid | None = None, status: int = 200) -> Any:
    return render_template("preferences_courriels.html", values=values, refused=refused,
                           kinds=notices.KINDS, modes=notices.MODES,
                           configured=notices.smtp_configured()), status


@bp.get("/preferences/courriels")
@login_required
def show() -> Any:
    return _page(notices.preferences(uow(), g.principal))


@bp.post("/preferences/courriels")
@login_required
def save() -> Any:
    address = request.form.get("address", "")
    modes = {kind: request.form.get(f"mode_{kind}", "off") for kind in notices.KINDS}
    try:
        notices.set_preferences(uow(), g.principal, address, modes)
    except Invalid as exc:
        return _page({"address": address, "modes": modes}, exc, exc.status)
    uow().commit()
    flash("Vos préférences sont enregistrées.", "ok")
    return redirect(url_for("notices.show"))
