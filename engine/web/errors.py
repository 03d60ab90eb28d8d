"""Every error becomes a French page or an RFC 9457 problem document; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from apiflask.exceptions import HTTPError
from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from engine.errors import Invalid, RelaisError

log = logging.getLogger("relais.web")

# French titles and stable codes for the HTTP errors the framework raises itself.
HTTP_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Requête invalide",
          "La requête n'a pas pu être comprise. Vérifiez ce que vous avez envoyé."),
    401: ("unauthenticated", "Authentification requise",
          "Connectez-vous, ou fournissez un jeton d'accès valide."),
    403: ("forbidden", "Accès refusé", "Vous n'avez pas le droit d'accéder à cette ressource."),
    404: ("not_found", "Page introuvable",
          "Cette adresse ne correspond à rien que vous puissiez consulter."),
    405: ("method_not_allowed", "Méthode non autorisée",
          "Cette action n'est pas possible à cette adresse."),
    409: ("conflict", "Conflit", "La ressource a changé entre-temps : rechargez et réessayez."),
    413: ("request_too_large", "Envoi trop volumineux",
          "Le contenu envoyé dépasse la taille autorisée. Réduisez-le et réessayez."),
    415: ("unsupported_media_type", "Format non pris en charge",
          "Envoyez le contenu au format attendu (JSON pour l'API)."),
    422: ("validation_failed", "Données invalides", "Certaines données ne sont pas valides."),
    429: ("too_many_requests", "Trop de tentatives", "Patientez un moment puis réessayez."),
    500: ("internal_error", "Erreur interne",
          "Une erreur inattendue s'est produite ; rien n'a été enregistré. Réessayez plus tard "
          "ou signalez-la à l'administrateur."),
    503: ("unavailable", "Service indisponible", "Le service est momentanément indisponible."),
}


def wants_problem() -> bool:
    from engine.web.app import API_PREFIX

    return request.path.startswith(API_PREFIX)


def problem(status: int, code: str, title: str, detail: str,
            errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Any:
    body: dict[str, Any] = {"type": f"urn:relais:problem:{code}", "title": title,
                            "status": status, "detail": detail, "code": code, **extra}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def respond(status: int, code: str, detail: str, errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> Any:
    title = HTTP_ERRORS.get(status, HTTP_ERRORS[400 if status < 500 else 500])[1]
    if wants_problem():
        return problem(status, code, title, detail, errors, headers)
    page = render_template("error.html", title=title, detail=detail, errors=errors or [],
                           status=status)
    return page, status, headers or {}


def _relais_error(exc: RelaisError) -> Any:
    errors = exc.errors if isinstance(exc, Invalid) else None
    headers = {"WWW-Authenticate": 'Bearer realm="relais"'} \
        if exc.status == 401 and wants_problem() else None
    return respond(exc.status, exc.code, exc.message, errors, headers)


def _csrf_error(_exc: CSRFError) -> Any:
    return respond(400, "csrf_failed", "Le formulaire a expiré ou n'est pas authentique : "
                   "rechargez la page et recommencez.")


def _apiflask_error(exc: HTTPError) -> Any:
    code, _title, detail = HTTP_ERRORS.get(exc.status_code, HTTP_ERRORS[400])
    errors = _validation_errors(exc.detail) if exc.status_code == 422 else None
    return respond(exc.status_code, code, detail if not errors else
                   "Certaines données ne sont pas valides : voir « errors ».", errors)


LOCATIONS = {"json", "query", "form", "headers", "files", "path", "cookies"}


def _validation_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Flatten marshmallow's nested messages into [{field, message}]."""
    out: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in LOCATIONS and not prefix:
                out += _validation_errors(value, "")
            else:
                out += _validation_errors(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(detail, list):
        for item in detail:
            if isinstance(item, str):
                out.append({"field": prefix or "_", "message": item})
            else:
                out += _validation_errors(item, prefix)
    return out


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    code, _title, detail = HTTP_ERRORS.get(status, HTTP_ERRORS[500 if status >= 500 else 400])
    headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) \
        else None
    return respond(status, code, detail, headers=headers)


def _out_of_range(exc: Exception) -> Any:
    # A value the database column cannot hold (a 64-bit number for a 32-bit id, SQLite's
    # OverflowError): the request is at fault, the unit of work is rolled back at teardown.
    log.warning("value out of range on %s %s (%s)", request.method, request.url_rule,
                type(exc).__name__)
    return respond(400, "value_out_of_range", "Une valeur envoyée dépasse les limites "
                   "acceptées (nombre trop grand, par exemple) : rien n'a été enregistré.")


def _unexpected(exc: Exception) -> Any:
    # The traceback goes to the server log (no request data in it); the user gets a message.
    log.error("unexpected error on %s %s", request.method, request.url_rule, exc_info=exc)
    code, _title, detail = HTTP_ERRORS[500]
    return respond(500, code, detail)


def register(app: Flask) -> None:
    app.register_error_handler(RelaisError, _relais_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPError, _apiflask_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DataError, _out_of_range)
    app.register_error_handler(OverflowError, _out_of_range)
    app.register_error_handler(Exception, _unexpected)
