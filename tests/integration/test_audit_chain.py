"""The audit log is a hash chain with signed checkpoints; tampering is found and located."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine import events
from engine.audit import service as audit
from engine.audit.service import SYSTEM
from engine.cli import main
from engine.db import transaction
from engine.errors import RelaisError
from engine.jobs.runner import Jobs
from engine.platform import initialise


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


# --- the chain of checkpoints, the uncovered tail, witnesses --------------------------------

def _append_rows(db, n: int) -> None:
    with transaction(db) as uow:
        for i in range(n):
            audit.append(uow, SYSTEM, "test.appended", index=i)


def _take_checkpoint(db):
    with transaction(db) as uow:
        return audit.checkpoint(uow)


def test_checkpoints_carry_their_number_and_the_previous_checkpoints_hash(db):
    first = _take_checkpoint(db)
    _append_rows(db, 2)
    second = _take_checkpoint(db)
    assert second.number == first.number + 1
    assert second.prev_hash == audit.checkpoint_hash(first)
    with db.unit_of_work() as uow:
        assert audit.verify(uow).ok


def test_a_deleted_checkpoint_is_detected(db):
    middle = _take_checkpoint(db)
    _append_rows(db, 1)
    _take_checkpoint(db)
    _tamper(db, f"DELETE FROM audit_checkpoint WHERE id = {middle.id}")
    with db.unit_of_work() as uow:
        result = audit.verify(uow)
    assert not result.ok and f"n° {middle.number} manquant" in result.reason


def test_a_checkpoint_is_published_as_a_domain_event(db):
    with db.unit_of_work() as uow:
        cp = audit.checkpoint(uow)
        [event] = [e for e in uow.pending_events if isinstance(e, events.AuditCheckpointed)]
    assert (event.number, event.seq, event.hash) == (cp.number, cp.seq, cp.hash)


def test_the_scheduler_checkpoints_within_a_minute_while_rows_are_appended(db, clock):
    jobs = Jobs(db, None)
    _take_checkpoint(db)
    jobs._maybe_checkpoint()  # nothing appended: no checkpoint
    _append_rows(db, 3)
    jobs._maybe_checkpoint()  # appended, but the last checkpoint is fresh
    with db.unit_of_work() as uow:
        assert audit.verify(uow).uncovered == 3
        before = audit.newest_checkpoint(uow).number
    clock.advance(seconds=61)
    jobs._maybe_checkpoint()
    jobs._maybe_checkpoint()  # nothing changed since: no second one
    with db.unit_of_work() as uow:
        assert audit.newest_checkpoint(uow).number == before + 1
        result = audit.verify(uow)
    assert result.ok and result.uncovered == 0


def _cli(settings, monkeypatch, *args: str):
    monkeypatch.setenv("RELAIS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RELAIS_MASTER_KEY_FILE", str(settings.master_key_file))
    monkeypatch.setenv("RELAIS_HOME", str(settings.home))
    return CliRunner().invoke(main, list(args))


def test_verify_reports_the_uncovered_tail(db, settings, monkeypatch):
    _take_checkpoint(db)
    _append_rows(db, 4)
    result = _cli(settings, monkeypatch, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "Queue non couverte : 4 ligne(s)" in result.stdout


def test_a_witnessed_checkpoint_reveals_a_cut_tail_with_its_checkpoints(db, settings,
                                                                       monkeypatch, tmp_path):
    kept = _take_checkpoint(db)
    _append_rows(db, 3)
    exported = _cli(settings, monkeypatch, "audit", "checkpoint", "--export")
    assert exported.exit_code == 0, exported.output
    doc = json.loads(exported.stdout)
    assert doc["number"] == kept.number + 1 and doc["prev"] == audit.checkpoint_hash(kept)
    witness = tmp_path / "temoin.json"
    witness.write_text(exported.stdout, encoding="utf-8")
    ok = _cli(settings, monkeypatch, "audit", "verify", "--witness", str(witness))
    assert ok.exit_code == 0, ok.output
    assert "1 témoin(s) retrouvé(s)" in ok.stdout
    # Cut the tail and the checkpoints that covered it: the chain alone still holds...
    _tamper(db, f"DELETE FROM audit_checkpoint WHERE number > {kept.number}")
    _tamper(db, f"DELETE FROM audit_entry WHERE seq > {kept.seq}")
    assert _cli(settings, monkeypatch, "audit", "verify").exit_code == 0
    # ...but not against what the partner kept.
    bad = _cli(settings, monkeypatch, "audit", "verify", "--witness", str(witness))
    assert bad.exit_code == 1
    assert f"la ligne {doc['seq']} attestée par le témoin a disparu" in bad.stderr


def test_a_forged_or_unreadable_witness_is_refused(db, settings, monkeypatch, tmp_path):
    doc = json.loads(_cli(settings, monkeypatch, "audit", "checkpoint", "--export").stdout)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**doc, "seq": doc["seq"] - 1}), encoding="utf-8")
    result = _cli(settings, monkeypatch, "audit", "verify", "--witness", str(forged))
    assert result.exit_code == 1 and "signature du témoin invalide" in result.stderr
    for content in ("pas du json", json.dumps({"type": "autre"})):
        garbage = tmp_path / "garbage.json"
        garbage.write_text(content, encoding="utf-8")
        refused = _cli(settings, monkeypatch, "audit", "verify", "--witness", str(garbage))
        assert refused.exit_code == 2 and "émoin illisible" in refused.stderr


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_init_can_give_the_audit_tables_to_another_postgresql_role(db, settings):
    suffix = uuid.uuid4().hex[:8]
    owner, app = f"relais_audit_owner_{suffix}", f"relais_app_{suffix}"
    with db.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{owner}" NOLOGIN'))
        conn.execute(text(f'CREATE ROLE "{app}" NOLOGIN'))
    try:
        initialise(settings, audit_owner=owner, app_role=app).dispose()
        with db.engine.connect() as conn:
            owners = {row.tablename: row.tableowner for row in conn.execute(text(
                "SELECT tablename, tableowner FROM pg_tables WHERE tablename LIKE 'audit_%'"))}
            assert owners == {"audit_entry": owner, "audit_checkpoint": owner}
            conn.execute(text(f'SET ROLE "{app}"'))
            assert conn.execute(text("SELECT count(*) FROM audit_entry")).scalar() > 0
            assert conn.execute(text(
                "SELECT has_table_privilege('audit_entry', 'INSERT')")).scalar()
            for sql in ("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only",
                        "UPDATE audit_entry SET action = 'x' WHERE seq = 1"):
                with pytest.raises(DBAPIError, match=r"owner|permission|droit|propriétaire"), \
                        conn.begin_nested():
                    conn.execute(text(sql))
            conn.rollback()
        with pytest.raises(RelaisError, match=r"superutilisateur|distinct"):
            initialise(settings, audit_owner=owner, app_role=owner)
    finally:
        with db.engine.begin() as conn:
            for role in (owner, app):
                conn.execute(text(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER'))
                conn.execute(text(f'DROP OWNED BY "{role}"'))
                conn.execute(text(f'DROP ROLE "{role}"'))


def test_audit_owner_is_refused_outside_postgresql_before_anything_is_done(monkeypatch,
                                                                          tmp_path):
    home = tmp_path / "home"
    for name in ("RELAIS_DATABASE_URL", "RELAIS_MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RELAIS_HOME", str(home))
    result = CliRunner().invoke(main, ["init", "--audit-owner", "relais_audit"])
    assert result.exit_code == 2
    assert "ne s'applique qu'à PostgreSQL" in result.stderr
    assert not home.exists()


def test_details_a_caller_changes_after_append_are_hashed_as_appended(db):
    kids = ["x25519-a"]
    with transaction(db) as uow:
        row = audit.append(uow, SYSTEM, "test.mutated", kids=kids)
        kids.append("x25519-b")  # after the append, before the commit writes the row
    assert json.loads(row.details) == {"kids": ["x25519-a"]}
    with db.unit_of_work() as uow:
        assert audit.verify(uow).ok
