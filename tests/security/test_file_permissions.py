"""Files at rest belong to the Relais account alone: RELAIS_HOME 0700, the database and its
journal files, the session secret, the master key and decrypted documents 0600; a master
key that others may read is refused, in French, by the web app and by the CLI."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.config import Settings
from engine.errors import ConfigurationError
from engine.keys.master import FileMasterKey
from engine.platform import connect, initialise, protect_sqlite_files, write_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual 022 umask: files created without care would be world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _embedded(home: Path) -> Settings:
    return Settings.from_env({"RELAIS_HOME": str(home), "RELAIS_SECRET_KEY": ""})


def test_init_creates_a_private_home_database_and_keys(tmp_path, loose_umask):
    settings = _embedded(tmp_path / "relais" / "var")
    db = initialise(settings)
    db.dispose()
    settings.session_secret()
    assert _mode(settings.home) == 0o700
    for name in ("relais.db", "master.key", "secret.key"):
        assert _mode(settings.home / name) == 0o600, name


def test_sqlite_journal_files_inherit_the_private_mode(tmp_path, loose_umask):
    path = tmp_path / "home" / "relais.db"
    protect_sqlite_files(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # as the engine does: WAL journal
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
        for suffix in ("-wal", "-shm"):
            journal = Path(f"{path}{suffix}")
            assert journal.exists() and _mode(journal) == 0o600, suffix
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700


def test_an_existing_world_readable_database_is_tightened(tmp_path, loose_umask):
    path = tmp_path / "relais.db"
    path.write_bytes(b"")
    os.chmod(path, 0o644)
    protect_sqlite_files(f"sqlite:///{path}")
    assert _mode(path) == 0o600


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_master_key_others_may_read_is_refused(tmp_path, mode):
    settings = _embedded(tmp_path)
    FileMasterKey.create(settings.master_key_file)
    os.chmod(settings.master_key_file, mode)
    with pytest.raises(ConfigurationError, match="chmod 600") as refused:
        connect(settings)
    assert "lisible par d'autres comptes" in refused.value.message


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_master_key_is_accepted(tmp_path, mode):
    settings = _embedded(tmp_path)
    FileMasterKey.create(settings.master_key_file)
    os.chmod(settings.master_key_file, mode)
    db = connect(settings)
    assert db.master is not None
    db.dispose()


def test_the_cli_refuses_a_readable_master_key_in_french(tmp_path, monkeypatch):
    settings = _embedded(tmp_path)
    FileMasterKey.create(settings.master_key_file)
    os.chmod(settings.master_key_file, 0o644)
    monkeypatch.setenv("RELAIS_HOME", str(tmp_path))
    monkeypatch.delenv("RELAIS_DATABASE_URL", raising=False)
    monkeypatch.delenv("RELAIS_MASTER_KEY_FILE", raising=False)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2
    assert "Erreur : La clé maîtresse" in result.output and "chmod 600" in result.output
    assert "Traceback" not in result.output


def test_decrypted_documents_are_written_private_even_over_a_readable_file(tmp_path,
                                                                          loose_umask):
    out = tmp_path / "document.docx"
    out.write_bytes(b"ancien")
    os.chmod(out, 0o644)
    write_private(out, b"contenu")
    assert out.read_bytes() == b"contenu" and _mode(out) == 0o600
    fresh = tmp_path / "nouveau.docx"
    write_private(fresh, b"x")
    assert _mode(fresh) == 0o600
