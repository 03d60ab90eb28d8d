"""Bad input gets a clear answer and changes nothing: right status, French message or problem
document with a stable code, an audit row where it matters, and never a stack trace."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from helpers import bearer, csrf_from, login
from sqlalchemy import func, select

from engine.audit import service as audit
from engine.audit.models import AuditEntry
from engine.db import transaction
from engine.identity import service as identity
from engine.identity.models import ApiToken, User, UserSession
from engine.web import create_app

PROBLEM = "application/problem+json"


# --- helpers -------------------------------------------------------------------------------

def _page(response, status: int, *fragments: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    assert response.mimetype == "text/html"
    assert '<html lang="fr">' in html
    assert "Traceback" not in html and 'File "' not in html
    for fragment in fragments:
        assert fragment in html
    return html


def _problem(response, status: int, code: str) -> dict:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == PROBLEM
    assert "Traceback" not in text
    body = json.loads(text)
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:relais:problem:{code}"
    assert body["title"] and body["detail"]
    return body


def _last_seq(db) -> int:
    with db.unit_of_work() as uow:
        return audit.last_seq(uow)


@dataclasses.dataclass(frozen=True)
class Row:
    action: str
    subject_id: str | None
    details: str


def _audit_since(db, seq: int) -> list[Row]:
    with db.unit_of_work() as uow:
        return [Row(e.action, e.subject_id, e.details) for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq))]


def _count_sessions(db) -> int:
    with db.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(UserSession))


def _login_post(client, token: str, username: str, password: str):
    return client.post("/connexion", data={"username": username, "password": password,
                                           "csrf_token": token})


# --- login ---------------------------------------------------------------------------------

def test_wrong_password(client, db):
    seq = _last_seq(db)
    response = login(client, "demo-is", "pas-le-bon-mot-de-passe")
    _page(response, 401, "Identifiant ou mot de passe incorrect.", "<h1>Connexion</h1>")
    assert client.get("/").status_code == 302
    [row] = _audit_since(db, seq)
    assert row.action == "identity.login_failed"
    assert json.loads(row.details)["reason"] == "bad_password"
    with db.unit_of_work() as uow:
        assert row.subject_id == str(identity.get_user(uow, "demo-is").id)


def test_unknown_user(client, db):
    seq = _last_seq(db)
    response = login(client, "personne", "pas-le-bon-mot-de-passe")
    html = _page(response, 401, "Identifiant ou mot de passe incorrect.")
    assert "inconnu" not in html  # nothing tells an unknown account from a wrong password
    [row] = _audit_since(db, seq)
    assert row.action == "identity.login_failed" and "personne" not in row.details


def test_empty_login_form(client, db):
    seq = _last_seq(db)
    _page(login(client, "", ""), 400, "Saisissez votre identifiant et votre mot de passe.")
    assert _last_seq(db) == seq


def test_locked_account_refuses_even_the_right_password_from_that_address(client, db, clock):
    token = csrf_from(client.get("/connexion").get_data(as_text=True))
    seq = _last_seq(db)
    for _ in range(identity.LOCK_AFTER):
        clock.advance(seconds=60)  # past the throttling delay
        response = _login_post(client, token, "demo-is", "pas-le-bon-mot-de-passe")
        _page(response, 401, "Identifiant ou mot de passe incorrect.")
    clock.advance(seconds=60)
    response = _login_post(client, token, "demo-is", "demo-relais-2026")
    _page(response, 429, "essais infructueux", "14 minutes")
    assert int(response.headers["Retry-After"]) == 14 * 60
    assert client.get("/").status_code == 302
    actions = [row.action for row in _audit_since(db, seq)]
    assert actions.count("identity.login_failed") == identity.LOCK_AFTER
    assert actions.count("identity.account_locked") == 1
    assert actions[-1] == "identity.login_refused"
    assert _count_sessions(db) == 0
    # Another address is not locked out: the attacker cannot lock the victim out.
    other = client.application.test_client()
    page = other.get("/connexion", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    response = other.post("/connexion", environ_base={"REMOTE_ADDR": "198.51.100.7"}, data={
        "username": "demo-is", "password": "demo-relais-2026",
        "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302


def test_unknown_and_known_accounts_answer_alike_through_the_lock(client, db, clock):
    token = csrf_from(client.get("/connexion").get_data(as_text=True))

    def answers(username: str, address: str) -> list[tuple[int, str]]:
        seen = []
        for _ in range(identity.LOCK_AFTER + 1):
            clock.advance(seconds=60)
            response = client.post("/connexion", data={
                "username": username, "password": "pas-le-bon-mot-de-passe",
                "csrf_token": token}, environ_base={"REMOTE_ADDR": address})
            alert = re.search(r'role="alert"[^>]*>([^<]*)<', response.get_data(as_text=True))
            assert alert, response.get_data(as_text=True)
            seen.append((response.status_code, alert.group(1)))
        return seen

    assert answers("demo-is", "203.0.113.1") == answers("personne-x", "203.0.113.2")


def test_throttled_login_answers_429(client, db):
    token = csrf_from(client.get("/connexion").get_data(as_text=True))
    for _ in range(identity.SLOW_AFTER):
        _login_post(client, token, "demo-is", "pas-le-bon-mot-de-passe")
    response = _login_post(client, token, "demo-is", "demo-relais-2026")
    _page(response, 429, "essais infructueux", "secondes")
    assert response.headers["Retry-After"] == "2"
    assert client.get("/").status_code == 302


def test_expired_session(client, clock):
    login(client, "demo-is")
    clock.advance(minutes=31)
    response = client.get("/", follow_redirects=True)
    _page(response, 200, "Votre session a expiré", "<h1>Connexion</h1>")


# --- CSRF ----------------------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "faux-jeton", ""])
def test_login_without_a_valid_csrf_token(client, db, token):
    client.get("/connexion")
    seq, sessions = _last_seq(db), _count_sessions(db)
    data = {"username": "demo-is", "password": "demo-relais-2026"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/connexion", data=data)
    _page(response, 400, "formulaire")
    assert client.get("/").status_code == 302
    assert _count_sessions(db) == sessions and _last_seq(db) == seq


def test_csrf_token_of_another_browser_is_refused(app, client, db):
    other = app.test_client()
    foreign = csrf_from(other.get("/connexion").get_data(as_text=True))
    client.get("/connexion")
    sessions = _count_sessions(db)
    _page(_login_post(client, foreign, "demo-is", "demo-relais-2026"), 400, "formulaire")
    assert _count_sessions(db) == sessions


@pytest.mark.parametrize("token", [None, "faux-jeton"])
def test_logout_without_a_valid_csrf_token_keeps_the_session(client, db, token):
    login(client, "demo-is")
    seq = _last_seq(db)
    response = client.post("/deconnexion", data={} if token is None else {"csrf_token": token})
    _page(response, 400, "formulaire")
    assert client.get("/").status_code == 200  # still logged in
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(UserSession)
                                  .where(UserSession.ended_at.is_not(None))) == 0
        assert not uow.session.scalars(select(AuditEntry).where(
            AuditEntry.seq > seq, AuditEntry.action == "identity.logout")).first()


# --- API tokens ----------------------------------------------------------------------------

def test_api_me_with_a_valid_token(client, db):
    response = client.get("/api/v1/me", headers=bearer(db, "demo-is"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["username"] == "demo-is"
    assert body["organisations"] == [{"slug": "asso-iscg-demo", "roles": ["IS"],
                                      "name": "Association ISCG (démo) — intervenants sociaux"}]


def test_revoked_token(client, db):
    headers = bearer(db, "demo-is")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with transaction(db) as uow:
        token = uow.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
        identity.revoke_token(uow, identity.SYSTEM, token)
    response = client.get("/api/v1/me", headers=headers)
    body = _problem(response, 401, "invalid_token")
    assert "révoqué" in body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("value", ["Bearer n-importe-quoi", "Bearer rls_" + "x" * 400,
                                   "Bearer rls_bien-forme-mais-inconnu"])
def test_malformed_or_unknown_token(client, db, value):
    seq = _last_seq(db)
    response = client.get("/api/v1/me", headers={"Authorization": value})
    _problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _last_seq(db) == seq


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic ZGVtbzpkZW1v"},
                                     {"Authorization": "Bearer"}])
def test_missing_authorization(client, headers):
    response = client.get("/api/v1/me", headers=headers)
    body = _problem(response, 401, "unauthenticated")
    assert "Authorization: Bearer" in body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_session_cookie_does_not_authenticate_the_api(client):
    login(client, "demo-is")
    _problem(client.get("/api/v1/me"), 401, "unauthenticated")


def test_disabled_users_token_is_refused(client, db):
    headers = bearer(db, "demo-is")
    with transaction(db) as uow:
        identity.disable_user(uow, identity.SYSTEM, identity.get_user(uow, "demo-is"))
    _problem(client.get("/api/v1/me", headers=headers), 401, "invalid_token")


# --- oversized bodies ----------------------------------------------------------------------

@pytest.fixture
def small_app(settings, db):
    application = create_app(dataclasses.replace(settings, max_request_bytes=2048), db)
    application.config["TESTING"] = True
    return application


def test_oversized_login_form(small_app, db):
    client = small_app.test_client()
    token = csrf_from(client.get("/connexion").get_data(as_text=True))
    seq = _last_seq(db)
    response = client.post("/connexion", data={"username": "demo-is", "password": "x" * 5000,
                                               "csrf_token": token})
    _page(response, 413, "Envoi trop volumineux", "dépasse la taille autorisée")
    assert _last_seq(db) == seq
    # A normal-sized login still works on the same app.
    assert _login_post(client, token, "demo-is", "demo-relais-2026").status_code == 302


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/inconnu"])
def test_oversized_api_body(small_app, db, path):
    client = small_app.test_client()
    seq = _last_seq(db)
    response = client.post(path, data=json.dumps({"x": "a" * 5000}),
                           content_type="application/json", headers=bearer(db, "demo-is"))
    _problem(response, 413, "request_too_large")
    assert _last_seq(db) == seq + 1  # only the token creation of `bearer`


# --- routing -------------------------------------------------------------------------------

def test_unknown_page(client):
    _page(client.get("/nulle-part"), 404, "Page introuvable")


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_route(client, db, method):
    response = getattr(client, method)("/api/v1/nulle-part", headers=bearer(db, "demo-is"))
    _problem(response, 404, "not_found")


def test_wrong_method_on_a_page(client):
    response = client.get("/deconnexion")
    _page(response, 405, "Méthode non autorisée")
    assert "POST" in response.headers["Allow"]


def test_wrong_method_on_the_api(client, db):
    response = client.post("/api/v1/me", headers=bearer(db, "demo-is"), json={})
    _problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def _boom():
    raise RuntimeError("secret-marker")


def test_unexpected_error_on_a_page(fresh_app, caplog):
    app = fresh_app
    app.add_url_rule("/test-boom", "test_boom", _boom)
    response = app.test_client().get("/test-boom")
    html = _page(response, 500, "Erreur interne", "Une erreur inattendue")
    assert "secret-marker" not in html and "RuntimeError" not in html
    assert any(r.exc_info and "secret-marker" in str(r.exc_info[1]) for r in caplog.records)


def test_unexpected_error_on_the_api(fresh_app):
    app = fresh_app
    app.add_url_rule("/api/v1/test-boom", "test_api_boom", _boom)
    response = app.test_client().get("/api/v1/test-boom")
    body = _problem(response, 500, "internal_error")
    assert "secret-marker" not in response.get_data(as_text=True)
    assert "RuntimeError" not in json.dumps(body)


def test_unexpected_error_changes_nothing(fresh_app, db):
    app = fresh_app

    def half_done():
        from engine.web.context import uow

        identity.create_user(uow(), identity.SYSTEM, username="a-moitie",
                             display_name="À moitié", password="un-mot-de-passe-solide")
        uow().session.flush()
        raise RuntimeError("secret-marker")

    app.add_url_rule("/test-half-done", "test_half_done", half_done)
    seq = _last_seq(db)
    assert app.test_client().get("/test-half-done").status_code == 500
    with db.unit_of_work() as uow:
        assert uow.session.scalars(select(User).where(User.username == "a-moitie")).first() \
            is None
    assert _last_seq(db) == seq


# --- headers, health, OpenAPI --------------------------------------------------------------

@pytest.mark.parametrize("path", ["/connexion", "/", "/nulle-part", "/api/v1/me",
                                  "/api/v1/openapi.json", "/healthz"])
def test_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp or "default-src 'self'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_pages_with_personal_data_or_secrets_are_not_cached(client, db):
    login(client, "demo-is")
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/me", headers=bearer(db, "demo-is")).headers["Cache-Control"] \
        == "no-store"
    _logout(client)
    login(client, "demo-admin")
    enrolment = client.get("/connexion/activer-2fa")
    assert 'class="secret"' in enrolment.get_data(as_text=True)
    assert enrolment.headers["Cache-Control"] == "no-store"


def _logout(client):
    page = client.get("/")
    return client.post("/deconnexion", data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = json.loads(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.")
    me = spec["paths"]["/api/v1/me"]["get"]
    assert "200" in me["responses"] and me.get("security")
    assert "bearer" in spec["components"]["securitySchemes"]
    assert not any("connexion" in path for path in spec["paths"])
