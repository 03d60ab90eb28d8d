"""`relais backup` / `relais restore` / `relais check`: a restore into an empty database finds
every situation readable, every envelope verifiable and the audit chain intact; a backup never
holds the master key; tampered backups and non-empty targets are refused."""

from __future__ import annotations

import json
import shutil
import stat
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import backup as backups
from engine.cli import main
from engine.config import Settings
from engine.db import Database
from engine.demo import populate_demo
from engine.keys.master import FileMasterKey


@pytest.fixture
def populated(db: Database) -> Database:
    populate_demo(db)  # situations at every stage, documents sent and acknowledged
    return db


def _empty_target(backend: str, request: pytest.FixtureRequest, tmp_path: Path,
                  master_key_file: Path) -> Settings:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'restored' / 'relais.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"relais_restore_{uuid.uuid4().hex[:10]}"
        url = server.create(name)
        request.addfinalizer(lambda: server.drop(name))
    return Settings.from_env({"RELAIS_HOME": str(tmp_path / "restored"),
                              "RELAIS_DATABASE_URL": url,
                              "RELAIS_MASTER_KEY_FILE": str(master_key_file)})


def test_a_restore_into_an_empty_database_reads_every_situation_and_envelope(
        populated, settings, backend, request, tmp_path, master_key_file):
    before = backups.check(populated)
    assert before.ok, before.problems
    assert before.records > 0 and before.deliveries > 0 and before.audit_entries > 0

    manifest = backups.backup(settings, tmp_path / "backup",
                              master_key_copy=tmp_path / "offline" / "master.key")
    target = _empty_target(backend, request, tmp_path, master_key_file)
    backups.restore(target, tmp_path / "backup")

    restored = Database(target.database_url, master=FileMasterKey.load(master_key_file))
    try:
        after = backups.check(restored)
    finally:
        restored.dispose()
    assert after.ok, after.problems
    assert (after.cases, after.records, after.deliveries, after.audit_entries) == \
        (before.cases, before.records, before.deliveries, before.audit_entries)
    assert manifest["audit_head"]["seq"] == before.audit_entries


def test_a_backup_never_holds_the_master_key_and_its_files_are_private(
        populated, settings, tmp_path, master_key_file):
    folder = tmp_path / "backup"
    backups.backup(settings, folder, master_key_copy=tmp_path / "offline" / "master.key")
    key = master_key_file.read_bytes().strip()
    for path in folder.iterdir():
        assert key not in path.read_bytes(), path.name
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name
    copy = tmp_path / "offline" / "master.key"
    assert copy.read_bytes() == master_key_file.read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600


def test_the_master_key_copy_cannot_be_kept_with_the_backup(settings, tmp_path):
    with pytest.raises(backups.BackupError, match="autre support"):
        backups.backup(settings, tmp_path / "b", master_key_copy=tmp_path / "b" / "master.key")
    assert not (tmp_path / "b").exists()


def test_a_backup_goes_into_a_new_folder_only(settings, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "autre.txt").write_text("x")
    with pytest.raises(backups.BackupError, match="pas vide"):
        backups.backup(settings, tmp_path / "used")


def test_restore_refuses_a_database_that_already_holds_an_installation(settings, tmp_path):
    backups.backup(settings, tmp_path / "backup")
    with pytest.raises(backups.BackupError, match="déjà des tables"):
        backups.restore(settings, tmp_path / "backup")


def test_restore_refuses_a_tampered_backup_before_touching_anything(
        settings, backend, request, tmp_path, master_key_file):
    manifest = backups.backup(settings, tmp_path / "backup")
    dump = tmp_path / "backup" / manifest["database_file"]
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    target = _empty_target(backend, request, tmp_path, master_key_file)
    with pytest.raises(backups.BackupError, match="altéré"):
        backups.restore(target, tmp_path / "backup")
    if backend == "sqlite":
        assert not Path(target.database_url.removeprefix("sqlite:///")).exists()


def test_restore_refuses_a_folder_that_is_not_a_backup(settings, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "manifest.json").write_text(json.dumps({"format": "autre"}))
    with pytest.raises(backups.BackupError, match="pas une sauvegarde"):
        backups.restore(settings, tmp_path / "x")


def test_check_reports_what_does_not_open_with_another_master_key(populated, tmp_path):
    FileMasterKey.create(tmp_path / "other.key")
    other = FileMasterKey.load(tmp_path / "other.key")
    wrong = Database(populated.url, master=other)
    try:
        report = backups.check(wrong)
    finally:
        wrong.dispose()
    assert not report.ok
    assert any("illisible" in p for p in report.problems)


def test_the_cli_backs_up_restores_and_checks(sqlite_template, tmp_path, master_key_file,
                                              monkeypatch):
    """The command line (the same code on both engines: SQLite here)."""
    source = tmp_path / "relais.db"
    shutil.copyfile(sqlite_template, source)
    for name, value in (("RELAIS_HOME", str(tmp_path)),
                        ("RELAIS_DATABASE_URL", f"sqlite:///{source}"),
                        ("RELAIS_MASTER_KEY_FILE", str(master_key_file))):
        monkeypatch.setenv(name, value)
    done = CliRunner().invoke(main, ["backup", str(tmp_path / "bk")])
    assert done.exit_code == 0, done.output
    assert "hors ligne" in done.output
    monkeypatch.setenv("RELAIS_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    restored = CliRunner().invoke(main, ["restore", str(tmp_path / "bk")])
    assert restored.exit_code == 0, restored.output
    assert "journal" in restored.output and "Problème" not in restored.output
    again = CliRunner().invoke(main, ["restore", str(tmp_path / "bk")])
    assert again.exit_code == 2 and "déjà des tables" in again.output
