"""Login, second factor, logout and the home page."""

from __future__ import annotations

from typing import Any

import segno
from apiflask import APIBlueprint
from flask import flash, g, redirect, render_template, request, session, url_for

from engine.errors import Invalid
from engine.figures.service import FIGURES_ROLES
from engine.identity import passwords
from engine.identity import service as identity
from engine.identity.errors import AuthenticationFailed
from engine.identity.models import User
from engine.identity.roles import ROLE_LABELS, Role, is_known_role
from engine.situations import detail as situation_detail
from engine.situations import service as situations
from engine.situations import workspace
from engine.web.context import uow
from engine.web.ui.auth import load_principal, login_required, safe_next, start_session
from engine.web.ui.formats import date_fr, datetime_fr

bp = APIBlueprint("ui", __name__, enable_openapi=False)
bp.before_request(load_principal)
bp.add_app_template_filter(date_fr, "date_fr")
bp.add_app_template_filter(datetime_fr, "datetime_fr")


@bp.app_template_global()
def role_label(role: str) -> str:
    return ROLE_LABELS.get(Role(role), "") if is_known_role(role) else ""


@bp.app_context_processor
def menu() -> dict[str, Any]:
    """What the menu of every page offers this user (only what they may use)."""
    principal = g.get("principal")
    if principal is None:
        return {"menu": None}
    return {"menu": {"follows": situations.may_follow(principal),
                     "receives": situations.may_receive(principal),
                     "starts": bool(situation_detail.startable(uow(), principal)),
                     "itp": principal.has_role(Role.CG_ITP),
                     "figures": any(principal.has_role(r) for r in FIGURES_ROLES)}}


@bp.get("/")
@login_required
def home() -> Any:
    home_page = workspace.home(uow(), g.principal)
    return render_template("home.html", principal=g.principal, home=home_page,
                           task_signature=workspace.tasks_signature(home_page.tasks))


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> Any:
    if g.get("principal") is not None and request.method == "GET":
        return redirect(url_for("ui.home"))
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=next_url)
    username = (request.form.get("username") or "").strip().lower()
    password = request.form.get("password") or ""
    if not username or not password:
        return _login_failed("Saisissez votre identifiant et votre mot de passe.", 400,
                             username, next_url)
    try:
        user = identity.authenticate_password(uow(), username, password,
                                              source=request.remote_addr)
    except AuthenticationFailed as exc:
        uow().commit()  # failures, throttling and locks are recorded even though login fails
        page, status = _login_failed(exc.message, exc.status, username, next_url)
        retry = getattr(exc, "retry_after", None)
        return page, status, ({"Retry-After": str(retry)} if retry else {})
    _end_previous_session()
    if passwords.must_change_password(user) or identity.needs_second_factor(user):
        uow().commit()
        session.clear()
        session["pending_uid"], session["pending_at"] = user.id, int(uow().now().timestamp())
        session["pending_next"] = next_url
        return redirect(url_for(_next_login_step(user)))
    sid = identity.open_session(uow(), user)
    uow().commit()
    return start_session(user.id, sid, next_url)


def _next_login_step(user: User) -> str:
    """After the password: replace a temporary password, then the administrators' TOTP."""
    if passwords.must_change_password(user):
        return "ui.change_password"
    return "ui.second_factor" if identity.totp_enrolled(user) else "ui.enrol_totp"


def _after_second_factor(user: User) -> Any:
    """An administrator who gave no other destination lands on the administration console."""
    sid = identity.open_session(uow(), user)
    uow().commit()
    return start_session(user.id, sid,
                         session.get("pending_next") or url_for("admin_home.home"))


@bp.route("/connexion/nouveau-mot-de-passe", methods=["GET", "POST"])
def change_password() -> Any:
    """The password an administrator gave is temporary: the user chooses theirs now."""
    user = _pending_user()
    if user is None or not passwords.must_change_password(user):
        return _restart_login()
    if request.method == "GET":
        return render_template("mot_de_passe_provisoire.html", errors={})
    try:
        passwords.change_temporary_password(uow(), user, request.form.get("password", ""),
                                           request.form.get("confirmation", ""))
    except Invalid as exc:
        uow().rollback()
        errors = {e["field"]: e["message"] for e in exc.errors}
        return render_template("mot_de_passe_provisoire.html", errors=errors), exc.status
    if identity.needs_second_factor(user):
        uow().commit()
        session["pending_at"] = int(uow().now().timestamp())  # a fresh window for the code
        return redirect(url_for(_next_login_step(user)))
    sid = identity.open_session(uow(), user)
    uow().commit()
    return start_session(user.id, sid, session.get("pending_next"))


def _end_previous_session() -> None:
    """Logging in again (perhaps as someone else) ends the session this browser had."""
    previous = session.get("sid")
    if previous:
        identity.end_session(uow(), previous, "replaced")


def _login_failed(message: str, status: int, username: str, next_url: str | None) -> Any:
    return render_template("login.html", error=message, username=username, next=next_url), status


def _pending_user() -> User | None:
    return identity.pending_second_factor(uow(), session.get("pending_uid"),
                                          session.get("pending_at"))


@bp.route("/connexion/code", methods=["GET", "POST"])
def second_factor() -> Any:
    user = _pending_user()
    if user is None or not identity.totp_enrolled(user) or passwords.must_change_password(user):
        return _restart_login()
    if request.method == "GET":
        return render_template("totp.html")
    try:
        identity.verify_second_factor(uow(), user, request.form.get("code", ""))
    except AuthenticationFailed as exc:
        uow().commit()
        return render_template("totp.html", error=exc.message), 401
    return _after_second_factor(user)


@bp.route("/connexion/activer-2fa", methods=["GET", "POST"])
def enrol_totp() -> Any:
    user = _pending_user()
    if user is None or identity.totp_enrolled(user) or passwords.must_change_password(user):
        return _restart_login()
    secret = identity.pending_totp_secret(uow(), user)
    if secret is None or (request.method == "GET" and request.args.get("nouveau")):
        secret = identity.begin_totp_enrolment(uow(), user)
        uow().commit()
    if request.method == "POST":
        try:
            identity.confirm_totp_enrolment(uow(), user, request.form.get("code", ""))
        except AuthenticationFailed as exc:
            uow().commit()
            return _enrol_page(user, secret, exc.message), 401
        return _after_second_factor(user)
    return _enrol_page(user, secret)


def _enrol_page(user: User, secret: str, error: str | None = None) -> str:
    uri = identity.provisioning_uri(user, secret)
    qr = segno.make(uri, error="m").svg_data_uri(scale=4)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("totp_enrol.html", secret=grouped, qr=qr, uri=uri, error=error)


def _restart_login() -> Any:
    session.clear()
    flash("Votre connexion a expiré : recommencez.", "warning")
    return redirect(url_for("ui.login"))


@bp.post("/deconnexion")
def logout() -> Any:
    sid = session.get("sid")
    if sid:
        identity.end_session(uow(), sid, "logout")
        uow().commit()
    session.clear()
    flash("Vous êtes déconnecté·e.", "info")
    return redirect(url_for("ui.login"))
