"""The audit log is a hash chain with signed checkpoints; tampering is found and located."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine.audit import service as audit
from engine.audit.service import SYSTEM
from engine.cli import main
from engine.db import transaction


def test_demo_database_verifies(db):
    with db.unit_of_work() as uow:
        result = audit.verify(uow)
    assert result.ok, result.reason
    assert result.entries > 10 and result.checkpoints >= 1


def test_append_is_part_of_the_callers_transaction(db):
    with db.unit_of_work() as uow:
        before = audit.last_seq(uow)
        audit.append(uow, SYSTEM, "test.rolled_back")
        uow.rollback()
    with db.unit_of_work() as uow:
        assert audit.last_seq(uow) == before


def _tamper(db, sql: str) -> None:
    """Edit the log as a privileged attacker would, bypassing the append-only trigger."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text(sql))


def _cli_verify(settings, monkeypatch):
    monkeypatch.setenv("RELAIS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RELAIS_MASTER_KEY_FILE", str(settings.master_key_file))
    monkeypatch.setenv("RELAIS_HOME", str(settings.home))
    return CliRunner().invoke(main, ["audit", "verify"])


def test_cli_verify_passes_then_names_the_edited_row(db, settings, monkeypatch):
    ok = _cli_verify(settings, monkeypatch)
    assert ok.exit_code == 0, ok.output
    assert "intègre" in ok.output
    _tamper(db, "UPDATE audit_entry SET action = 'identity.nothing' WHERE seq = 5")
    bad = _cli_verify(settings, monkeypatch)
    assert bad.exit_code == 1
    assert "ligne 5" in bad.output


def test_deleted_row_is_located(db):
    _tamper(db, "DELETE FROM audit_entry WHERE seq = 3")
    with db.unit_of_work() as uow:
        result = audit.verify(uow)
    assert not result.ok and result.first_bad_seq == 3


def test_inserted_row_is_located(db):
    with db.unit_of_work() as uow:
        last = audit.last_seq(uow)
    _tamper(db, "UPDATE audit_entry SET seq = seq + 1000 WHERE seq >= 4")  # make room
    _tamper(db, "INSERT INTO audit_entry (seq, at, actor_label, action, details, prev_hash, hash) "
                "SELECT 4, at, actor_label, 'forged', details, hash, hash FROM audit_entry "
                "WHERE seq = 3")
    _tamper(db, "UPDATE audit_entry SET seq = seq - 999 WHERE seq >= 1004")
    with db.unit_of_work() as uow:
        result = audit.verify(uow)
        assert audit.last_seq(uow) == last + 1
    assert not result.ok and result.first_bad_seq == 4


def test_truncated_tail_is_detected_by_the_signed_checkpoint(db):
    with db.unit_of_work() as uow:
        last = audit.last_seq(uow)
    _tamper(db, f"DELETE FROM audit_entry WHERE seq = {last}")
    with db.unit_of_work() as uow:
        result = audit.verify(uow)
    assert not result.ok
    assert "tronqué" in result.reason or "point de contrôle" in result.reason


def test_forged_checkpoint_signature_is_refused(db):
    _tamper(db, "UPDATE audit_checkpoint SET hash = 'ff' || substr(hash, 3)")
    with db.unit_of_work() as uow:
        result = audit.verify(uow)
    assert not result.ok and "signature" in result.reason


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_refuses_update_and_delete_on_the_log(db):
    for sql in ("UPDATE audit_entry SET action = 'x' WHERE seq = 1",
                "DELETE FROM audit_entry WHERE seq = 1",
                "TRUNCATE audit_entry"):
        with pytest.raises(DBAPIError, match="ajout seul"), db.engine.begin() as conn:
            conn.execute(text(sql))
    with transaction(db) as uow:  # appending still works
        audit.append(uow, SYSTEM, "test.appended")
    with db.unit_of_work() as uow:
        assert audit.verify(uow).ok
