"""Migration 0005 gives existing organisations their recipient capabilities by kind."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from engine.schema import alembic_config


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"relais_m5_{uuid.uuid4().hex[:8]}"
    yield server.create(name)
    server.drop(name)


def test_existing_organisations_get_their_capabilities(empty_url):
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "0004")
    engine = create_engine(empty_url)
    kinds = ["police", "gendarmerie", "association", "departmental_council", "ccas", "cmp",
             "commune"]
    try:
        with engine.begin() as conn:
            for kind in kinds:
                conn.execute(text("INSERT INTO organisation (slug, name, kind, active, "
                                  "created_at) VALUES (:s, :s, :k, :a, :t)"),
                             {"s": f"org-{kind.replace('_', '-')}", "k": kind, "a": True,
                              "t": "2026-01-01 00:00:00"})
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            rows = {kind: (bool(off), bool(secret)) for kind, off, secret in conn.execute(text(
                "SELECT kind, offence_data_authorised, bound_by_secrecy FROM organisation"))}
    finally:
        engine.dispose()
    assert rows == {"police": (True, False), "gendarmerie": (True, False),
                    "association": (False, False), "departmental_council": (False, True),
                    "ccas": (False, True), "cmp": (False, True), "commune": (False, False)}
    command.downgrade(cfg, "0004")  # and back: the downgrade runs on both engines
