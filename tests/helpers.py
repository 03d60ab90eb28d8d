"""Small helpers the web tests share: CSRF tokens from pages, logging in, bearer headers."""

from __future__ import annotations

import re

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
