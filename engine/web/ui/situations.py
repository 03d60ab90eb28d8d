"""The situations pages: « Mes situations » with search, « Recevoir une personne » (the
register) and the situation page. Views parse input, call one service and render; every rule
lives in `engine.situations`."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from engine.errors import Invalid
from engine.runtime import service as runtime
from engine.situations import detail
from engine.situations import service as situations
from engine.situations.communes import CHOICES as COMMUNE_CHOICES
from engine.situations.vocabulary import (
    ARRIVALS,
    KNOWN_LABELS,
    ORIENTATIONS,
    PERSON_KINDS,
    PROBLEMS,
    SEXES,
    UNKNOWN_SEX,
)
from engine.web.context import uow
from engine.web.ui.auth import login_required
from engine.web.ui.views import bp


@bp.route("/situations", methods=["GET", "POST"])
@login_required
def situations_list() -> Any:
    # A search is posted: names stay out of addresses, access logs and browser history.
    query = request.form.get("q", "") if request.method == "POST" else ""
    if request.method == "POST":
        rows = situations.search(uow(), g.principal, query)
        return render_template("situations/liste.html", rows=rows, query=query, page=None,
                               limit=situations.SEARCH_LIMIT)
    page = situations.my_situations(uow(), g.principal, _page_number())
    return render_template("situations/liste.html", rows=page.rows, query="", page=page,
                           limit=None)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 1


def _register_choices() -> dict[str, Any]:
    return {"kinds": PERSON_KINDS, "arrivals": ARRIVALS, "problems": PROBLEMS,
            "orientations": ORIENTATIONS, "known": KNOWN_LABELS, "sexes": SEXES,
            "communes": list(COMMUNE_CHOICES.values())}


@bp.route("/situations/recevoir", methods=["GET", "POST"])
@login_required
def receive() -> Any:
    case_id = _case_param()
    values: dict[str, Any] = {"recu_le": uow().now().date().isoformat(),
                              "connu_service_social": "inconnu", "sexe": UNKNOWN_SEX}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {**request.form.to_dict(), "problematiques": request.form.getlist(
            "problematiques"), "orientations": request.form.getlist("orientations")}
        try:
            data = situations.parse_reception(values, uow().now().date())
            reception = situations.receive(uow(), g.principal, data, case_id)
            uow().commit()
        except Invalid as exc:
            uow().rollback()
            errors, status = {e["field"]: e["message"] for e in exc.errors}, 422
        else:
            flash("La personne est enregistrée dans le registre.", "info")
            return redirect(url_for("ui.situation", case_id=reception.case_id))
    else:
        situations.receiving_organisation(g.principal)  # refuses who keeps no register
    return render_template("situations/recevoir.html", values=values, errors=errors,
                           case_id=case_id, **_register_choices()), status


def _case_param() -> int | None:
    raw = request.values.get("situation", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@bp.get("/situations/<int:case_id>")
@login_required
def situation(case_id: int) -> Any:
    page = detail.situation(uow(), g.principal, case_id)
    uow().commit()  # the view is audited
    return _situation_page(page)


def _situation_page(page: detail.Situation, **extra: Any) -> str:
    return render_template("situations/situation.html", s=page, kinds=PERSON_KINDS,
                           **{"note_error": None, **extra})


@bp.post("/situations/<int:case_id>/notes")
@login_required
def add_note(case_id: int) -> Any:
    try:
        situations.add_note(uow(), g.principal, case_id, request.form.get("note", ""))
        uow().commit()
    except Invalid as exc:
        uow().rollback()
        page = detail.situation(uow(), g.principal, case_id)
        uow().commit()
        return _situation_page(page, note_error=exc.errors[0]["message"],
                               note=request.form.get("note", "")), 422
    flash("Note enregistrée.", "info")
    return redirect(url_for("ui.situation", case_id=case_id) + "#notes")


@bp.post("/situations/<int:case_id>/lancer")
@login_required
def start_on_situation(case_id: int) -> Any:
    instance = situations.start_protocol(uow(), g.principal, case_id,
                                         request.form.get("protocole", ""))
    uow().commit()
    mine = [t for t in runtime.worklist(uow(), g.principal) if t["instance_id"] == instance.id]
    flash("Protocole lancé sur cette situation.", "info")
    if mine:
        return redirect(url_for("ui.task", task_id=mine[0]["id"]))
    return redirect(url_for("ui.situation", case_id=case_id))
