"""The Flask application: French pages (ui), the REST API (api), errors and security headers."""

from engine.web.app import create_app

__all__ = ["create_app"]
