"""The professionals' pages: protocols to start, my tasks and their forms, received documents.

Views call `engine.runtime` and `engine.routing` services only; every rule lives there.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from engine.errors import Conflict, Invalid
from engine.routing import preview
from engine.routing import service as routing
from engine.runtime import service as runtime
from engine.situations import words, workspace
from engine.web.context import uow
from engine.web.downloads import attachment
from engine.web.ui import forms as html_forms
from engine.web.ui.auth import login_required
from engine.web.ui.views import bp


@bp.get("/protocoles")
@login_required
def processes() -> Any:
    versions = [v for v in runtime.available_versions(uow())
                if runtime.can_start(g.principal, v)]
    return render_template("travail/protocoles.html", versions=versions)


@bp.post("/protocoles/<process_id>/lancer")
@login_required
def start(process_id: str) -> Any:
    instance = runtime.start_instance(uow(), g.principal, process_id)
    uow().commit()
    mine = [t for t in runtime.worklist(uow(), g.principal) if t["instance_id"] == instance.id]
    flash("Protocole lancé : une nouvelle situation est ouverte.", "info")
    if mine:
        return redirect(url_for("ui.task", task_id=mine[0]["id"]))
    return redirect(url_for("ui.instance", instance_id=instance.id))


@bp.get("/taches")
@login_required
def tasks() -> Any:
    rows = workspace.my_tasks(uow(), g.principal)
    return render_template("travail/taches.html", tasks=rows,
                           signature=workspace.tasks_signature(rows))


@bp.get("/taches/liste")
@login_required
def tasks_fragment() -> Any:
    """The task list's current state for `static/taches.js` (the home page asks for its
    shorter list with `?accueil=1`)."""
    home_list = request.args.get("accueil") == "1"
    rows = workspace.my_tasks(uow(), g.principal)
    rows = rows[:workspace.HOME_TASKS] if home_list else rows
    count = len(rows)
    announce = ("La liste de vos tâches a changé : "
                + (f"{count} tâche{'s' if count > 1 else ''} à faire." if count
                   else "aucune tâche en attente."))
    html = render_template("travail/_taches.html", tasks=rows, home_list=home_list)
    return {"signature": workspace.tasks_signature(rows), "count": count, "html": html,
            "announce": announce}


@bp.route("/taches/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int) -> Any:
    row = runtime.visible_task(uow(), g.principal, task_id)
    instance = runtime.visible_instance(uow(), g.principal, row.instance_id)
    form = runtime.task_form(uow(), row)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    conflict = None
    status = 200
    if request.method == "POST":
        values = html_forms.parse(form["schema"], request.form) if form else {}
        try:
            with runtime.concurrent_change_is_conflict(uow()):
                runtime.complete_task(uow(), g.principal, task_id, values or None,
                                      _expected_version())
                uow().commit()
        except Invalid as exc:
            uow().rollback()
            errors = {e["field"]: e["message"] for e in exc.errors}
            status = 422
        except Conflict as exc:
            # Another tab (or a colleague) did this step first: keep what was typed in sight.
            uow().rollback()
            conflict, status = exc.message, 409
        else:
            flash(f"« {row.name} » est enregistré.", "info")
            return redirect(url_for("ui.tasks"))
    elif row.state != "ready":
        conflict = "Cette tâche a déjà été traitée."
    fields = html_forms.fields(form["schema"], form["ui"], values,
                               words.form_words(uow(), form["schema"])) if form else []
    # A consent screen shows the document that would leave, built from what was typed.
    shown = preview.transmission_preview(uow(), g.principal, task_id) \
        if conflict is None else None
    uow().commit()  # showing the preview is audited
    return render_template("travail/tache.html", task=row, instance=instance, form=form,
                           fields=fields, errors=errors, conflict=conflict, preview=shown,
                           where=workspace.where(uow(), g.principal, instance)), status


def _expected_version() -> int | None:
    raw = request.form.get("_revision") or ""
    return int(raw) if raw.isdigit() else None


@bp.get("/situations/protocoles/<int:instance_id>")
@login_required
def instance(instance_id: int) -> Any:
    found = runtime.visible_instance(uow(), g.principal, instance_id)
    return render_template("travail/instance.html",
                           summary=runtime.instance_summary(uow(), g.principal, found),
                           where=workspace.where(uow(), g.principal, found))


@bp.get("/recus")
@login_required
def inbox() -> Any:
    return render_template("travail/recus.html",
                           deliveries=workspace.received(uow(), g.principal))


@bp.get("/recus/<int:delivery_id>/document")
@login_required
def document(delivery_id: int) -> Any:
    opened = routing.open_document(uow(), g.principal, delivery_id)
    uow().commit()
    return attachment(opened.content, opened.metadata.media_type, opened.metadata.file_name)


@bp.post("/recus/<int:delivery_id>/accuser-reception")
@login_required
def acknowledge(delivery_id: int) -> Any:
    try:
        routing.acknowledge(uow(), g.principal, delivery_id)
        uow().commit()
        flash("Accusé de réception signé et envoyé.", "info")
    except Conflict as exc:
        uow().rollback()
        flash(exc.message, "warning")
    return redirect(url_for("ui.inbox"))
