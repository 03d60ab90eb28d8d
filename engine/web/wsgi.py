"""WSGI entry point for the production multi-process server: `engine.web.wsgi:application`.

gunicorn imports this module in each worker process (no preloading), so every process opens
its own database pool. Background work never runs here: production runs `relais worker` and
`relais scheduler` beside the web processes, over RELAIS_BROKER_URL (ops/deploy/).
"""

from __future__ import annotations

from apiflask import APIFlask

from engine.config import Settings
from engine.errors import ConfigurationError
from engine.platform import connect
from engine.web.app import create_app


def build(settings: Settings | None = None) -> APIFlask:
    """The web application of a production installation, refusing an incomplete one."""
    settings = settings or Settings.from_env()
    if not settings.broker_url:
        raise ConfigurationError(
            "Serveur multi-processus : RELAIS_BROKER_URL est requis, le travail de fond "
            "tournant dans « relais worker » et « relais scheduler » (voir ops/deploy/).")
    db = connect(settings)
    if db.master is None:
        raise ConfigurationError("Clé maîtresse absente : vérifiez RELAIS_MASTER_KEY_FILE, "
                                 "puis lancez « relais init ».")
    return create_app(settings, db)


def __getattr__(name: str) -> APIFlask:
    # Built on first access (gunicorn asks for `application`), not when the module is imported
    # by a test or a tool.
    if name == "application":
        app = build()
        globals()["application"] = app
        return app
    raise AttributeError(name)
