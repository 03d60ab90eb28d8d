"""The key directory page: every organisation's keys, rotation (confirmed), the signed
directory's download, a recovery key's registration, and the platform fingerprint verifiers
pin. Each view parses, calls `engine.keys.console`, renders; the service audits."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, g, redirect, render_template, request, url_for

from engine.errors import RelaisError
from engine.keys import console
from engine.web.admin.guard import admin_blueprint
from engine.web.context import uow

bp = admin_blueprint("admin_keys", __name__, "/admin/cles")


def _page(errors: dict[str, str] | None = None, refused: str | None = None,
          status: int = 200, chosen: str | None = None) -> Any:
    platform = console.platform_key(uow(), g.principal)
    rows = console.directory(uow(), g.principal)
    uow().commit()  # the platform key, on a platform that never used it yet
    return render_template("admin/cles.html", platform=platform, organisations=rows,
                           errors=errors or {}, refused=refused, chosen=chosen), status


@bp.get("")
def keys() -> Any:
    return _page()


@bp.post("/<slug>/rotation")
def rotate(slug: str) -> Any:
    if request.form.get("confirmer") != "oui":
        return _page({f"confirmer-{slug}": "Cochez la case pour confirmer la rotation."},
                     "Rien n'a changé : la rotation n'a pas été confirmée.", 422)
    new = console.rotate(uow(), g.principal, slug)
    message = (f"Clés de {slug} renouvelées : chiffrement {new.encryption.kid}, signature "
               f"{new.signing.kid}. Publiez le nouvel annuaire signé aux partenaires.")
    uow().commit()
    flash(message, "ok")
    return redirect(url_for("admin_keys.keys") + f"#org-{slug}")


@bp.post("/<slug>/annuaire")
def export(slug: str) -> Any:
    doc = console.export_directory(uow(), g.principal, slug)
    uow().commit()
    body = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="annuaire-{slug}.json"',
        "Cache-Control": "no-store"})


@bp.post("/recouvrement")
def register_recovery() -> Any:
    slug = request.form.get("organisation", "")
    upload = request.files.get("cle")
    if upload is None or not upload.filename:
        return _page({"cle": "Choisissez le fichier de la clé publique (PEM)."},
                     "Rien n'a été enregistré.", 422, slug)
    try:
        pair = console.register_recovery(uow(), g.principal, slug,
                                         upload.read(console.MAX_PEM_BYTES + 1))
    except RelaisError as exc:
        uow().rollback()
        field = "organisation" if exc.status == 404 else "cle"
        return _page({field: exc.message}, "Rien n'a été enregistré.",
                     422 if exc.status != 404 else 404, slug)
    message = f"Clé de recouvrement {pair.kid} enregistrée pour {slug}."
    uow().commit()
    flash(message, "ok")
    return redirect(url_for("admin_keys.keys") + f"#org-{slug}")
