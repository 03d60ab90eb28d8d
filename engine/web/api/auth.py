"""Bearer-token authentication for the API; failures become problem documents."""

from __future__ import annotations

from typing import Any

from apiflask import HTTPTokenAuth
from flask import g

from engine.identity import service as identity
from engine.identity.errors import InvalidToken
from engine.identity.service import Principal
from engine.web.context import uow
from engine.web.errors import respond

auth = HTTPTokenAuth(scheme="Bearer", security_scheme_name="bearer")


MISSING = ("unauthenticated", "Jeton d'accès manquant : envoyez l'en-tête "
           "« Authorization: Bearer <jeton> ».")


@auth.verify_token
def _verify(token: str) -> Principal | None:
    if not token:
        g.auth_error = MISSING
        return None
    try:
        principal = identity.authenticate_token(uow(), token)
    except InvalidToken as exc:
        g.auth_error = (exc.code, exc.message)
        return None
    if uow().audit_pending:  # the hourly "used" row: kept even if the request later fails
        uow().commit()  # (otherwise nothing was written: no extra COMMIT round trip)
    g.principal = principal
    return principal


@auth.error_processor
def _auth_error(_error: Any) -> Any:
    # Without an Authorization header (or with another scheme) verify_token is not called.
    code, detail = g.get("auth_error") or MISSING
    return respond(401, code, detail, headers={"WWW-Authenticate": 'Bearer realm="relais"'})


def current() -> Principal:
    return g.principal
