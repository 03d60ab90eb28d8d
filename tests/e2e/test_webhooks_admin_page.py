"""The webhooks administration page: administrators register an endpoint (secret shown once),
see a refused address explained in French, rotate, read the attempts, replay, delete; other
people get the login page or the French 403 page."""

from __future__ import annotations

import re

import pyotp
import pytest
from helpers import csrf_from, login
from webhooks_support import relay

from engine.audit import service as audit
from engine.db import transaction

pytest_plugins = ["webhooks_support"]  # the receiver fixtures
PAGE = "/admin/webhooks"


@pytest.fixture
def admin_client(client, clock):
    login(client, "demo-admin")
    html = client.get("/connexion/activer-2fa").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html).group(1)
    client.post("/connexion/activer-2fa", data={
        "code": pyotp.TOTP(secret.replace(" ", "")).at(clock.now()),
        "csrf_token": csrf_from(html)})
    return client


def post(client, path: str, **data):
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def test_anonymous_and_non_administrators_cannot_reach_the_page(client):
    assert client.get(PAGE).status_code == 302
    login(client, "demo-asso")
    response = client.get(PAGE)
    assert response.status_code == 403 and "Accès refusé" in response.get_data(as_text=True)


def test_an_administrator_manages_endpoints_from_the_page(admin_client, db, receiver):
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Aucun point de réception" in page and 'lang="fr"' in page
    assert '<label for="url">' in page and "<legend>Événements transmis</legend>" in page

    refused = post(admin_client, PAGE, organisation="asso-victimes-demo",
                   url="https://192.168.0.2/h", event_types="audit.checkpoint", scheme="v1")
    assert refused.status_code == 422
    assert "Rien n'a été enregistré" in refused.get_data(as_text=True)

    created = post(admin_client, PAGE, organisation="asso-victimes-demo", url=receiver.url,
                   event_types="audit.checkpoint", scheme="v1")
    html = created.get_data(as_text=True)
    assert created.status_code == 201
    secret = re.search(r"<code>(whsec_[^<]+)</code>", html).group(1)
    assert "il ne sera plus affiché" in html
    listing = admin_client.get(PAGE).get_data(as_text=True)
    assert secret not in listing and receiver.url in listing

    receiver.secret = secret
    receiver.answers = [503]
    with transaction(db) as uow:
        audit.checkpoint(uow)
    assert relay(db) == ["retry"]
    attempts = admin_client.get(f"{PAGE}/1/tentatives").get_data(as_text=True)
    assert "http_error" in attempts and "503" in attempts
    message_id = re.search(r"/admin/webhooks/messages/(\d+)/renvoi", attempts).group(1)
    assert post(admin_client, f"{PAGE}/messages/{message_id}/renvoi").status_code == 302
    assert relay(db) == ["delivered"]
    assert "delivered" in admin_client.get(f"{PAGE}/1/tentatives").get_data(as_text=True)

    rotated = post(admin_client, f"{PAGE}/1/rotation").get_data(as_text=True)
    new_secret = re.search(r"<code>(whsec_[^<]+)</code>", rotated).group(1)
    assert new_secret != secret
    assert post(admin_client, f"{PAGE}/1/suppression").status_code == 302
    assert "Aucun point de réception" in admin_client.get(PAGE).get_data(as_text=True)
