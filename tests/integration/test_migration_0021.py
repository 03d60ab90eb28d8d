"""Migration 0021 (upgraded from the revision before it: 0018) fills the
next/previous months of facts written before it, so that past years count as with ranking."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from engine.schema import alembic_config

# (id, subject, indicator, value, month) in the order they were written.
FACTS = [(1, "a", "personne_type", "victime", "2026-01"),
         (2, "a", "personne_type", "auteur", "2026-03"),
         (3, "b", "personne_type", "victime", "2026-02"),
         (4, "a", "problematiques", "logement", "2026-01"),
         (5, "a", "problematiques", "logement", "2026-04"),
         (6, "a", "problematiques", "violences", "2026-04"),
         (7, "a", "documents_finalite", "x", "2026-04")]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"relais_m21_{uuid.uuid4().hex[:8]}"
    yield server.create(name)
    server.drop(name)


def test_existing_facts_get_their_next_and_previous_months(empty_url):
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "0018")
    engine = create_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO organisation (id, slug, name, kind, active, "
                              "created_at) VALUES (1, 'o', 'o', 'association', :a, "
                              "'2026-01-01 00:00:00')"), {"a": True})
            for fact_id, subject, indicator, value, month in FACTS:
                conn.execute(text(
                    "INSERT INTO figure_fact (id, organisation_id, situation_key, subject, "
                    "month, indicator, value, source) VALUES (:i, 1, :s, :s, :m, :n, :v, 't')"),
                    {"i": fact_id, "s": subject, "m": month, "n": indicator, "v": value})
        command.upgrade(cfg, "0021")
        with engine.connect() as conn:
            rows = {i: (n, p) for i, n, p in conn.execute(text(
                "SELECT id, next_month, previous_month FROM figure_fact"))}
    finally:
        engine.dispose()
    assert rows == {1: ("2026-03", None), 2: (None, None), 3: (None, None),
                    4: (None, None), 5: (None, "2026-01"), 6: (None, None), 7: (None, None)}
    command.downgrade(cfg, "0018")
