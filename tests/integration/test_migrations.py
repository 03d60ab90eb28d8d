"""Alembic migrations and the SQLAlchemy models describe the same schema, on every engine."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from engine.schema import metadata, upgrade


def _differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, metadata())
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(database_url):
    assert _differences(database_url) == []


def test_upgrade_is_idempotent_and_creates_every_table(database_url):
    upgrade(database_url)  # already at head: a no-op, not an error
    engine = create_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(metadata().tables) <= tables
    assert "alembic_version" in tables


def test_a_model_change_without_migration_is_detected(database_url):
    from sqlalchemy import Column, Integer, MetaData, Table

    extra = MetaData()
    for table in metadata().tables.values():
        table.to_metadata(extra)
    Table("not_migrated", extra, Column("id", Integer, primary_key=True))
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), extra)
    finally:
        engine.dispose()
    assert any(d[0] == "add_table" and d[1].name == "not_migrated" for d in diff)
