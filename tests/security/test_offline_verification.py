"""`relais verify` offline: a directory proves nothing unless its platform key is pinned, the
wrapped keys are checked against the signed recipients even without a private key, and a
decrypted document is written for its owner only.

The attacker controls the files handed to the verifier (envelope and directory) but not the
platform key fingerprint the verifier obtained out of band.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine.db import transaction
from engine.documents import envelope
from engine.documents.envelope import ManifestFields, Metadata
from engine.identity import service as identity
from engine.keys import directory, offline
from engine.keys import service as keys

CONTENT = "Fiche de liaison — données fictives.\n".encode()
SENDER = "asso-iscg-demo"

# Offline verification reads files, not the database: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _raw(key) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _recipients(uow, *slugs: str) -> list[envelope.Recipient]:
    return [r for slug in slugs
            for r in keys.current_encryption_keys(uow, identity.get_organisation(uow, slug))]


def _seal(uow, signer, kid: str, recipients: list[envelope.Recipient]) -> bytes:
    fields = ManifestFields(sender_organisation=SENDER, purpose="fiche_liaison",
                            data_categories=["coordonnees"], created_at=uow.now(),
                            consent_id="12")
    return envelope.seal(CONTENT, Metadata("fiche.txt", "text/plain", "Fiche"), fields,
                         signer, kid, recipients)


def _forged_directory(org_key: Ed25519PrivateKey, platform: Ed25519PrivateKey) -> dict:
    """A directory naming `org_key` as SENDER's signing key, signed by the forger's own
    platform key, which it embeds: internally consistent, so it verifies on its own."""
    raw, platform_raw = _raw(org_key.public_key()), _raw(platform.public_key())
    doc = {"type": directory.DIRECTORY_TYPE, "version": directory.DIRECTORY_VERSION,
           "organisation": {"slug": SENDER, "name": "Contrefaçon"},
           "issued_at": "2026-01-01T00:00:00Z",
           "keys": [{"kid": directory.kid_for("Ed25519", raw), "algorithm": "Ed25519",
                     "usage": "sign", "public_key": base64.b64encode(raw).decode("ascii"),
                     "fingerprint_sha256": directory.fingerprint(raw),
                     "created_at": "2020-01-01T00:00:00Z", "retired_at": None,
                     "not_after": None}],
           "platform_key": {"kid": "platform-sign-forged", "algorithm": "Ed25519",
                            "public_key": base64.b64encode(platform_raw).decode("ascii"),
                            "fingerprint_sha256": directory.fingerprint(platform_raw)}}
    doc["signature"] = base64.b64encode(platform.sign(directory.signed_bytes(doc))).decode()
    return doc


@pytest.fixture
def forged(db, tmp_path) -> tuple[Path, Path, str]:
    """(envelope, directory, forger's platform fingerprint): a document « from » SENDER
    signed by a key the forger made, with a directory vouching for it."""
    org_key, platform = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    doc = _forged_directory(org_key, platform)
    with transaction(db) as uow:
        blob = _seal(uow, org_key, doc["keys"][0]["kid"], _recipients(uow, "cd-demo"))
    sealed, forged_dir = tmp_path / "forged.relais", tmp_path / "forged.json"
    sealed.write_bytes(blob)
    forged_dir.write_text(json.dumps(doc), encoding="utf-8")
    return sealed, forged_dir, doc["platform_key"]["fingerprint_sha256"]


@pytest.fixture
def genuine(db, cli, tmp_path) -> tuple[Path, Path]:
    """(envelope, directory) really from SENDER, for cd-demo and asso-victimes-demo."""
    with transaction(db) as uow:
        kid, signer = keys.private_signing_key(uow, identity.get_organisation(uow, SENDER))
        blob = _seal(uow, signer, kid, _recipients(uow, "cd-demo", "asso-victimes-demo"))
    sealed, exported = tmp_path / "fiche.relais", tmp_path / "annuaire.json"
    sealed.write_bytes(blob)
    result = cli("keys", "export-public", SENDER)
    assert result.exit_code == 0, result.output
    exported.write_text(result.stdout, encoding="utf-8")
    return sealed, exported


def test_a_forged_directory_is_refused_without_a_pinned_platform_key(cli, forged):
    sealed, forged_dir, _ = forged
    result = cli("verify", sealed, "--directory", forged_dir)
    assert result.exit_code == 2, result.output
    assert "--platform-key" in result.output and "Enveloppe valide" not in result.output


def test_a_forged_directory_fails_against_the_pinned_platform_key(cli, forged,
                                                                  platform_fingerprint):
    sealed, forged_dir, forger = forged
    result = cli("verify", sealed, "--directory", forged_dir, "--platform-key",
                 platform_fingerprint)
    assert result.exit_code == 1, result.output
    assert "non épinglée" in result.output and forger in result.output
    assert "Enveloppe valide" not in result.output


def test_the_pinned_file_of_the_environment_refuses_a_forged_directory(
        cli, forged, platform_fingerprint, tmp_path, monkeypatch):
    sealed, forged_dir, _ = forged
    pins = tmp_path / "plateforme.empreinte"
    pins.write_text(f"# clé de la plateforme, lue lors de la convention\n{platform_fingerprint}\n")
    monkeypatch.setenv("RELAIS_PLATFORM_KEY_FILE", str(pins))
    assert cli("verify", sealed, "--directory", forged_dir).exit_code == 1


def test_trusting_the_embedded_key_must_be_asked_and_prints_its_fingerprint(cli, forged):
    sealed, forged_dir, forger = forged
    result = cli("verify", sealed, "--directory", forged_dir, "--trust-directory-key")
    assert result.exit_code == 0, result.output
    assert "NON épinglée" in result.output and forger in result.output


def test_a_genuine_directory_verifies_against_the_pinned_key_and_says_which(
        cli, genuine, platform_fingerprint):
    sealed, exported = genuine
    colons = ":".join(platform_fingerprint[i:i + 2] for i in range(0, 64, 2)).upper()
    for pin in (platform_fingerprint, colons):
        result = cli("verify", sealed, "--directory", exported, "--platform-key", pin)
        assert result.exit_code == 0, result.output
        assert f"épinglée (empreinte SHA-256 {platform_fingerprint})" in result.output
        assert "Enveloppe valide" in result.output


@pytest.mark.parametrize("pin", ["abc", "zz" * 32, ""])
def test_an_unreadable_fingerprint_is_refused_clearly(cli, genuine, pin):
    sealed, exported = genuine
    result = cli("verify", sealed, "--directory", exported, "--platform-key", pin)
    assert result.exit_code == 2 and "64 chiffres hexadécimaux" in result.output


def _rewrapped(blob: bytes, entries: list[dict[str, str]]) -> bytes:
    env = envelope.inspect(blob)
    return envelope.encode(env.manifest_bytes, env.signature, envelope.canonical_json(entries),
                           [bytes(env.ciphertext)])


def _entries(blob: bytes) -> list[dict[str, str]]:
    return [{"kid": w.kid, "enc": base64.b64encode(w.enc).decode(),
             "wrapped": base64.b64encode(w.wrapped).decode()}
            for w in envelope.inspect(blob).wrapped_keys]


def _swapped_labels(entries):
    first, second = entries[0], entries[1]
    return [{**first, "kid": second["kid"]}, {**second, "kid": first["kid"]}, *entries[2:]]


def _copied(entries):
    return [entries[0], {**entries[0], "kid": entries[1]["kid"]}, *entries[2:]]


@pytest.mark.parametrize("tamper", [_swapped_labels, _copied], ids=["swapped", "copied"])
def test_swapped_or_copied_wrapped_keys_are_reported_without_a_private_key(
        cli, genuine, platform_fingerprint, tamper):
    sealed, exported = genuine
    assert len(_entries(sealed.read_bytes())) >= 2
    sealed.write_bytes(_rewrapped(sealed.read_bytes(), tamper(_entries(sealed.read_bytes()))))
    for args in (("--directory", exported, "--platform-key", platform_fingerprint), ()):
        result = cli("verify", sealed, *args)
        assert result.exit_code == 1, result.output
        assert "Clés enveloppées permutées ou recopiées" in result.output


def test_without_a_private_key_the_summary_says_what_was_not_proven(cli, genuine):
    sealed, _ = genuine
    result = cli("verify", sealed)
    assert result.exit_code == 0 and "Sans clé privée" in result.output


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing-0644"])
def test_the_decrypted_document_is_written_readable_by_its_owner_only(
        cli, db, genuine, platform_fingerprint, tmp_path, existing):
    sealed, exported = genuine
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, "cd-demo")
        pem = offline.private_key_pem(keys.private_encryption_key(
            uow, keys.ensure_organisation_keys(uow, org).encryption.kid))
    key = tmp_path / "cd.pem"
    key.write_bytes(pem)
    out = tmp_path / "fiche.txt"
    if existing:
        out.write_bytes(b"ancien")
        os.chmod(out, 0o644)
    result = cli("verify", sealed, "--directory", exported, "--platform-key",
                 platform_fingerprint, "--private-key", key, "--output", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == CONTENT
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
