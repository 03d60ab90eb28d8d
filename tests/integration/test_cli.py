"""The `relais` command: init and demo are idempotent, tokens work, errors exit 2 in French."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.audit import service as audit
from engine.cli import main
from engine.config import Settings
from engine.db import Database
from engine.identity.models import Membership, Organisation, User
from engine.keys.master import FileMasterKey

RELAIS_VARS = ("RELAIS_HOME", "RELAIS_DATABASE_URL", "RELAIS_MASTER_KEY_FILE",
               "RELAIS_SECRET_KEY", "RELAIS_BROKER_URL", "RELAIS_MAX_REQUEST_BYTES")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    """Start every CLI test from a clean RELAIS_* environment."""
    for name in RELAIS_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def fresh_home(env, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    env.setenv("RELAIS_HOME", str(home))
    return home


def _run(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result


def _embedded_db(home: Path) -> Database:
    return Database(f"sqlite:///{home / 'relais.db'}",
                    master=FileMasterKey.load(home / "master.key"))


def _counts(db: Database) -> dict[str, int]:
    with db.unit_of_work() as uow:
        counts = {model.__name__: uow.session.scalar(select(func.count()).select_from(model))
                  for model in (Organisation, User, Membership)}
        counts["audit"] = audit.last_seq(uow)
        assert audit.verify(uow).ok
    return counts


def test_init_twice_is_idempotent_and_creates_a_private_master_key(fresh_home):
    first = _run("init")
    assert first.exit_code == 0, first.output
    assert "Relais initialisé" in first.stdout
    key = fresh_home / "master.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    key_before = key.read_bytes()
    db = _embedded_db(fresh_home)
    after_first = _counts(db)
    assert after_first["audit"] >= 1 and after_first["User"] == 0

    second = _run("init")
    assert second.exit_code == 0, second.output
    assert key.read_bytes() == key_before  # the key is never replaced
    assert _counts(db) == after_first  # nothing written twice
    db.dispose()


def test_demo_twice_creates_then_creates_nothing(fresh_home):
    first = _run("demo")
    assert first.exit_code == 0, first.output
    created = re.search(r"\((\d+) élément\(s\) créé\(s\)\)", first.stdout)
    # 13 organisations (the comité de suivi's, the employer's and the hospital's included),
    # 17 users and the
    # protocols' situations at various stages
    assert created and int(created.group(1)) >= 30
    db = _embedded_db(fresh_home)
    after_first = _counts(db)
    assert after_first["Organisation"] == 13 and after_first["User"] == 17
    assert after_first["Membership"] == 17

    second = _run("demo")
    assert second.exit_code == 0, second.output
    assert "(0 élément(s) créé(s))" in second.stdout
    assert _counts(db) == after_first
    db.dispose()


def _point_cli_at(env, settings: Settings) -> None:
    env.setenv("RELAIS_HOME", str(settings.home))
    env.setenv("RELAIS_DATABASE_URL", settings.database_url)
    env.setenv("RELAIS_MASTER_KEY_FILE", str(settings.master_key_file))


def test_token_create_prints_a_token_usable_on_the_api(env, settings, client):
    _point_cli_at(env, settings)
    result = _run("token", "create", "demo-is", "--name", "intégration")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("rls_") and "\n" not in token
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["username"] == "demo-is"
    other = _run("token", "create", "demo-is").stdout.strip()
    assert other != token


def test_token_create_for_an_unknown_user_exits_2_in_french(env, settings, db):
    _point_cli_at(env, settings)
    with db.unit_of_work() as uow:
        seq = audit.last_seq(uow)
    result = _run("token", "create", "personne")
    assert result.exit_code == 2
    assert "Utilisateur inconnu : personne" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output
    with db.unit_of_work() as uow:
        assert audit.last_seq(uow) == seq


def test_init_on_postgresql_without_a_master_key_exits_2(env, tmp_path):
    home = tmp_path / "home"
    key = tmp_path / "absent" / "master.key"
    env.setenv("RELAIS_HOME", str(home))
    env.setenv("RELAIS_DATABASE_URL", "postgresql://relais@127.0.0.1:1/relais")
    env.setenv("RELAIS_MASTER_KEY_FILE", str(key))
    result = _run("init")
    assert result.exit_code == 2
    assert "Clé maîtresse introuvable" in result.stderr
    assert "RELAIS_MASTER_KEY_FILE" in result.stderr
    assert "Traceback" not in result.output
    assert not key.exists() and not (home / "master.key").exists()


@pytest.mark.parametrize("args", [("token", "create", "demo-is"), ("audit", "verify")])
def test_commands_before_init_exit_2_in_french(fresh_home, args):
    result = _run(*args)
    assert result.exit_code == 2
    assert "non initialisée" in result.stderr and "relais init" in result.stderr
    assert "Traceback" not in result.output
