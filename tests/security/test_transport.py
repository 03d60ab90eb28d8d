"""Behind a TLS proxy: the cookie's Secure flag and HSTS come from configuration
(RELAIS_PUBLIC_URL), never from the Host header; X-Forwarded-* are believed only from the
configured number of trusted proxies (RELAIS_TRUSTED_PROXIES)."""

from __future__ import annotations

import dataclasses

import pytest
from flask import request

from engine.config import Settings
from engine.errors import ConfigurationError
from engine.web import create_app


def _cookie(response) -> list[str]:
    cookies = [c for c in response.headers.getlist("Set-Cookie")
               if c.startswith("relais_session=")]
    assert cookies, response.headers
    return [a.strip().lower() for a in cookies[-1].split(";")]


def _app(settings: Settings, db, **changes):
    app = create_app(dataclasses.replace(settings, **changes), db)
    app.config["TESTING"] = True
    return app


@pytest.mark.parametrize("host", ["127.0.0.1:5000", "localhost", "relais.example.org"])
def test_cookie_is_secure_by_default_whatever_the_host(settings, db, host):
    client = _app(settings, db).test_client()
    assert "secure" in _cookie(client.get("/connexion", headers={"Host": host}))


@pytest.mark.parametrize("host", ["127.0.0.1:5000", "relais.example.org"])
def test_https_public_url_makes_cookies_secure_and_sends_hsts(settings, db, host):
    client = _app(settings, db, public_url="https://relais.example.org").test_client()
    # A proxy that rewrites Host to the loopback address no longer drops the Secure flag.
    response = client.get("/connexion", headers={"Host": host})
    assert "secure" in _cookie(response)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" in client.get("/api/v1/me").headers


def test_plain_http_public_url_is_an_explicit_choice(settings, db):
    client = _app(settings, db, public_url="http://relais.lan").test_client()
    response = client.get("/connexion", headers={"Host": "relais.lan"})
    assert "secure" not in _cookie(response)
    assert "Strict-Transport-Security" not in response.headers


def test_no_hsts_over_plain_http_without_a_public_https_address(client):
    assert "Strict-Transport-Security" not in client.get("/connexion").headers
    # A client claiming HTTPS through a header nobody trusts changes nothing.
    forged = client.get("/connexion", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in forged.headers


def test_hsts_when_a_trusted_proxy_says_the_request_came_over_tls(settings, db):
    client = _app(settings, db, trusted_proxies=1).test_client()
    response = client.get("/connexion", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "secure" in _cookie(response)
    plain = client.get("/connexion", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers


def test_hsts_over_direct_tls(client):
    response = client.get("/connexion", base_url="https://relais.example.org")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def _seen(app) -> dict[str, str]:
    @app.get("/_transport")
    def transport() -> dict[str, str]:
        return {"addr": request.remote_addr or "", "scheme": request.scheme, "host": request.host}

    return app.test_client().get("/_transport", environ_base={"REMOTE_ADDR": "10.0.0.2"},
                                 headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7",
                                          "X-Forwarded-Proto": "https",
                                          "X-Forwarded-Host": "relais.example.org"}).json


def test_forwarded_headers_are_ignored_without_trusted_proxies(settings, db):
    seen = _seen(_app(settings, db))
    assert seen["addr"] == "10.0.0.2" and seen["scheme"] == "http"
    assert seen["host"] == "localhost"


def test_one_trusted_proxy_is_believed_for_one_hop_only(settings, db):
    seen = _seen(_app(settings, db, trusted_proxies=1))
    # The client's own forged "6.6.6.6" is not believed: only the last hop's value is.
    assert seen == {"addr": "203.0.113.7", "scheme": "https", "host": "relais.example.org"}


@pytest.mark.parametrize(("env", "message"), [
    ({"RELAIS_TRUSTED_PROXIES": "deux"}, "entier"),
    ({"RELAIS_TRUSTED_PROXIES": "-1"}, "positif"),
    ({"RELAIS_TRUSTED_PROXIES": "12"}, "entre 0 et 5"),
    ({"RELAIS_PUBLIC_URL": "relais.example.org"}, "adresse complète"),
    ({"RELAIS_PUBLIC_URL": "ftp://relais.example.org"}, "adresse complète"),
])
def test_bad_transport_settings_are_refused_in_french(tmp_path, env, message):
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({"RELAIS_HOME": str(tmp_path), **env})


def test_transport_settings_are_read_from_the_environment(tmp_path):
    settings = Settings.from_env({"RELAIS_HOME": str(tmp_path), "RELAIS_TRUSTED_PROXIES": "1",
                                  "RELAIS_PUBLIC_URL": "https://relais.example.org/"})
    assert settings.trusted_proxies == 1 and settings.public_url == "https://relais.example.org"
    assert settings.secure_cookies and settings.hsts
