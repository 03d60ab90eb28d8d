"""The modeler's helpers: the catalogue of what a diagram may name, the inline check of a
script or expression, and the preview of a form as users will see it.

Administrators only (the shared guard); each route calls one runtime service and renders.
"""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, render_template, request

import forms
from engine.runtime import catalogue
from engine.situations.words import form_words
from engine.web import errors
from engine.web.admin.guard import admin_blueprint
from engine.web.context import uow
from engine.web.ui import forms as html_forms

bp = admin_blueprint("admin_catalogue", __name__, "/admin/modeleur")

MAX_SOURCE = 20_000  # a script longer than this is not a "restricted script" any more
CHECK_KINDS = ("script", "expression")


@bp.get("/catalogue.json")
def catalogue_json() -> Any:
    """Forms, connectors with their documented parameters, lane roles, consent codes."""
    return jsonify(catalogue.modeler_catalogue(g.principal))


@bp.post("/verifier-script")
def check_script() -> Any:
    """JSON {source, kind: script|expression} → {ok, message} (the deploy-time check)."""
    body = request.get_json(silent=True)
    source = body.get("source") if isinstance(body, dict) else None
    kind = body.get("kind", "script") if isinstance(body, dict) else None
    if not isinstance(source, str) or kind not in CHECK_KINDS or len(source) > MAX_SOURCE:
        return errors.problem(400, "invalid_request", "Requête invalide",
                              "Indiquez le texte à vérifier (« source ») et sa nature "
                              "(« script » ou « expression »).",
                              [{"field": "source", "message": "Texte manquant ou trop long."}])
    message = catalogue.check_source(g.principal, source, kind)
    return jsonify({"ok": message is None,
                    "message": message or ("Script accepté." if kind == "script"
                                           else "Expression acceptée.")})


@bp.post("/apercu-formulaire")
def form_preview() -> Any:
    """JSON {fichier} → the form's fields as HTML, rendered by the task page's own macros."""
    body = request.get_json(silent=True)
    name = body.get("fichier") if isinstance(body, dict) else None
    try:
        form = catalogue.form_for_preview(g.principal, name if isinstance(name, str) else "")
    except forms.FormError:
        return errors.problem(404, "form_not_found", "Formulaire introuvable",
                              "Ce formulaire n'existe pas dans le dossier des formulaires.",
                              [{"field": "fichier", "message": "Formulaire introuvable."}])
    fields = html_forms.fields(form.schema, form.ui, {}, form_words(uow(), form.schema))
    return render_template("admin/modeleur_apercu.html", form=form, fields=fields)
