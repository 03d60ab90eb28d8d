"""`relais keys …` and `relais verify`: exit 0 when valid, 1 with the French reason otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select

from engine.audit.models import AuditEntry
from engine.db import transaction
from engine.documents import envelope
from engine.documents.envelope import ManifestFields, Metadata
from engine.identity import service as identity
from engine.keys import offline
from engine.keys import service as keys
from engine.keys.directory import verify_directory

CONTENT = "Fiche de liaison — « essai » — données fictives.\n".encode()


@pytest.fixture
def cli(cli, pinned_platform_key):
    """The `relais` command, the platform key pinned as a partner would have it."""
    return cli


@pytest.fixture
def sealed(db, tmp_path) -> Path:
    """An envelope from asso-iscg-demo to cd-demo, exported to a file."""
    with transaction(db) as uow:
        sender = identity.get_organisation(uow, "asso-iscg-demo")
        kid, signer = keys.private_signing_key(uow, sender)
        fields = ManifestFields(sender_organisation=sender.slug, purpose="fiche_liaison",
                                data_categories=["coordonnees"], created_at=uow.now(),
                                consent_id="12")
        blob = envelope.seal(CONTENT, Metadata("fiche.txt", "text/plain", "Fiche"), fields,
                             signer, kid, keys.current_encryption_keys(
                                 uow, identity.get_organisation(uow, "cd-demo")))
    path = tmp_path / "fiche.relais"
    path.write_bytes(blob)
    return path


def _private_key_file(db, tmp_path: Path, slug: str) -> Path:
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, slug)
        kid = keys.ensure_organisation_keys(uow, org).encryption.kid
        pem = offline.private_key_pem(keys.private_encryption_key(uow, kid))
        uow.commit()
    path = tmp_path / f"{slug}.pem"
    path.write_bytes(pem)
    return path


def _directory_file(cli, tmp_path: Path, slug: str) -> Path:
    result = cli("keys", "export-public", slug)
    assert result.exit_code == 0, result.output
    path = tmp_path / f"{slug}.json"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def test_export_public_prints_a_signed_directory(cli):
    result = cli("keys", "export-public", "cd-demo")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert verify_directory(doc)
    assert doc["organisation"]["slug"] == "cd-demo"
    assert {k["usage"] for k in doc["keys"]} == {"encrypt", "sign"}


def test_unknown_organisation_exits_2_in_french(cli):
    for args in (("keys", "export-public", "inconnue"), ("keys", "rotate", "inconnue")):
        result = cli(*args)
        assert result.exit_code == 2
        assert "Organisation inconnue" in result.output


def test_rotate_creates_new_keys_and_audits(cli, db):
    with transaction(db) as uow:
        old = keys.ensure_organisation_keys(uow, identity.get_organisation(uow, "cd-demo"))
    result = cli("keys", "rotate", "cd-demo")
    assert result.exit_code == 0, result.output
    assert "renouvelées" in result.output
    with db.unit_of_work() as uow:
        new = keys.ensure_organisation_keys(uow, identity.get_organisation(uow, "cd-demo"))
        assert new.encryption.kid != old.encryption.kid
        assert new.encryption.kid in result.output and new.signing.kid in result.output
        assert uow.session.scalars(select(AuditEntry)
                                   .where(AuditEntry.action == "keys.rotated")).first()


def test_verify_against_an_exported_directory_and_against_the_database(cli, sealed, tmp_path):
    directory = _directory_file(cli, tmp_path, "asso-iscg-demo")
    offline_run = cli("verify", sealed, "--directory", directory)
    assert offline_run.exit_code == 0, offline_run.output
    assert "Enveloppe valide" in offline_run.output
    assert "asso-iscg-demo" in offline_run.output and "cd-demo" in offline_run.output
    embedded = cli("verify", sealed)
    assert embedded.exit_code == 0, embedded.output


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "altéré"),
    (lambda b: b[: len(b) // 2], "tronqué"),
    (lambda b: b + b"\x00", "octets suivent"),
    (lambda b: b"%PDF-1.7" + b, "pas une enveloppe Relais"),
])
def test_verify_a_damaged_file_exits_1_with_the_reason(cli, sealed, tmp_path, damage, reason):
    directory = _directory_file(cli, tmp_path, "asso-iscg-demo")
    sealed.write_bytes(damage(sealed.read_bytes()))
    for args in (("--directory", directory), ()):
        result = cli("verify", sealed, *args)
        assert result.exit_code == 1, result.output
        assert "enveloppe invalide" in result.output and reason in result.output


def test_verify_with_a_tampered_or_wrong_directory_exits_1(cli, sealed, tmp_path):
    directory = _directory_file(cli, tmp_path, "asso-iscg-demo")
    doc = json.loads(directory.read_text(encoding="utf-8"))
    doc["organisation"]["name"] = "Usurpateur"
    directory.write_text(json.dumps(doc), encoding="utf-8")
    result = cli("verify", sealed, "--directory", directory)
    assert result.exit_code == 1
    assert "Annuaire de clés" in result.output
    other = _directory_file(cli, tmp_path, "cd-demo")
    result = cli("verify", sealed, "--directory", other)
    assert result.exit_code == 1
    assert "Clé de signature inconnue" in result.output


def test_verify_decrypts_with_the_recipient_private_key(cli, db, sealed, tmp_path):
    key = _private_key_file(db, tmp_path, "cd-demo")
    directory = _directory_file(cli, tmp_path, "asso-iscg-demo")
    to_stdout = cli("verify", sealed, "--private-key", key, "--directory", directory)
    assert to_stdout.exit_code == 0, to_stdout.output
    assert to_stdout.stdout_bytes == CONTENT
    assert "Enveloppe valide" in to_stdout.stderr
    out = tmp_path / "fiche.txt"
    to_file = cli("verify", sealed, "--private-key", key, "--output", out)
    assert to_file.exit_code == 0, to_file.output
    assert out.read_bytes() == CONTENT


def test_verify_with_another_organisations_key_exits_1(cli, db, sealed, tmp_path):
    key = _private_key_file(db, tmp_path, "commissariat-demo")
    result = cli("verify", sealed, "--private-key", key)
    assert result.exit_code == 1
    assert "n'est pas adressée" in result.output
    assert result.stdout_bytes == b""


def test_verify_refuses_a_key_file_that_is_not_x25519_pem(cli, sealed, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("pas une clé")
    result = cli("verify", sealed, "--private-key", bad)
    assert result.exit_code == 2
    assert "PEM PKCS#8" in result.output


def test_recovery_key_registered_from_pem_opens_with_verify(cli, db, tmp_path):
    offline_key = X25519PrivateKey.generate()
    public_pem = tmp_path / "recouvrement.pub.pem"
    public_pem.write_bytes(offline_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    private_pem = tmp_path / "recouvrement.pem"
    private_pem.write_bytes(offline.private_key_pem(offline_key))
    registered = cli("keys", "register-recovery", "cd-demo", public_pem)
    assert registered.exit_code == 0, registered.output
    with transaction(db) as uow:
        sender = identity.get_organisation(uow, "cmp-demo")
        kid, signer = keys.private_signing_key(uow, sender)
        fields = ManifestFields(sender_organisation=sender.slug, purpose="bilan",
                                data_categories=["sante"], created_at=uow.now(),
                                legal_basis="CSP L.1110-4")
        blob = envelope.seal(b"bilan", Metadata("bilan.txt", "text/plain"), fields, signer, kid,
                             keys.current_encryption_keys(
                                 uow, identity.get_organisation(uow, "cd-demo")))
    path = tmp_path / "bilan.relais"
    path.write_bytes(blob)
    directory = _directory_file(cli, tmp_path, "cmp-demo")
    result = cli("verify", path, "--private-key", private_pem, "--directory", directory)
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b"bilan"
    assert "recouvrement" in result.stderr
    not_a_key = cli("keys", "register-recovery", "cd-demo", private_pem)
    assert not_a_key.exit_code == 2
