"""Administration pages: deployed protocols, their versions, the BPMN modeler, deployment.

Administrators only (anonymous visitors are sent to the login page, other users get the
French 403 page). Deploying always goes through `runtime.deploy(source="web")`, which
validates the diagram, stores a new immutable version and audits it; a refused diagram
comes back as the list of French problems, never a stack trace.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from engine.errors import Invalid, RelaisError
from engine.runtime import service as runtime
from engine.runtime.models import ProcessVersion, ProtocolDraft
from engine.web import errors
from engine.web.admin.guard import admin_blueprint
from engine.web.context import uow

bp = admin_blueprint("admin", __name__, "/admin")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
VENDOR_BUNDLE = "vendor/relais-bpmn.js"

try:
    PARIS: ZoneInfo | None = ZoneInfo("Europe/Paris")
except ZoneInfoNotFoundError:  # no time-zone database: show UTC rather than fail
    PARIS = None

# What "Nouveau protocole" opens: one pool, one lane named after a role, a start event.
BLANK_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
    id="Definitions_nouveau" targetNamespace="http://relais.local/bpmn">
  <bpmn:collaboration id="Collaboration_nouveau">
    <bpmn:participant id="Participant_nouveau" name="Nouveau protocole"
        processRef="nouveau_protocole"/>
  </bpmn:collaboration>
  <bpmn:process id="nouveau_protocole" name="Nouveau protocole" isExecutable="true">
    <bpmn:laneSet id="LaneSet_nouveau">
      <bpmn:lane id="Lane_IS" name="IS">
        <bpmn:flowNodeRef>debut</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="debut" name="Situation repérée"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_nouveau">
    <bpmndi:BPMNPlane id="BPMNPlane_nouveau" bpmnElement="Collaboration_nouveau">
      <bpmndi:BPMNShape id="Participant_nouveau_di" bpmnElement="Participant_nouveau"
          isHorizontal="true">
        <dc:Bounds x="120" y="80" width="700" height="200"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Lane_IS_di" bpmnElement="Lane_IS" isHorizontal="true">
        <dc:Bounds x="150" y="80" width="670" height="200"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="debut_di" bpmnElement="debut">
        <dc:Bounds x="212" y="162" width="36" height="36"/>
        <bpmndi:BPMNLabel><dc:Bounds x="190" y="205" width="80" height="27"/></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""




# --- pages ---------------------------------------------------------------------------------

@bp.get("/protocoles")
def protocols() -> Any:
    return _protocols_page()


def _protocols_page(refused: RelaisError | None = None, status: int = 200) -> Any:
    problems = None
    if refused is not None:
        problems = {"title": refused.message.splitlines()[0],
                    "lines": _problem_lines(refused)}
    rows = [{"id": r.process_id, "name": r.name, "version": r.version,
             "deployed_at": _when(r.deployed_at), "versions": r.versions,
             "startable": r.startable}
            for r in runtime.protocols(uow())]
    return render_template("admin/protocoles.html", protocols=rows, problems=problems,
                           drafts=_drafts(None), max_files=runtime.MAX_UPLOAD_FILES), status


@bp.post("/protocoles/importer")
def import_files() -> Any:
    """The "Importer un fichier" form: one to ten .bpmn/.dmn files, deployed together."""
    uploads = [runtime.Upload(u.filename or "", u.stream)
               for u in request.files.getlist("file") if u.filename]
    try:
        versions, created = runtime.publish_uploads(uow(), g.principal, uploads, source="web")
        uow().commit()
    except RelaisError as exc:
        uow().rollback()
        return _protocols_page(exc, exc.status)
    flash(_deployed_message(versions, created), "info")
    return redirect(url_for("admin.protocol", process_id=versions[0].process_id))


@bp.get("/protocoles/nouveau")
def new() -> Any:
    return _modeler_page(None, "nouveau_protocole.bpmn",
                         url_for("admin.blank_diagram"))


@bp.get("/protocoles/<process_id>")
def protocol(process_id: str) -> Any:
    versions = runtime.history(uow(), process_id)
    counts = runtime.instances_by_version(uow(), process_id)
    rows = [{"version": v.version, "name": v.name, "deployed_at": _when(v.deployed_at),
             "source": v.source, "deployed_by": v.deployed_by, "files": v.files,
             "withdrawn_at": _when(v.withdrawn_at) if v.withdrawn_at else None,
             "withdrawn_reason": v.withdrawn_reason,
             "running": counts.get(v.version, {}).get(runtime.RUNNING, 0)
             + counts.get(v.version, {}).get(runtime.SUSPENDED, 0),
             "finished": counts.get(v.version, {}).get(runtime.COMPLETED, 0)
             + counts.get(v.version, {}).get(runtime.TERMINATED, 0)}
            for v in versions]
    return render_template("admin/protocole.html", process_id=process_id,
                           name=versions[0].name, versions=rows, drafts=_drafts(process_id),
                           startable=any(r["withdrawn_at"] is None for r in rows),
                           diagram_url=url_for("admin.diagram", process_id=process_id),
                           assets=_assets_ready())


def _problem_lines(refused: RelaisError) -> list[str]:
    """One French line per problem; element by element (file, element, name) when known."""
    if not isinstance(refused, runtime.PublishRefused):
        return [e["message"] for e in getattr(refused, "errors", None) or []]
    lines = []
    for p in refused.problems:
        where = p["file"] or "modèle"
        if p["element_id"]:
            where += f", {p['element_type'] or 'élément'} « {p['element_id']} »"
            if p["element_name"] and p["element_name"] != p["element_id"]:
                where += f" ({p['element_name']})"
        lines.append(f"{where} : {p['message']}")
    return lines


def _drafts(process_id: str | None) -> list[dict[str, Any]]:
    return [{"id": d.id, "process_id": d.process_id, "name": d.name, "revision": d.revision,
             "base_version": d.base_version, "updated_at": _when(d.updated_at),
             "updated_by": d.updated_by}
            for d in runtime.drafts(uow(), g.principal, process_id)]


@bp.get("/protocoles/<process_id>/modifier")
def edit(process_id: str) -> Any:
    version = runtime.latest_version(uow(), process_id)
    diagram = runtime.diagram_of(uow(), version)
    return _modeler_page(version, diagram.name,
                         url_for("admin.diagram", process_id=process_id),
                         others=_drafts(process_id))


def _modeler_page(version: ProcessVersion | None, file_name: str, source_url: str,
                  draft: ProtocolDraft | None = None,
                  others: list[dict[str, Any]] | None = None) -> Any:
    """The modeler; `others`: drafts of the same protocol already saved (said on the page,
    so that nobody starts a second draft unaware of the first)."""
    return render_template("admin/modeleur.html", version=version, file_name=file_name,
                           source_url=source_url, save_url=url_for("admin.save_draft"),
                           draft=draft, others=others or [], assets=_assets_ready())


# --- diagrams (XML) and deployment (JSON) ---------------------------------------------------

@bp.get("/protocoles/<process_id>/diagramme.bpmn")
def diagram(process_id: str) -> Any:
    """The .bpmn of a version (the newest unless ?version=N), as UTF-8 XML."""
    number = request.args.get("version", type=int)
    diagram = runtime.diagram_of(uow(), runtime.version_of(uow(), process_id, number))
    return _xml(diagram.xml, diagram.name)


@bp.get("/protocoles/nouveau/diagramme.bpmn")
def blank_diagram() -> Any:
    return _xml(BLANK_DIAGRAM, "nouveau_protocole.bpmn")


@bp.post("/protocoles/deployer")
def deploy() -> Any:
    """The modeler's "Déployer": JSON {fichier, xml, protocole?} → the new version(s).

    With `protocole`, the other .bpmn/.dmn files deployed with that protocol's newest
    version are deployed again beside the edited one (call activities, decision tables).
    Answers 201 (new version), 200 (identical content: nothing new) or 422 with `errors`.
    """
    body = request.get_json(silent=True)
    try:
        if not isinstance(body, dict) or not isinstance(body.get("xml"), str) \
                or not body["xml"].strip():
            raise Invalid("Le diagramme à déployer est vide ou illisible : enregistrez-le "
                          "dans le modeleur puis recommencez.",
                          [{"field": "xml", "message": "Diagramme manquant."}])
        requested = str(body.get("fichier") or "diagramme.bpmn")
        files: dict[str, bytes] = {}
        if body.get("protocole"):
            base = runtime.latest_version(uow(), str(body["protocole"]))
            files.update(runtime.diagram_files(uow(), base))
        # The edited file replaces itself under its deployed name; a new one gets a safe name.
        name = requested if requested in files else runtime.safe_file_name(requested, (".bpmn",))
        files[name] = body["xml"].encode("utf-8")
        versions, created = _deploy(files)
    except RelaisError as exc:
        uow().rollback()
        errors_ = getattr(exc, "errors", None) or [{"field": "_", "message": exc.message}]
        extra = {"problems": exc.problems} if isinstance(exc, runtime.PublishRefused) else {}
        return errors.problem(exc.status, exc.code, _title(exc), exc.message.splitlines()[0],
                              errors_, **extra)
    return jsonify({
        "message": _deployed_message(versions, created),
        "nouvelle_version": created,
        "versions": [{"id": v.process_id, "name": v.name, "version": v.version,
                      "url": url_for("admin.protocol", process_id=v.process_id)}
                     for v in versions],
    }), 201 if created else 200


def _deploy(files: dict[str, bytes]) -> tuple[list[ProcessVersion], bool]:
    # The same validation as publishing a draft: never publish a diagram the modeler's
    # structural rules refuse (no end event, element not connected, task without form…).
    problems = runtime.publication_problems(files)
    if problems:
        raise runtime.PublishRefused(problems)
    created = not runtime.already_deployed(uow(), files)
    versions = runtime.deploy(uow(), g.principal, files, source="web")
    uow().commit()
    return versions, created


# --- helpers -------------------------------------------------------------------------------

def _xml(text: str, file_name: str) -> Response:
    response = Response(text.encode("utf-8"), mimetype="application/xml")
    response.charset = "utf-8"
    # Names deployed through the CLI or the API may hold any character: ASCII fallback + RFC 6266.
    fallback = _SAFE_NAME.sub("_", file_name)
    response.headers["Content-Disposition"] = (
        f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}")
    return response


def _title(exc: RelaisError) -> str:
    if exc.code in ("model_rejected", "publish_refused"):
        return "Modèle refusé"
    return errors.HTTP_ERRORS.get(exc.status, errors.HTTP_ERRORS[400])[1]


def _deployed_message(versions: list[ProcessVersion], created: bool) -> str:
    listed = ", ".join(f"« {v.name} » ({v.process_id}) version {v.version}" for v in versions)
    if created:
        return f"Déployé : {listed}."
    return f"Contenu identique à un déploiement existant, aucune nouvelle version : {listed}."


def _when(moment: datetime) -> str:
    local = moment.astimezone(PARIS) if PARIS else moment
    return local.strftime("%d/%m/%Y %H:%M") + ("" if PARIS else " UTC")


def _assets_ready() -> bool:
    """The modeler bundle is built by ops/_setup.sh (npm); without it, say so on the page."""
    return os.path.isfile(os.path.join(current_app.static_folder or "", VENDOR_BUNDLE))
