"""The audit log's checkpoints are believed only when signed by a key pinned outside the
database: rewriting the log and re-signing it with a key inserted in the database fails."""

from __future__ import annotations

import stat

from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text

from engine.audit import pin
from engine.audit import service as audit
from engine.audit.models import AuditCheckpoint, AuditEntry
from engine.cli import main
from engine.keys import service as keys

RAW = serialization.Encoding.Raw


def _cli(settings, monkeypatch, *args: str, env: dict[str, str] | None = None):
    monkeypatch.setenv("RELAIS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RELAIS_MASTER_KEY_FILE", str(settings.master_key_file))
    monkeypatch.setenv("RELAIS_HOME", str(settings.home))
    monkeypatch.delenv(pin.ENV, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(main, ["audit", "verify", *args])


def _privileged(db):
    """A connection of an attacker who can write anything, triggers included."""
    conn = db.engine.connect()
    if db.dialect == "postgresql":
        conn.execute(text("SET session_replication_role = replica"))
    return conn


def _rewrite_and_resign(db, seq: int) -> str:
    """Edit row `seq`, recompute the chain after it, insert an Ed25519 key into the database
    and re-sign every checkpoint with it. Returns the forged key's fingerprint."""
    attacker = Ed25519PrivateKey.generate()
    public = attacker.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)
    kid = "platform-sign-" + keys.fingerprint(public)[:16]
    with db.unit_of_work() as uow:
        entries = list(uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        checkpoints = list(uow.session.scalars(select(AuditCheckpoint)
                                               .order_by(AuditCheckpoint.id)))
        prev = audit.GENESIS
        for entry in entries:
            if entry.seq == seq:
                entry.action = "identity.nothing_happened"
            if entry.seq >= seq:
                entry.prev_hash, entry.hash = prev, audit.entry_hash(prev, entry)
            prev = entry.hash
        hashes, prev_cp, forged = {e.seq: e.hash for e in entries}, audit.GENESIS, []
        for cp in checkpoints:  # re-sign the chain of checkpoints too
            cp.hash, cp.kid = hashes[cp.seq], kid
            cp.prev_hash = prev_cp if cp.number is not None else None
            cp.signature = attacker.sign(audit.checkpoint_message(audit.signed_fields(cp)))
            prev_cp = audit.checkpoint_hash(cp)
            forged.append({"id": cp.id, "hash": cp.hash, "kid": kid, "prev": cp.prev_hash,
                           "signature": cp.signature})
        rows = [{"seq": e.seq, "action": e.action, "prev_hash": e.prev_hash, "hash": e.hash}
                for e in entries if e.seq >= seq]
        created_at = uow.now()
    with _privileged(db) as conn:
        conn.execute(text("UPDATE audit_entry SET action = :action, prev_hash = :prev_hash, "
                          "hash = :hash WHERE seq = :seq"), rows)
        conn.execute(text("INSERT INTO key_pair (kid, owner, usage, algorithm, public_key, "
                          "wrapped_private_key, created_at) VALUES (:kid, 'platform', 'sign', "
                          "'Ed25519', :public, :wrapped, :at)"),
                     {"kid": kid, "public": public, "wrapped": b"\0" * 60,
                      "at": created_at.replace(tzinfo=None)})
        conn.execute(text("UPDATE audit_checkpoint SET hash = :hash, kid = :kid, "
                          "prev_hash = :prev, signature = :signature WHERE id = :id"), forged)
        conn.commit()
    return keys.fingerprint(public)


def test_a_rewritten_log_resigned_with_a_key_inserted_in_the_database_fails(
        db, settings, monkeypatch):
    pinned = pin.read_pins(pin.pin_file(settings.master_key_file))
    before = _cli(settings, monkeypatch)
    assert before.exit_code == 0, before.output
    forged_fp = _rewrite_and_resign(db, 5)
    with db.unit_of_work() as uow:  # the forgery is complete: only the anchor can refuse it
        assert audit.verify(uow, [forged_fp]).ok
    result = _cli(settings, monkeypatch)
    assert result.exit_code == 1, result.output
    assert "Journal intègre" not in result.output
    assert any(fp in result.stdout for fp in pinned)  # the fingerprint it checked against
    assert f"n'est pas la clé de confiance (empreinte {forged_fp})" in result.stderr
    with db.unit_of_work() as uow:  # in process, the master key is the anchor
        assert not audit.verify(uow).ok


def test_trusted_key_option_and_environment_override_the_pin_file(db, settings, monkeypatch):
    with db.unit_of_work() as uow:
        [current] = keys.proven_platform_fingerprints(uow, uow.master)
    other = "ab" * 32
    by_option = _cli(settings, monkeypatch, "--trusted-key", current.upper())
    assert by_option.exit_code == 0, by_option.output
    assert f"Clé de confiance (--trusted-key) : {current}" in by_option.stdout
    wrong = _cli(settings, monkeypatch, "--trusted-key", other)
    assert wrong.exit_code == 1 and "n'est pas la clé de confiance" in wrong.stderr
    by_env = _cli(settings, monkeypatch, env={pin.ENV: other})
    assert by_env.exit_code == 1 and pin.ENV in by_env.stdout
    bad = _cli(settings, monkeypatch, "--trusted-key", "pas-une-empreinte")
    assert bad.exit_code == 2 and "Empreinte de clé invalide" in bad.stderr


def test_without_any_anchor_verify_refuses_instead_of_trusting_the_database(
        db, settings, monkeypatch, tmp_path):
    monkeypatch.setenv("RELAIS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RELAIS_MASTER_KEY_FILE", str(tmp_path / "elsewhere" / "master.key"))
    monkeypatch.delenv(pin.ENV, raising=False)
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 2
    assert "aucune empreinte de confiance" in result.stderr and "Journal" not in result.output


def test_init_pins_the_platform_key_beside_the_master_key(monkeypatch, tmp_path):
    home = tmp_path / "home"
    for name in ("RELAIS_DATABASE_URL", "RELAIS_MASTER_KEY_FILE", pin.ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RELAIS_HOME", str(home))
    first = CliRunner().invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    path = pin.pin_file(home / "master.key")
    [fingerprint] = pin.read_pins(path)
    assert fingerprint in first.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    assert pin.read_pins(path) == [fingerprint]  # fixed: a second init changes nothing
    assert CliRunner().invoke(main, ["audit", "verify"]).exit_code == 0
