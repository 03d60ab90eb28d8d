"""The ITP secretariat's calendar: coming sessions with capacity, bookings and agenda; open a
session or a weekly series, change a capacity, cancel an empty session. Rules live in
`engine.itp`; this module parses the form and renders."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from engine.errors import Invalid
from engine.itp import service as itp
from engine.situations import workspace
from engine.web.context import uow
from engine.web.ui.auth import login_required
from engine.web.ui.views import bp


@bp.get("/itp")
@login_required
def itp_calendar() -> Any:
    return _calendar({}, {})


def _calendar(values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    agenda = workspace.itp_agenda(uow(), g.principal)
    return render_template("travail/itp.html", agenda=agenda, values=values, errors=errors,
                           max_capacity=itp.MAX_CAPACITY), status


def _number(raw: str, field: str, errors: dict[str, str]) -> int:
    if not raw.strip().isdigit() or len(raw.strip()) > 4:
        errors[field] = "Indiquez un nombre entier."
        return 0
    return int(raw)


def _start(values: dict[str, str], errors: dict[str, str]) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(values.get("jour", "")),
                                time.fromisoformat(values.get("heure", "")))
    except ValueError:
        errors["jour"] = "Choisissez un jour et une heure."
        return None


@bp.post("/itp/seances")
@login_required
def itp_open() -> Any:
    values = request.form.to_dict()
    errors: dict[str, str] = {}
    starts_at = _start(values, errors)
    capacity = _number(values.get("capacite", ""), "capacite", errors)
    weeks = _number(values.get("semaines", "1") or "1", "semaines", errors)
    place = values.get("lieu", "").strip() or None
    try:
        if errors:
            raise Invalid("Le formulaire contient des erreurs.")
        assert starts_at is not None
        opened = itp.plan_weekly(uow(), g.principal, starts_at, weeks, capacity, place)
        uow().commit()
    except Invalid as exc:
        uow().rollback()
        renamed = {"capacity": "capacite", "weeks": "semaines", "place": "lieu"}
        errors |= {renamed.get(e["field"], e["field"]): e["message"] for e in exc.errors}
        return _calendar(values, errors, 422)
    flash(f"{len(opened)} séance(s) ouverte(s).", "info")
    return redirect(url_for("ui.itp_calendar"))


@bp.post("/itp/seances/<int:session_id>")
@login_required
def itp_change(session_id: int) -> Any:
    try:
        if request.form.get("action") == "annuler":
            itp.cancel(uow(), g.principal, session_id)
            message = "Séance annulée."
        else:
            errors: dict[str, str] = {}
            capacity = _number(request.form.get("capacite", ""), "capacite", errors)
            if errors:
                raise Invalid("Capacité invalide : indiquez un nombre entier.")
            itp.resize(uow(), g.principal, session_id, capacity)
            message = "Capacité modifiée."
        uow().commit()
    except Invalid as exc:
        uow().rollback()
        flash(exc.message, "warning")
        return redirect(url_for("ui.itp_calendar") + f"#seance-{session_id}")
    flash(message, "info")
    return redirect(url_for("ui.itp_calendar") + f"#seance-{session_id}")
