"""Administration pages for people and access: accounts, memberships, resets, API tokens.

Each view parses the form, calls one function of engine.identity.people (which checks the
ADMIN role and every rule: no self-granted role, last administrator kept…) and renders.
A refused action re-renders the page with the French message on its field and nothing
changed (the unit of work is rolled back). Secrets — temporary passwords, new tokens — are
rendered once in the answer to the POST, never put in the session or a redirect.
"""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for

from engine.errors import RelaisError
from engine.identity import people
from engine.identity.models import User
from engine.identity.roles import ROLE_LABELS
from engine.web.admin.guard import admin_blueprint
from engine.web.context import uow

bp = admin_blueprint("admin_people", __name__, "/admin")

STATE_CHOICES = [("", "Tous"), ("actifs", "Actifs"), ("desactives", "Désactivés")]
TOKEN_STATES = [("", "Tous"), ("actifs", "En service"), ("revoques", "Révoqués")]


def _errors_of(exc: RelaisError) -> dict[str, str]:
    return {e["field"]: e["message"] for e in getattr(exc, "errors", None) or []}


def _refused(exc: RelaisError) -> dict[str, Any]:
    """What the page shows of a refusal: the message, and each problem on its field."""
    uow().rollback()
    return {"refused": exc.message, "errors": _errors_of(exc)}


def _choices() -> dict[str, Any]:
    return {"organisations": people.organisations(uow(), g.principal),
            "roles": people.role_choices()}


# --- accounts ------------------------------------------------------------------------------

@bp.get("/utilisateurs")
def users() -> Any:
    wanted = {"text": request.args.get("q", "").strip()[:100],
              "organisation": request.args.get("organisation", ""),
              "role": request.args.get("role", ""),
              "state": request.args.get("etat", "")}
    rows = people.list_users(uow(), g.principal, **wanted)
    return render_template("admin/utilisateurs.html", users=rows, wanted=wanted,
                           states=STATE_CHOICES, role_labels=ROLE_LABELS,
                           limit=people.LIST_LIMIT, **_choices())


@bp.route("/utilisateurs/nouveau", methods=["GET", "POST"])
def new_user() -> Any:
    if request.method == "GET":
        return render_template("admin/utilisateurs_nouveau.html", values={}, errors={},
                               **_choices())
    values = {name: request.form.get(name, "") for name in
              ("username", "display_name", "organisation", "role")}
    try:
        created = people.create_user(uow(), g.principal, **values)
    except RelaisError as exc:
        shown = _refused(exc)
        return render_template("admin/utilisateurs_nouveau.html", values=values,
                               **shown, **_choices()), exc.status
    user_id, password = created.user.id, created.temporary_password
    uow().commit()
    return _user_page(user_id, status=201, shown={"kind": "created", "password": password})


@bp.get("/utilisateurs/<int:user_id>")
def user(user_id: int) -> Any:
    return _user_page(user_id)


def _user_page(user_id: int, *, status: int = 200, shown: dict[str, Any] | None = None,
               refused: str | None = None, errors: dict[str, str] | None = None) -> Any:
    account: User = people.get_user(uow(), g.principal, user_id)
    tokens = people.list_tokens(uow(), g.principal, user_id=user_id)
    return render_template("admin/utilisateurs_fiche.html", account=account, tokens=tokens,
                           shown=shown, refused=refused, errors=errors or {},
                           is_self=account.id == g.principal.user_id,
                           role_labels=ROLE_LABELS, reasons=people.SECOND_FACTOR_REASONS,
                           **_choices()), status


def _act(user_id: int, action: Any, message: str) -> Any:
    """Run `action()`; on success commit and come back to the account's page with `message`;
    refused: the page again with the message on its field and nothing saved."""
    try:
        action()
    except RelaisError as exc:
        return _user_page(user_id, status=exc.status, **_refused(exc))
    uow().commit()
    return _user_page(user_id, shown={"kind": "done", "message": message})


@bp.post("/utilisateurs/<int:user_id>/roles")
def add_membership(user_id: int) -> Any:
    return _act(user_id, lambda: people.add_membership(
        uow(), g.principal, user_id, organisation=request.form.get("organisation", ""),
        role=request.form.get("role", "")), "Rôle ajouté.")


@bp.post("/utilisateurs/<int:user_id>/roles/<int:membership_id>/retrait")
def remove_membership(user_id: int, membership_id: int) -> Any:
    return _act(user_id, lambda: people.remove_membership(uow(), g.principal, user_id,
                                                          membership_id), "Rôle retiré.")


@bp.post("/utilisateurs/<int:user_id>/desactivation")
def disable(user_id: int) -> Any:
    return _act(user_id, lambda: people.disable(uow(), g.principal, user_id),
                "Compte désactivé : ses sessions sont terminées et ses jetons révoqués.")


@bp.post("/utilisateurs/<int:user_id>/reactivation")
def enable(user_id: int) -> Any:
    return _act(user_id, lambda: people.enable(uow(), g.principal, user_id),
                "Compte réactivé. Ses anciens jetons restent révoqués.")


@bp.post("/utilisateurs/<int:user_id>/deverrouillage")
def unlock(user_id: int) -> Any:
    return _act(user_id, lambda: people.unlock(uow(), g.principal, user_id),
                "Compte déverrouillé.")


@bp.post("/utilisateurs/<int:user_id>/mot-de-passe")
def reset_password(user_id: int) -> Any:
    try:
        password = people.reset_password(uow(), g.principal, user_id)
    except RelaisError as exc:
        return _user_page(user_id, status=exc.status, **_refused(exc))
    uow().commit()
    return _user_page(user_id, shown={"kind": "reset", "password": password})


@bp.post("/utilisateurs/<int:user_id>/second-facteur")
def reset_second_factor(user_id: int) -> Any:
    return _act(user_id, lambda: people.reset_second_factor(
        uow(), g.principal, user_id, request.form.get("reason", "")),
        "Second facteur réinitialisé : la personne l'activera de nouveau à sa prochaine "
        "connexion.")


@bp.post("/utilisateurs/<int:user_id>/jetons")
def create_token(user_id: int) -> Any:
    try:
        token, clear = people.create_token(uow(), g.principal, user_id,
                                           request.form.get("name", ""))
    except RelaisError as exc:
        return _user_page(user_id, status=exc.status, **_refused(exc))
    token_id = token.id
    uow().commit()
    return _user_page(user_id, status=201,
                      shown={"kind": "token", "token": clear, "token_id": token_id})


# --- API tokens ----------------------------------------------------------------------------

@bp.get("/jetons")
def tokens() -> Any:
    return _tokens_page()


def _tokens_page(status: int = 200, *, refused: str | None = None,
                 errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                 created: dict[str, Any] | None = None) -> Any:
    state = request.args.get("etat", "")
    rows = people.list_tokens(uow(), g.principal, state=state)
    return render_template("admin/jetons.html", tokens=rows, state=state,
                           states=TOKEN_STATES, limit=people.LIST_LIMIT, refused=refused,
                           errors=errors or {}, values=values or {}, created=created), status


@bp.post("/jetons")
def create_token_for_login() -> Any:
    values = {"username": request.form.get("username", ""),
              "name": request.form.get("name", "")}
    try:
        token, clear = people.create_token_for_login(uow(), g.principal, **values)
    except RelaisError as exc:
        return _tokens_page(exc.status, values=values, **_refused(exc))
    token_id = token.id
    uow().commit()
    return _tokens_page(201, created={"token": clear, "token_id": token_id})


@bp.post("/jetons/<int:token_id>/revocation")
def revoke_token(token_id: int) -> Any:
    people.revoke_token(uow(), g.principal, token_id)
    uow().commit()
    return redirect(url_for("admin_people.tokens", _anchor=f"jeton-{token_id}"))
