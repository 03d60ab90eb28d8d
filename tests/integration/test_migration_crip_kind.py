"""Migration 0018 turns the organisations that are the CRIP by their marking into kind `crip`
and leaves every other organisation alone; it adds the gravity and `given_by` columns empty."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from engine.schema import alembic_config

MIGRATION = importlib.import_module("engine.migrations.versions.0018_gravity_given_by_crip_kind")

ROWS = [  # slug, name, kind before → kind after
    ("crip-78", "Cellule départementale", "departmental_council", "crip"),
    ("cd78-crip", "Service enfance", "departmental_council", "crip"),
    ("cellule-ip", "CRIP des Yvelines", "departmental_council", "crip"),
    ("cellule-2", "Cellule de recueil des informations préoccupantes", "departmental_council",
     "crip"),
    ("cd-78", "Conseil départemental — circonscription", "departmental_council",
     "departmental_council"),
    ("cripple-services", "Scripteurs associés", "departmental_council", "departmental_council"),
    ("asso-crip", "CRIP association homonyme", "association", "association"),
]


@pytest.mark.parametrize(("slug", "name", "kind", "expected"), ROWS)
def test_marking_rule(slug, name, kind, expected):
    assert MIGRATION.is_crip_by_marking(kind, slug, name) is (expected == "crip")


def test_upgrade_sets_the_kind_of_crip_rows_only(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0013")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for slug, name, kind, _expected in ROWS:
                conn.execute(text(
                    "INSERT INTO organisation (slug, name, kind, active, created_at, "
                    "offence_data_authorised, bound_by_secrecy) VALUES (:slug, :name, :kind, "
                    "1, :at, 0, 0)"), {"slug": slug, "name": name, "kind": kind,
                                       "at": datetime(2026, 1, 1, tzinfo=UTC)})
        command.upgrade(cfg, "0018")
        with engine.connect() as conn:
            found = dict(conn.execute(text("SELECT slug, kind FROM organisation")).all())
            secrecy = dict(conn.execute(text(
                "SELECT slug, bound_by_secrecy FROM organisation")).all())
            columns = {r[1] for r in conn.execute(text("PRAGMA table_info(consent)"))}
            case_columns = {r[1] for r in conn.execute(text("PRAGMA table_info(case_file)"))}
    finally:
        engine.dispose()
    assert found == {slug: expected for slug, _n, _k, expected in ROWS}
    assert all(secrecy[slug] for slug, _n, _k, expected in ROWS if expected == "crip")
    assert not secrecy["cd-78"]
    assert "given_by" in columns and "gravity" in case_columns
