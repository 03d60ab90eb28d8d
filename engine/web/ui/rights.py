"""The person's rights from the situation page: the consent receipt to print, withdrawing a
consent (with a confirmation step that says what it cancels), the person's access copy, a
destruction request, and the documents kept in the situation. Each view calls one service
(`engine.consent`, `engine.dossiers`, `engine.situations.actions`) where every rule lives."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from engine.consent import rights as consent_rights
from engine.consent import service as consent
from engine.documents.render import DOCX_MEDIA_TYPE
from engine.dossiers import rights as person_rights
from engine.dossiers import service as dossiers
from engine.errors import Invalid
from engine.situations import actions
from engine.web.context import uow
from engine.web.downloads import attachment
from engine.web.ui.auth import login_required
from engine.web.ui.views import bp


@bp.get("/situations/<int:case_id>/consentements/<int:consent_id>/recu")
@login_required
def consent_receipt(case_id: int, consent_id: int) -> Any:
    row = actions.case_consent(uow(), g.principal, case_id, consent_id)
    file_name, content = consent_rights.consent_receipt(uow(), g.principal, row)
    uow().commit()  # the printing is audited
    return attachment(content, DOCX_MEDIA_TYPE, file_name)


@bp.route("/situations/<int:case_id>/consentements/<int:consent_id>/retirer",
          methods=["GET", "POST"])
@login_required
def withdraw_consent(case_id: int, consent_id: int) -> Any:
    shown = actions.withdrawal(uow(), g.principal, case_id, consent_id)
    if request.method == "GET":
        uow().commit()
        return render_template("situations/retrait.html", w=shown)
    row = actions.case_consent(uow(), g.principal, case_id, consent_id)
    cascade = consent.withdraw(uow(), g.principal, row)
    uow().commit()
    flash(_withdrawn_message(shown, len(cascade.cancelled_outbox),
                             len(cascade.notified_deliveries)), "info")
    return redirect(url_for("ui.situation", case_id=case_id) + "#consentements")


def _withdrawn_message(shown: actions.Withdrawal, cancelled: int, notified: int) -> str:
    parts = ["Consentement retiré : plus aucune transmission ne peut reposer sur lui."]
    if cancelled:
        names = " ; ".join(f"« {doc} » à {org}" for doc, org in shown.cancels)
        parts.append(f"Transmission en attente annulée ({cancelled}) : {names}."
                     if names else f"Transmissions en attente annulées : {cancelled}.")
    else:
        parts.append("Aucune transmission n'était en attente.")
    if notified:
        parts.append(f"Les destinataires qui ont déjà reçu un document sont avertis "
                     f"({notified}).")
    return " ".join(parts)


@bp.get("/situations/<int:case_id>/copie-des-donnees")
@login_required
def access_copy(case_id: int) -> Any:
    file_name, content = person_rights.access_export(uow(), g.principal, case_id)
    uow().commit()  # the export is audited
    return attachment(content, DOCX_MEDIA_TYPE, file_name)


@bp.route("/situations/<int:case_id>/destruction", methods=["GET", "POST"])
@login_required
def destruction(case_id: int) -> Any:
    case = consent.visible_case(uow(), g.principal, case_id)
    reference, error, typed, status = case.reference, None, "", 200
    if request.method == "POST":
        typed = (request.form.get("reference") or "").strip()[:40]
        try:
            cascade = consent.confirm_destruction(uow(), g.principal, case_id, typed)
            uow().commit()
        except Invalid as exc:
            uow().rollback()
            error, status = exc.errors[0]["message"] + " Recopiez exactement la référence " \
                "indiquée ci-dessus.", 422
        else:
            cancelled = len(cascade.cancelled_outbox)
            flash("Les données de la situation sont détruites : elles ne peuvent plus être "
                  "lues, ni ici ni chez les destinataires, qui sont avertis."
                  + (f" Transmissions en attente annulées : {cancelled}." if cancelled else ""),
                  "info")
            return redirect(url_for("ui.situation", case_id=case_id))
    return render_template("situations/destruction.html", case_id=case_id,
                           reference=reference, error=error, typed=typed), status


@bp.get("/situations/pieces/<int:piece_id>")
@login_required
def piece(piece_id: int) -> Any:
    document = dossiers.read_piece(uow(), g.principal, piece_id)
    uow().commit()  # the reading is audited
    return attachment(document.content, document.media_type, document.file_name)
