"""Organisation keys on a real database: wrapped at rest, rotation, recovery, signed directory."""

from __future__ import annotations

import base64
import copy
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import create_engine, select

from engine.audit import service as audit
from engine.audit.models import AuditEntry
from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.documents import envelope
from engine.documents.envelope import EnvelopeInvalid, ManifestFields, Metadata
from engine.errors import Conflict
from engine.identity import service as identity
from engine.keys import service as keys
from engine.keys.directory import directory_lookup, kid_for, verify_directory
from engine.keys.errors import KeyExpired, KeyNotFound, KeyRejected
from engine.keys.models import KeyPair
from engine.schema import metadata

META = Metadata("note.txt", "text/plain", "Note")


def _org(uow, slug: str = "cd-demo"):
    return identity.get_organisation(uow, slug)


def _seal(uow, sender_slug: str, recipient_slug: str, content: bytes) -> bytes:
    sender, recipient = _org(uow, sender_slug), _org(uow, recipient_slug)
    kid, signer = keys.private_signing_key(uow, sender)
    fields = ManifestFields(sender_organisation=sender.slug, purpose="test_routage",
                            data_categories=["test"], created_at=uow.now(),
                            legal_basis="test")
    return envelope.seal(content, META, fields, signer, kid,
                         keys.current_encryption_keys(uow, recipient))


def _open(uow, blob: bytes, kid: str) -> bytes:
    return envelope.open(blob, kid, keys.private_encryption_key(uow, kid),
                         public_key_lookup=keys.public_key_lookup(uow))[1]


def _audit_rows(uow, action: str) -> list[AuditEntry]:
    return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                    .order_by(AuditEntry.seq)))


def _every_stored_value(url: str):
    """Every value of every table, read back through a separate connection."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for table in metadata().sorted_tables:
                for row in conn.execute(select(table)):
                    yield from row
    finally:
        engine.dispose()


def test_organisation_keys_are_created_once_wrapped_and_audited(db, settings):
    with transaction(db) as uow:
        # A new organisation: the demo territory's already have their keys.
        org = identity.create_organisation(uow, SYSTEM, slug="sans-cles-essai",
                                           name="Organisation sans clés (essai)",
                                           kind="association")
        first = keys.ensure_organisation_keys(uow, org)
        again = keys.ensure_organisation_keys(uow, org)
        assert (first.encryption.kid, first.signing.kid) == (again.encryption.kid,
                                                               again.signing.kid)
        assert (first.encryption.algorithm, first.signing.algorithm) == ("X25519", "Ed25519")
        assert first.encryption.kid == kid_for("X25519", first.encryption.public_key)
        created = [row for row in _audit_rows(uow, "keys.organisation_keys_created")
                   if row.subject_id == str(org.id)]
        assert len(created) == 1
        assert json.loads(created[0].details)["kids"] == [first.encryption.kid,
                                                          first.signing.kid]
        secrets = [keys.private_encryption_key(uow, first.encryption.kid).private_bytes_raw(),
                   keys.private_signing_key(uow, org)[1].private_bytes_raw()]
    for value in _every_stored_value(settings.database_url):
        if isinstance(value, bytes | memoryview):
            assert not any(secret in bytes(value) for secret in secrets)
        elif isinstance(value, str):
            assert not any(secret.hex() in value or base64.b64encode(secret).decode() in value
                           for secret in secrets)
    if settings.database_url.startswith("sqlite"):
        files = [settings.home / "relais.db", settings.home / "relais.db-wal"]
        stored = b"".join(f.read_bytes() for f in files if f.exists())
        assert stored and not any(secret in stored for secret in secrets)


def test_a_sealed_document_opens_for_the_recipient_only(db):
    with transaction(db) as uow:
        blob = _seal(uow, "asso-iscg-demo", "cd-demo", b"contenu")
        cd = keys.ensure_organisation_keys(uow, _org(uow, "cd-demo"))
        assert _open(uow, blob, cd.encryption.kid) == b"contenu"
        police = keys.ensure_organisation_keys(uow, _org(uow, "commissariat-demo"))
        with pytest.raises(EnvelopeInvalid) as exc:
            _open(uow, blob, police.encryption.kid)
        assert exc.value.code == "not_a_recipient"


def test_rotation_keeps_older_envelopes_openable_and_verifiable(db, clock):
    with transaction(db) as uow:
        old_blob = _seal(uow, "asso-iscg-demo", "cd-demo", b"avant")
        old = keys.ensure_organisation_keys(uow, _org(uow, "cd-demo"))
        old_sender = keys.ensure_organisation_keys(uow, _org(uow, "asso-iscg-demo")).signing.kid
    clock.advance(minutes=5)
    with transaction(db) as uow:
        new = keys.rotate(uow, SYSTEM, _org(uow, "cd-demo"))
        keys.rotate(uow, SYSTEM, _org(uow, "asso-iscg-demo"))
    clock.advance(minutes=5)
    with transaction(db) as uow:
        assert new.encryption.kid != old.encryption.kid and new.signing.kid != old.signing.kid
        assert uow.session.get(KeyPair, old.encryption.id).retired_at is not None
        # The older envelope: retired recipient key still opens it, retired sender key verifies.
        assert _open(uow, old_blob, old.encryption.kid) == b"avant"
        assert envelope.inspect(old_blob).manifest.sender_kid == old_sender
        # New envelopes go to the new key only, signed with the new sender key.
        new_blob = _seal(uow, "asso-iscg-demo", "cd-demo", b"apres")
        manifest = envelope.inspect(new_blob).manifest
        assert [r.kid for r in manifest.recipients] == [new.encryption.kid]
        assert manifest.sender_kid != old_sender
        assert _open(uow, new_blob, new.encryption.kid) == b"apres"
        rotated = _audit_rows(uow, "keys.rotated")
        details = json.loads(rotated[0].details)
        assert details["retired"] == [old.encryption.kid, old.signing.kid]
        assert details["created"] == [new.encryption.kid, new.signing.kid]
        assert audit.verify(uow).ok


def test_a_signature_dated_after_its_key_was_retired_is_refused(db, clock):
    with transaction(db) as uow:
        sender = _org(uow, "asso-iscg-demo")
        kid, signer = keys.private_signing_key(uow, sender)
        keys.rotate(uow, SYSTEM, sender)
    clock.advance(hours=1)
    with transaction(db) as uow:  # someone still holding the retired key signs today
        fields = ManifestFields(sender_organisation="asso-iscg-demo", purpose="test",
                                data_categories=["test"], created_at=uow.now(),
                                legal_basis="test")
        blob = envelope.seal(b"x", META, fields, signer, kid,
                             keys.current_encryption_keys(uow, _org(uow)))
        with pytest.raises(EnvelopeInvalid) as exc:
            envelope.verify_signature(envelope.inspect(blob), keys.public_key_lookup(uow))
        assert exc.value.code == "key_not_valid"


def test_a_rotation_rolled_back_changes_nothing(db):
    with transaction(db) as uow:
        before = keys.ensure_organisation_keys(uow, _org(uow)).encryption.kid
    with db.unit_of_work() as uow:
        keys.rotate(uow, SYSTEM, _org(uow))
        uow.rollback()
    with db.unit_of_work() as uow:
        assert keys.ensure_organisation_keys(uow, _org(uow)).encryption.kid == before
        assert _audit_rows(uow, "keys.rotated") == []


def test_the_recovery_key_gets_its_own_wrapped_key_and_opens_alone(db):
    offline = X25519PrivateKey.generate()  # stays with the organisation, never given to Relais
    public = offline.public_key().public_bytes_raw()
    with transaction(db) as uow:
        cmp = _org(uow, "cmp-demo")
        pair = keys.register_recovery_key(uow, SYSTEM, cmp, public)
        assert pair.wrapped_private_key is None and pair.usage == "recovery"
        assert keys.register_recovery_key(uow, SYSTEM, cmp, public).kid == pair.kid
        usages = [(r.kid, r.usage) for r in keys.current_encryption_keys(uow, cmp)]
        assert usages[1] == (pair.kid, "recovery") and usages[0][1] == "encrypt"
        blob = _seal(uow, "asso-iscg-demo", "cmp-demo", b"recouvrable")
        rows = _audit_rows(uow, "keys.recovery_key_registered")
        assert len(rows) == 1 and json.loads(rows[0].details)["kid"] == pair.kid
        with pytest.raises(KeyNotFound):
            keys.private_encryption_key(uow, pair.kid)
    assert envelope.open(blob, pair.kid, offline, public_key_lookup=None) == (META, b"recouvrable")


def test_a_new_recovery_key_retires_the_previous_one(db):
    with transaction(db) as uow:
        cmp = _org(uow, "cmp-demo")
        first = keys.register_recovery_key(uow, SYSTEM, cmp,
                                           X25519PrivateKey.generate().public_key()
                                           .public_bytes_raw())
        second = keys.register_recovery_key(uow, SYSTEM, cmp,
                                            X25519PrivateKey.generate().public_key()
                                            .public_bytes_raw())
        assert first.retired_at is not None and second.retired_at is None
        assert [r.kid for r in keys.current_encryption_keys(uow, cmp)][1:] == [second.kid]
        with pytest.raises(Conflict):  # a retired key, or another organisation's, is refused
            keys.register_recovery_key(uow, SYSTEM, _org(uow, "cd-demo"), first.public_key)


@pytest.mark.parametrize("raw", [b"\x00" * 32, b"\x01" + b"\x00" * 31, b"short"])
def test_unusable_recovery_keys_are_refused(db, raw):
    with db.unit_of_work() as uow, pytest.raises(KeyRejected):
        keys.register_recovery_key(uow, SYSTEM, _org(uow, "cmp-demo"), raw)


def test_unknown_key_ids_are_refused(db):
    with db.unit_of_work() as uow:
        with pytest.raises(KeyNotFound) as exc:
            keys.private_encryption_key(uow, "x25519-00000000000000000000000000000000")
        assert exc.value.code == "unknown_key"
        assert keys.public_key_lookup(uow)("ed25519-inconnue") is None


def test_an_expired_key_must_be_rotated_before_sealing(db, clock):
    with transaction(db) as uow:
        keys.rotate(uow, SYSTEM, _org(uow), not_after=clock.now() + timedelta(days=1))
    clock.advance(days=2)
    with db.unit_of_work() as uow:
        with pytest.raises(KeyExpired) as exc:
            keys.current_encryption_keys(uow, _org(uow))
        assert "relais keys rotate cd-demo" in exc.value.message
        with pytest.raises(KeyExpired):
            keys.private_signing_key(uow, _org(uow))


def test_the_exported_directory_is_signed_and_lists_every_key(db, clock):
    with transaction(db) as uow:
        old = keys.ensure_organisation_keys(uow, _org(uow))
        clock.advance(minutes=1)
        keys.rotate(uow, SYSTEM, _org(uow))
        doc = keys.export_public(uow, _org(uow))
    assert verify_directory(doc)
    assert keys.verify_directory is verify_directory
    assert doc["organisation"]["slug"] == "cd-demo"
    by_kid = {k["kid"]: k for k in doc["keys"]}
    assert by_kid[old.encryption.kid]["retired_at"] is not None
    assert {(k["usage"], k["algorithm"]) for k in doc["keys"]} == {("encrypt", "X25519"),
                                                                  ("sign", "Ed25519")}
    assert len(doc["keys"]) == 4
    assert verify_directory(doc, [doc["platform_key"]["fingerprint_sha256"]])
    assert not verify_directory(doc, ["0" * 64])  # pinned to another platform key
    assert json.loads(json.dumps(doc)) == doc  # plain JSON


@pytest.mark.parametrize("tamper", [
    lambda d: d["organisation"].update(name="Autre"),
    lambda d: d["keys"][0].update(retired_at="2030-01-01T00:00:00Z"),
    lambda d: d["keys"][0].update(public_key=base64.b64encode(b"\x01" * 32).decode()),
    lambda d: d["keys"].append(dict(d["keys"][0], kid="x25519-" + "0" * 32)),
    lambda d: d.pop("signature"),
    lambda d: d["platform_key"].update(public_key=base64.b64encode(b"\x02" * 32).decode()),
])
def test_a_tampered_directory_fails(db, tamper):
    with transaction(db) as uow:
        doc = keys.export_public(uow, _org(uow))
    bad = copy.deepcopy(doc)
    tamper(bad)
    assert not verify_directory(bad)
    with pytest.raises(ValueError):
        directory_lookup([bad])


def test_a_directory_verifies_envelopes_offline(db):
    with transaction(db) as uow:
        blob = _seal(uow, "asso-iscg-demo", "cd-demo", b"hors ligne")
        doc = keys.export_public(uow, _org(uow, "asso-iscg-demo"))
        other = keys.export_public(uow, _org(uow, "cd-demo"))
    signer = envelope.verify_signature(envelope.inspect(blob), directory_lookup([doc]))
    assert signer.organisation == "asso-iscg-demo"
    with pytest.raises(EnvelopeInvalid) as exc:  # only the recipient's directory at hand
        envelope.verify_signature(envelope.inspect(blob), directory_lookup([other]))
    assert exc.value.code == "unknown_key"
