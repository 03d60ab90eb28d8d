"""« Classer dans un dossier » from the inbox: pick a dossier of the organisation (the
newest, or found by name, first name, birth year or reference) or open a new one. Every
rule lives in `engine.situations.filing`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from engine.situations import filing
from engine.situations import service as situations
from engine.web.context import uow
from engine.web.ui.auth import login_required
from engine.web.ui.views import bp

NEW = "nouveau"


@bp.route("/recus/<int:delivery_id>/classer", methods=["GET", "POST"])
@login_required
def file_delivery(delivery_id: int) -> Any:
    delivery = filing.receivable(uow(), g.principal, delivery_id)
    query, error, status = "", None, 200
    if request.method == "POST" and "classer" in request.form:
        choice = request.form.get("dossier", "")
        if choice == NEW or (choice.isdigit() and len(choice) < 10):
            instance = filing.file_delivery(uow(), g.principal, delivery_id,
                                            None if choice == NEW else int(choice))
            uow().commit()
            flash(f"« {delivery['document_name']} » est classé dans le dossier ; l'accusé de "
                  "réception part vers l'expéditeur.", "info")
            return redirect(url_for("ui.situation", case_id=instance.case_id))
        error, status = "Choisissez un dossier, ou « Ouvrir un nouveau dossier ».", 422
    if request.method == "POST":
        query = request.form.get("q", "")
    rows = situations.search(uow(), g.principal, query) if query.strip() else \
        situations.my_situations(uow(), g.principal, 1).rows
    received = datetime.fromisoformat(delivery["received_at"]) if delivery["received_at"] \
        else None
    return render_template("travail/classer.html", delivery=delivery, received=received,
                           rows=rows, query=query,
                           error=error, new=NEW), status
