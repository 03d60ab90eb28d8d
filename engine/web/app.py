"""Application factory. Nothing global: settings and database hang off the app instance."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from flask import Flask, g, request
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import text
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import __doc__ as product_doc
from engine.config import Settings
from engine.db import Database
from engine.identity.service import ABSOLUTE_TIMEOUT
from engine.platform import connect
from engine.web import errors
from engine.web.input import IdConverter, guard_json_body
from webhooks.api import register as register_webhooks

API_PREFIX = "/api/v1"
HSTS_SECONDS = 365 * 24 * 3600

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def _cap_request_body() -> None:
    """Refuse an announced oversized body before any view or authentication reads it."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def create_app(settings: Settings | None = None, db: Database | None = None) -> APIFlask:
    settings = settings or Settings.from_env()
    app = APIFlask("engine.web", title="Relais", version="1",
                   spec_path=f"{API_PREFIX}/openapi.json", docs_path=None, json_errors=False)
    app.config.update(
        SECRET_KEY=settings.session_secret(),
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        SESSION_COOKIE_NAME="relais_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Decided by configuration (RELAIS_PUBLIC_URL), never by the Host of a request.
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        # The server-side session (engine.identity) decides expiry; the cookie only outlives it.
        PERMANENT_SESSION_LIFETIME=ABSOLUTE_TIMEOUT,
        WTF_CSRF_TIME_LIMIT=int(ABSOLUTE_TIMEOUT.total_seconds()),
        INFO={"description": (product_doc or "").strip()},
        SECURITY_SCHEMES={"bearer": {"type": "http", "scheme": "bearer"}},
        JSON_SORT_KEYS=False,
    )
    _configure_transport(app, settings)
    app.before_request(_cap_request_body)
    app.before_request(guard_json_body)
    # Before any blueprint adds its rules: every `<int:…>` id is bounded (engine.web.input).
    app.url_map.converters["int"] = IdConverter
    app.extensions["relais.settings"] = settings
    app.extensions["relais.db"] = db or connect(settings)

    csrf = CSRFProtect(app)
    from engine.web.admin.console import admin_blueprints
    from engine.web.api import bp as api_bp
    from engine.web.api import contract as api_contract
    from engine.web.ui import bp as ui_bp

    csrf.exempt(api_bp)  # bearer tokens, no ambient cookies: CSRF does not apply
    app.register_blueprint(ui_bp)
    for blueprint in admin_blueprints():
        app.register_blueprint(blueprint)
    app.register_blueprint(api_bp, url_prefix=API_PREFIX)
    register_webhooks(app, csrf)
    app.spec_processor(api_contract.complete)
    errors.register(app)

    app.teardown_appcontext(_close_unit_of_work)
    app.after_request(_security_headers)
    app.add_url_rule("/healthz", "healthz", _healthz)
    return app


def _configure_transport(app: APIFlask, settings: Settings) -> None:
    """TLS behind a reverse proxy: believe exactly `trusted_proxies` hops of X-Forwarded-*
    (client address, scheme, host); send HSTS over HTTPS."""
    if settings.public_url:
        app.config["PREFERRED_URL_SCHEME"] = settings.public_url.split(":", 1)[0]
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    @app.after_request
    def _strict_transport(response: Any) -> Any:
        # Published over HTTPS (RELAIS_PUBLIC_URL), or this request came over TLS — seen
        # directly or through a trusted proxy: a browser then never tries plain HTTP again.
        if settings.hsts or request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
        return response


def database(app: Flask | None = None) -> Database:
    from flask import current_app

    return (app or current_app).extensions["relais.db"]


def _close_unit_of_work(_exc: BaseException | None) -> None:
    uow = g.pop("uow", None)
    if uow is not None:
        uow.rollback()
        uow.close()


def _security_headers(response: Any) -> Any:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # same-origin, not no-referrer: Flask-WTF's strict CSRF check on HTTPS needs the Referer
    # of same-site form posts; other sites still learn nothing.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint != "static":  # pages show personal data, the TOTP enrolment a secret
        headers.setdefault("Cache-Control", "no-store")
    return response


def _healthz() -> tuple[dict[str, str], int]:
    try:
        with database().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any failure means "not healthy", whatever the driver raised
        return {"status": "indisponible", "database": "injoignable"}, 503
    return {"status": "ok"}, 200
