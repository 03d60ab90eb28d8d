"""Administration pages of a protocol's lifecycle: drafts (save, open, delete, publish), what
changed (diff page), withdrawal from new starts, migration of running instances.

Each route parses, calls one `engine.runtime` service (which checks the ADMIN role and
audits) and renders. The modeler talks JSON (problems element by element); the pages post
ordinary forms and answer with a French message.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, jsonify, redirect, render_template, request, url_for

from engine.audit import service as audit
from engine.errors import Invalid, RelaisError
from engine.runtime import service as runtime
from engine.web import errors
from engine.web.admin.views import _assets_ready, _deployed_message, _modeler_page, _when, _xml, bp
from engine.web.context import uow

# --- drafts (JSON, from the modeler) -------------------------------------------------------


@bp.post("/protocoles/brouillons")
def save_draft() -> Any:
    """« Enregistrer le brouillon »: JSON {fichier, xml, protocole?, brouillon?, revision?}.

    Without `brouillon` a new draft is created (201); with it, the draft is updated when its
    stored revision is still `revision` (200), else 409 with a French message.
    """
    body = request.get_json(silent=True)
    try:
        if not isinstance(body, dict) or not isinstance(body.get("xml"), str):
            raise Invalid("Le diagramme à enregistrer est vide ou illisible.",
                          [{"field": "xml", "message": "Diagramme manquant."}])
        draft_id = _int_or_none(body.get("brouillon"))
        draft = runtime.save_draft(
            uow(), g.principal, body["xml"], file_name=str(body.get("fichier") or ""),
            draft_id=draft_id, revision=_int_or_none(body.get("revision")),
            base_process_id=str(body["protocole"]) if body.get("protocole") else None)
        uow().commit()
    except RelaisError as exc:
        uow().rollback()
        return _problem(exc)
    return jsonify(_draft_json(draft, "Brouillon enregistré (révision "
                                      f"{draft.revision}) : il n'est pas encore publié.")), \
        201 if draft_id is None else 200


@bp.post("/protocoles/brouillons/<int:draft_id>/publier")
def publish_draft(draft_id: int) -> Any:
    """« Publier »: JSON {revision} from the modeler, or the form of the diff page.

    JSON answers 201/200 with the versions, or 422 with `problems`
    [{element_id, element_name, message}] and nothing published.
    """
    as_json = request.is_json
    data = request.get_json(silent=True) if as_json else request.form
    try:
        revision = _int_or_none((data or {}).get("revision"))
        versions = runtime.publish_draft(uow(), g.principal, draft_id, revision or 0)
        uow().commit()
    except RelaisError as exc:
        uow().rollback()
        if as_json:
            return _problem(exc)
        return _diff_of_draft(draft_id, refused=exc)
    message = _deployed_message(versions, True).replace("Déployé", "Publié")
    if as_json:
        return jsonify({"message": message,
                        "versions": [{"id": v.process_id, "name": v.name, "version": v.version,
                                      "url": url_for("admin.protocol", process_id=v.process_id)}
                                     for v in versions]}), 201
    flash(message, "info")
    return redirect(url_for("admin.protocol", process_id=versions[0].process_id))


@bp.post("/protocoles/brouillons/<int:draft_id>/supprimer")
def delete_draft(draft_id: int) -> Any:
    process_id = runtime.get_draft(uow(), g.principal, draft_id).process_id
    runtime.delete_draft(uow(), g.principal, draft_id)
    uow().commit()
    flash("Brouillon supprimé.", "info")
    if request.form.get("retour") == "protocole":
        return redirect(url_for("admin.protocol", process_id=process_id))
    return redirect(url_for("admin.protocols"))


# --- drafts (pages) ------------------------------------------------------------------------

@bp.get("/protocoles/brouillons/<int:draft_id>")
def open_draft(draft_id: int) -> Any:
    draft = runtime.get_draft(uow(), g.principal, draft_id)
    base = runtime.base_version(uow(), draft)
    return _modeler_page(base, draft.file_name,
                         url_for("admin.draft_diagram", draft_id=draft.id), draft=draft)


@bp.get("/protocoles/brouillons/<int:draft_id>/diagramme.bpmn")
def draft_diagram(draft_id: int) -> Any:
    draft = runtime.get_draft(uow(), g.principal, draft_id)
    return _xml(draft.xml, draft.file_name)


@bp.get("/protocoles/brouillons/<int:draft_id>/changements")
def draft_changes(draft_id: int) -> Any:
    return _diff_of_draft(draft_id)


def _diff_of_draft(draft_id: int, refused: RelaisError | None = None) -> Any:
    row = runtime.draft_row(uow(), g.principal, draft_id)
    draft = runtime.get_draft(uow(), g.principal, draft_id)
    base = runtime.base_version(uow(), draft)
    problems = getattr(refused, "problems", None)
    if refused is not None and problems is None:
        problems = [{"element_id": None, "element_name": None, "message": refused.message}]
    before_url = (url_for("admin.diagram", process_id=base.process_id, version=base.version)
                  if base else url_for("admin.blank_diagram"))
    return render_template(
        "admin/protocole_changements.html", draft=row, before_url=before_url,
        before_label=f"version {base.version} publiée" if base else "diagramme vierge",
        after_url=url_for("admin.draft_diagram", draft_id=draft_id),
        after_label=f"brouillon (révision {row.revision})",
        updated_at=_when(row.updated_at), problems=problems, assets=_assets_ready(),
        process_id=row.process_id, name=row.name), 422 if refused is not None else 200


@bp.get("/protocoles/<process_id>/changements")
def version_changes(process_id: str) -> Any:
    """What changed between two published versions (?de=N&a=M; default: the two newest)."""
    history = runtime.history(uow(), process_id)
    newest = history[0].version
    after = request.args.get("a", type=int) or newest
    before = request.args.get("de", type=int) or max(after - 1, 1)
    for number in (before, after):
        runtime.version_of(uow(), process_id, number)  # NotFound for an unknown version
    return render_template(
        "admin/protocole_changements.html", draft=None, process_id=process_id,
        name=history[0].name, versions=[v.version for v in history],
        before=before, after=after, problems=None, assets=_assets_ready(),
        before_url=url_for("admin.diagram", process_id=process_id, version=before),
        after_url=url_for("admin.diagram", process_id=process_id, version=after),
        before_label=f"version {before}", after_label=f"version {after}")


# --- withdrawal and migration (forms of the protocol page) --------------------------------

@bp.post("/protocoles/<process_id>/retirer")
def withdraw(process_id: str) -> Any:
    version = request.form.get("version", type=int)
    try:
        runtime.withdraw(uow(), g.principal, process_id, version,
                         request.form.get("motif", ""))
        uow().commit()
    except RelaisError as exc:
        uow().rollback()
        flash(f"Rien n'a été retiré : {exc.message}", "erreur")
        return redirect(url_for("admin.protocol", process_id=process_id) + "#retrait")
    flash(("La version " + str(version) if version else "Le protocole")
          + " est retiré(e) des nouveaux lancements ; les situations en cours continuent.",
          "info")
    return redirect(url_for("admin.protocol", process_id=process_id))


@bp.post("/protocoles/<process_id>/remettre")
def restore(process_id: str) -> Any:
    version = request.form.get("version", type=int)
    try:
        runtime.restore(uow(), g.principal, process_id, version)
        uow().commit()
    except RelaisError as exc:
        uow().rollback()
        flash(f"Rien n'a été remis : {exc.message}", "erreur")
        return redirect(url_for("admin.protocol", process_id=process_id))
    flash("Remis à disposition pour les nouveaux lancements.", "info")
    return redirect(url_for("admin.protocol", process_id=process_id))


@bp.post("/protocoles/<process_id>/migrer")
def migrate(process_id: str) -> Any:
    """Move the running instances of one version to the newest version, one by one: each
    either moves (audited by the runtime) or stays with its French reason (audited here)."""
    source = request.form.get("version", type=int)
    if source is None:
        flash("Choisissez la version dont les instances doivent migrer.", "erreur")
        return redirect(url_for("admin.protocol", process_id=process_id))
    moved, refused = 0, []
    for instance_id in runtime.running_instance_ids(uow(), process_id, source):
        try:
            runtime.migrate_instance(uow(), g.principal, instance_id)
            uow().commit()
            moved += 1
        except RelaisError as exc:
            uow().rollback()
            reasons = "; ".join(e["message"] for e in getattr(exc, "errors", None) or [])
            refused.append(f"instance {instance_id} : {exc.message.rstrip('.')}"
                           + (f" — {reasons}" if reasons else ""))
            audit.append(uow(), g.principal.actor, "admin.protocols.migration_refused",
                         subject_type="instance", subject_id=instance_id,
                         process_id=process_id, from_version=source, code=exc.code)
            uow().commit()
    flash(f"{moved} instance(s) migrée(s) vers la dernière version.", "info")
    for line in refused:
        flash(f"Non migrée — {line}", "erreur")
    return redirect(url_for("admin.protocol", process_id=process_id) + "#instances")


# --- helpers -------------------------------------------------------------------------------

def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _draft_json(draft: Any, message: str) -> dict[str, Any]:
    return {"message": message, "id": draft.id, "revision": draft.revision,
            "protocole": draft.process_id,
            "url": url_for("admin.open_draft", draft_id=draft.id),
            "publier": url_for("admin.publish_draft", draft_id=draft.id),
            "changements": url_for("admin.draft_changes", draft_id=draft.id)}


def _problem(exc: RelaisError) -> Any:
    errors_ = getattr(exc, "errors", None) or [{"field": "_", "message": exc.message}]
    extra = {"problems": exc.problems} if isinstance(exc, runtime.PublishRefused) else {}
    title = "Publication refusée" if extra else \
        errors.HTTP_ERRORS.get(exc.status, errors.HTTP_ERRORS[400])[1]
    return errors.problem(exc.status, exc.code, title, exc.message.splitlines()[0], errors_,
                          **extra)
