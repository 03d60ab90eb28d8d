"""Operations pages: incidents (explained, retried), instances (searched; suspended, resumed or
stopped with a reason), retention (what the sweep would destroy, legal reviews waiting, the
sweep run on confirmation). Each view parses, calls one service, renders; services audit."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from engine.consent import service as consent
from engine.consent.catalogue import LEGAL_BASES
from engine.dossiers import rights
from engine.errors import Invalid, NotFound
from engine.runtime import operations as ops
from engine.runtime import service as runtime
from engine.web.admin.guard import admin_blueprint
from engine.web.admin.ops_input import FieldErrors, check_range, choice, day, number
from engine.web.context import uow

bp = admin_blueprint("admin_ops", __name__, "/admin")

INCIDENT_STATES = {"ouverts": "Ouverts", "resolus": "Résolus"}


# --- incidents -----------------------------------------------------------------------------

@bp.get("/incidents")
def incidents() -> Any:
    errors = FieldErrors()
    state = choice(request.args, "etat", INCIDENT_STATES, errors) or "ouverts"
    since = day(request.args, "du", errors)
    until = day(request.args, "au", errors, end=True)
    check_range(since, until, "au", errors)
    rows = [] if errors.errors else ops.incidents(
        uow(), g.principal, resolved=state == "resolus", since=since, until=until)
    return render_template("admin/incidents.html", incidents=rows, state=state,
                           states=INCIDENT_STATES, explain=ops.explain, args=request.args,
                           errors=errors.by_field()), 422 if errors.errors else 200


@bp.post("/incidents/<int:incident_id>/relance")
def retry(incident_id: int) -> Any:
    incident = ops.retry(uow(), g.principal, incident_id)
    message = (f"Incident n° {incident.id} relancé : l'instance n° {incident.instance_id} "
               "reprend. Si la cause persiste, un nouvel incident s'ouvrira.")
    uow().commit()
    flash(message, "ok")
    return redirect(url_for("admin_ops.incidents"))


# --- instances -----------------------------------------------------------------------------

@bp.get("/instances")
def instances() -> Any:
    args, errors = request.args, FieldErrors()
    protocols = runtime.protocol_names(uow())
    query = ops.InstanceQuery(
        process_id=choice(args, "protocole", protocols, errors),
        status=choice(args, "statut", ops.STATUS_LABELS, errors),
        since=day(args, "du", errors), until=day(args, "au", errors, end=True))
    check_range(query.since, query.until, "au", errors)
    before = number(args, "avant", errors)
    page = ops.InstancePage([], None) if errors.errors else ops.search_instances(
        uow(), g.principal, query, before=before)
    kept = {k: v for k in ("protocole", "statut", "du", "au")
            if (v := args.get(k, "").strip())}
    next_url = url_for("admin_ops.instances", avant=page.next_before, **kept) \
        if page.next_before else None
    return render_template("admin/instances.html", page=page, protocols=protocols,
                           statuses=ops.STATUS_LABELS, actions=ops.ACTION_LABELS,
                           args=args, errors=errors.by_field(), next_url=next_url,
                           first_url=url_for("admin_ops.instances", **kept) if before else None
                           ), 422 if errors.errors else 200


def _action_page(instance_id: int, action: str, errors: dict[str, str] | None = None,
                 status: int = 200) -> Any:
    if action not in ops.ACTION_LABELS:
        raise NotFound("Cette action n'existe pas.")
    instance = runtime.visible_instance(uow(), g.principal, instance_id)
    return render_template("admin/instances_action.html", instance=instance, action=action,
                           label=ops.ACTION_LABELS[action], reasons=ops.REASONS,
                           statuses=ops.STATUS_LABELS, errors=errors or {},
                           chosen=request.form.get("raison")), status


@bp.get("/instances/<int:instance_id>/<action>")
def instance_action(instance_id: int, action: str) -> Any:
    return _action_page(instance_id, action)


@bp.post("/instances/<int:instance_id>/<action>")
def change_instance(instance_id: int, action: str) -> Any:
    if action == "terminate" and request.form.get("confirmer") != "oui":
        errors = {"confirmer": "Cochez la case : l'arrêt est définitif."}
        if not request.form.get("raison"):
            errors["raison"] = "Choisissez une raison dans la liste."
        return _action_page(instance_id, action, errors, 422)
    try:
        with runtime.concurrent_change_is_conflict(uow()):
            instance = ops.change_status(uow(), g.principal, instance_id, action,
                                         request.form.get("raison"))
            message = (f"Instance n° {instance.id} : "
                       f"{ops.STATUS_LABELS.get(instance.status, instance.status).lower()}.")
            uow().commit()
    except Invalid as exc:
        uow().rollback()
        return _action_page(instance_id, action,
                            {e["field"]: e["message"] for e in exc.errors}, 422)
    flash(message, "ok")
    return redirect(url_for("admin_ops.instances"))


# --- retention -----------------------------------------------------------------------------

def _retention_page(swept: rights.RetentionSweep | None = None,
                    errors: dict[str, str] | None = None, status: int = 200) -> Any:
    due = rights.review_retention(uow(), g.principal)  # a dry run: audited, nothing destroyed
    reviews = consent.pending_reviews(uow(), g.principal)
    uow().commit()  # the dry run's audit row
    return render_template("admin/conservation.html", sweep=due, swept=swept, reviews=reviews,
                           bases=LEGAL_BASES, errors=errors or {}), status


@bp.get("/conservation")
def retention() -> Any:
    return _retention_page()


@bp.post("/conservation/destruction")
def run_retention() -> Any:
    if request.form.get("confirmer") != "oui":
        return _retention_page(errors={"confirmer": "Cochez la case pour confirmer la "
                                                    "destruction : elle est irréversible."},
                               status=422)
    swept = rights.run_retention(uow(), g.principal)
    uow().commit()
    return _retention_page(swept=swept)
