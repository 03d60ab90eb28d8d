"""Schema management: every domain's tables in one metadata, upgraded by Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

from engine.db import Base

MIGRATIONS = Path(__file__).parent / "migrations"


def metadata() -> MetaData:
    """All tables: importing each domain's models registers them on `Base`."""
    import engine.audit.models
    import engine.cases.models
    import engine.consent.models
    import engine.dossiers.models
    import engine.figures.models
    import engine.identity.models
    import engine.itp.models
    import engine.keys.models
    import engine.routing.models
    import engine.runtime.models
    import engine.situations.models
    import engine.territory.models
    import engine.web.models  # noqa: F401
    import webhooks.models  # noqa: F401

    return Base.metadata


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(database_url: str) -> None:
    """Create or upgrade the schema to the newest migration."""
    command.upgrade(alembic_config(database_url), "head")
