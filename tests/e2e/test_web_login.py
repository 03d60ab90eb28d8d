"""The French login through the Flask test client: cookies, sessions, timeouts, TOTP, `next`."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from helpers import csrf_from, login
from sqlalchemy import func, select

from engine.identity.models import UserSession

HOME_CONTENT = "Vos organisations et rôles"


def _session_cookie_header(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie")
               if c.startswith("relais_session=")]
    assert cookies, f"no session cookie in {response.headers.getlist('Set-Cookie')}"
    return cookies[-1]


def _flask_session(client) -> dict:
    with client.session_transaction() as sess:
        return dict(sess)


def _logout(client):
    page = client.get("/")
    return client.post("/deconnexion", data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def _live_sessions(db) -> int:
    with db.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(UserSession)
                                  .where(UserSession.ended_at.is_(None)))


def test_root_redirects_anonymous_visitors_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_login_page_is_french(client):
    response = client.get("/connexion")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="fr">' in html
    assert "<h1>Connexion</h1>" in html
    assert "Mot de passe" in html and "Se connecter" in html
    assert 'name="csrf_token"' in html


def test_demo_is_logs_in_and_sees_who_they_are(client):
    response = login(client, "demo-is")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert "Camille Martin (IS, démo)" in html
    assert "Association ISCG (démo) — intervenants sociaux" in html
    assert "Intervenant social" in html
    assert "asso-iscg-demo" not in html  # pages never show an organisation slug
    assert "Se déconnecter" in html


def test_session_cookie_flags_on_loopback(client):
    # Secure even on loopback: the flag follows the configuration, not the Host header
    # (browsers accept Secure cookies from http://localhost and 127.0.0.1).
    anonymous = _session_cookie_header(client.get("/connexion"))
    logged_in = _session_cookie_header(login(client, "demo-is"))
    for header in (anonymous, logged_in):
        attributes = [a.strip().lower() for a in header.split(";")]
        assert "httponly" in attributes
        assert "samesite=lax" in attributes
        assert "secure" in attributes


# Policies under which a browser still sends the Referer of a same-origin form post.
SAME_ORIGIN_REFERRER = {"same-origin", "origin", "strict-origin", "origin-when-cross-origin",
                        "strict-origin-when-cross-origin"}


@pytest.mark.parametrize("base_url", ["https://relais.example.org", "http://relais.example.org"])
def test_session_cookie_is_secure_off_loopback_and_login_works_there(client, base_url):
    page = client.get("/connexion", base_url=base_url)
    anonymous = _session_cookie_header(page)
    # On HTTPS the CSRF check also wants a same-origin Referer: the page must let it be sent.
    assert page.headers["Referrer-Policy"] in SAME_ORIGIN_REFERRER
    response = client.post("/connexion", base_url=base_url, data={
        "username": "demo-is", "password": "demo-relais-2026",
        "csrf_token": csrf_from(page.get_data(as_text=True))},
        headers={"Referer": f"{base_url}/connexion"})
    assert response.status_code == 302, response.get_data(as_text=True)
    for header in (anonymous, _session_cookie_header(response)):
        attributes = [a.strip().lower() for a in header.split(";")]
        assert "secure" in attributes and "httponly" in attributes
        assert "samesite=lax" in attributes


def test_a_new_session_id_at_every_login(client, db):
    client.get("/connexion")
    with client.session_transaction() as sess:  # a fixation attempt: a chosen id
        sess["sid"] = "choisi-par-un-attaquant"
    login(client, "demo-is")
    first = _flask_session(client)["sid"]
    assert first != "choisi-par-un-attaquant"
    _logout(client)
    assert "sid" not in _flask_session(client)
    login(client, "demo-is")
    second = _flask_session(client)["sid"]
    assert second != first
    assert _live_sessions(db) == 1


def test_logging_in_again_ends_the_previous_session(app, client, db):
    login(client, "demo-is")
    first = client.get_cookie("relais_session").value
    home = client.get("/").get_data(as_text=True)  # logged in: /connexion would redirect
    response = client.post("/connexion", data={"username": "demo-asso",
                                               "password": "demo-relais-2026",
                                               "csrf_token": csrf_from(home)})
    assert response.status_code == 302
    assert "Nadia Benali" in client.get("/").get_data(as_text=True)
    assert _live_sessions(db) == 1
    replay = app.test_client()
    replay.set_cookie("relais_session", first)
    assert replay.get("/").status_code == 302


def test_logout_ends_the_session_on_the_server(app, client, db):
    login(client, "demo-is")
    assert HOME_CONTENT in client.get("/").get_data(as_text=True)
    stolen = client.get_cookie("relais_session").value
    response = _logout(client)
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    assert "Vous êtes déconnecté" in client.get("/connexion").get_data(as_text=True)
    assert _live_sessions(db) == 0
    replay = app.test_client()
    replay.set_cookie("relais_session", stolen)
    response = replay.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")


def test_idle_session_expires_after_30_minutes(client, clock):
    login(client, "demo-is")
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200  # activity keeps it alive
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Votre session a expiré" in html
    assert client.get("/").status_code == 302  # and it stays ended


def _secret_from(html: str) -> str:
    match = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html)
    assert match, "enrolment page without a secret"
    return match.group(1).replace(" ", "")


def test_admin_enrols_totp_then_needs_a_code_at_every_login(client, clock, db):
    response = login(client, "demo-admin")
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion/activer-2fa"
    assert client.get("/").status_code == 302  # the password alone opens nothing
    assert _live_sessions(db) == 0

    page = client.get("/connexion/activer-2fa")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Activer la double authentification" in html
    assert 'src="data:image/svg+xml' in html  # the QR code, inline as a data URI
    secret = _secret_from(html)
    totp = pyotp.TOTP(secret)
    response = client.post("/connexion/activer-2fa",
                           data={"code": totp.at(clock.now()), "csrf_token": csrf_from(html)})
    # An administrator who asked for no other page lands on the administration console.
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    home = client.get("/").get_data(as_text=True)
    assert "Administratrice (démo)" in home and "Administrateur de la plateforme" in home
    _logout(client)

    clock.advance(seconds=30)
    response = login(client, "demo-admin")
    assert response.headers["Location"] == "/connexion/code"
    page = client.get("/connexion/code").get_data(as_text=True)
    assert "Code de vérification" in page
    valid = {totp.at(clock.now() + timedelta(seconds=30 * d)) for d in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
    response = client.post("/connexion/code", data={"code": wrong, "csrf_token": csrf_from(page)})
    assert response.status_code == 401
    assert "Code de vérification incorrect" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    response = client.post("/connexion/code",
                           data={"code": totp.at(clock.now()), "csrf_token": csrf_from(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert "Administratrice (démo)" in client.get("/").get_data(as_text=True)


def test_second_factor_pages_without_a_pending_login_send_back_to_login(client):
    for path in ("/connexion/code", "/connexion/activer-2fa"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/connexion"


def test_pending_second_factor_expires_with_the_clock(client, clock):
    login(client, "demo-admin")
    assert client.get("/connexion/activer-2fa").status_code == 200
    clock.advance(minutes=6)
    response = client.get("/connexion/activer-2fa")
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"


@pytest.mark.parametrize("target", ["/processus?vue=liste", "/api/v1/me"])
def test_next_is_honoured_for_local_paths(client, target):
    page = client.get("/connexion", query_string={"next": target}).get_data(as_text=True)
    assert 'name="next"' in page
    response = login(client, "demo-is", next=target)
    assert response.status_code == 302 and response.headers["Location"] == target


def test_login_required_page_brings_the_user_back_after_login(client):
    response = client.get("/?onglet=2")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/?onglet=2"' in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example",
                                    "\\\\evil.example", "/\t/evil.example", "javascript:alert(1)"])
def test_next_pointing_elsewhere_is_ignored(client, target):
    page = client.get("/connexion", query_string={"next": target}).get_data(as_text=True)
    assert "evil.example" not in page and "javascript" not in page
    response = login(client, "demo-is", next=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"
