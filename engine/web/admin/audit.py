"""The audit log page: the log filtered and paginated, its verification in steps (the page's
script asks `verification` for the next rows until the result), its checkpoints listed and the
current one exported. Each view parses, calls `engine.audit.console`, renders.

Without JavaScript, « Vérifier » posts the same form and the page runs every step at once.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, g, jsonify, render_template, request, url_for

from engine.audit import console
from engine.audit.wording import sentence
from engine.errors import RelaisError
from engine.identity import listing
from engine.web import errors as web_errors
from engine.web.admin.guard import admin_blueprint
from engine.web.admin.ops_input import FieldErrors, check_range, day, number, text
from engine.web.context import uow

bp = admin_blueprint("admin_audit", __name__, "/admin/journal")

FILTER_FIELDS = ("du", "au", "acteur", "organisation", "action", "sujet_type", "sujet_id")


def _filters() -> tuple[console.Filters, int | None, FieldErrors]:
    args, errors = request.args, FieldErrors()
    since, until = day(args, "du", errors), day(args, "au", errors, end=True)
    check_range(since, until, "au", errors)
    filters = console.Filters(
        since=since, until=until, actor=text(args, "acteur", errors),
        organisation_id=number(args, "organisation", errors),
        action=text(args, "action", errors, max_length=80),
        subject_type=text(args, "sujet_type", errors, max_length=40),
        subject_id=text(args, "sujet_id", errors, max_length=80))
    return filters, number(args, "avant", errors), errors


def _master_key_file() -> Any:
    return current_app.extensions["relais.settings"].master_key_file


@bp.get("")
def journal() -> Any:
    return _render()


def _render(verification: console.Progress | None = None, refused: str | None = None) -> Any:
    filters, before, errors = _filters()
    organisations = listing.organisations(uow())
    names = {o.id: o.name for o in organisations}
    status = 200
    if errors.errors:
        page, status = console.Page([], None), 422
    else:
        page = console.search(uow(), g.principal, filters, before=before)
    entries = [{"entry": e, "sentence": sentence(e.action),
                "organisation": names.get(e.organisation_id) if e.organisation_id else None,
                "details": e.details if e.details != "{}" else ""} for e in page.entries]
    kept = {k: v for k in FILTER_FIELDS if (v := request.args.get(k, "").strip())}
    next_url = url_for("admin_audit.journal", avant=page.next_before, **kept) \
        if page.next_before else None
    checkpoints = console.checkpoints(uow(), g.principal, limit=20)
    return render_template(
        "admin/journal.html", entries=entries, next_url=next_url, first_url=url_for(
            "admin_audit.journal", **kept) if before else None,
        args=request.args, errors=errors.by_field(), organisations=organisations,
        actions=console.actions(uow(), g.principal), checkpoints=checkpoints,
        checkpoint_keys=console.checkpoint_fingerprints(checkpoints, uow()),
        verification=verification, refused=refused,
        step_rows=console.STEP_ROWS), status


@bp.post("/verification")
def verification() -> Any:
    """One step (JSON, from the page's script) or, from the plain form, every step."""
    wants_json = request.is_json
    try:
        if wants_json:
            body = request.get_json(silent=True) or {}
            cursor = body.get("cursor") if isinstance(body, dict) else None
            progress = console.verify_next(uow(), g.principal, _master_key_file(),
                                           cursor if isinstance(cursor, str) else None)
        else:
            progress = console.verify_all(uow(), g.principal, _master_key_file())
    except RelaisError as exc:
        uow().rollback()
        if wants_json:
            return web_errors.problem(exc.status, exc.code,
                                      web_errors.HTTP_ERRORS.get(exc.status, (0, "Erreur"))[1],
                                      exc.message, getattr(exc, "errors", None))
        return _render(refused=exc.message)
    uow().commit()  # the last step's audit row
    if wants_json:
        return jsonify(progress.as_dict())
    return _render(verification=progress)


@bp.post("/points-de-controle/export")
def export_checkpoint() -> Any:
    """`relais audit checkpoint --export`, downloaded (audited)."""
    doc = console.export_current(uow(), g.principal)
    if doc is None:
        return _render(refused="Journal vide : aucun point de contrôle à exporter.")
    uow().commit()
    body = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="point-de-controle-{doc["number"]}.json"',
        "Cache-Control": "no-store"})
