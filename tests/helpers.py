"""Small helpers the web tests share: CSRF tokens from pages, logging in (as an administrator
with a second factor too), bearer headers."""

from __future__ import annotations

import re

import pyotp

from engine.audit.service import SYSTEM
from engine.db import Database, transaction
from engine.demo import DEMO_PASSWORD
from engine.identity import service as identity

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page without a CSRF token"
    return match.group(1)


def login(client, username: str, password: str = DEMO_PASSWORD, **extra):
    page = client.get("/connexion")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/connexion", data={"username": username, "password": password,
                                           "csrf_token": token, **extra})


def bearer(db: Database, username: str) -> dict[str, str]:
    with transaction(db) as uow:
        _tok, clear = identity.create_token(uow, SYSTEM, identity.get_user(uow, username), "test")
    return {"Authorization": f"Bearer {clear}"}


def as_admin(client, clock):
    """Log `client` in as demo-admin and activate the second factor administrators need."""
    login(client, "demo-admin")
    html = client.get("/connexion/activer-2fa").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html).group(1)
    response = client.post("/connexion/activer-2fa", data={
        "code": pyotp.TOTP(secret.replace(" ", "")).at(clock.now()),
        "csrf_token": csrf_from(html)})
    assert response.status_code == 302
    return client
