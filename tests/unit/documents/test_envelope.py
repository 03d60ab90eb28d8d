"""The `.relais` envelope, pure: round trips, recovery, every attack of the issue, the vectors."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from engine.bench import documents as bench
from engine.documents import envelope
from engine.documents.envelope import (
    EnvelopeInvalid,
    ManifestFields,
    Metadata,
    Recipient,
    TrustedKey,
)
from engine.documents.errors import SealRefused

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
WHEN = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
CONTENT = "Compte rendu — « synthèse » du 26 novembre 2026.\n".encode() * 40
META = Metadata("synthese-itp.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "Synthèse ITP — TITRE-SECRET-7f3a")


def _x25519(label: str) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


@dataclass
class Parties:
    """A sender, three recipient keys in two organisations, a recovery key, an outsider."""

    signer: Ed25519PrivateKey
    keys: dict[str, X25519PrivateKey]
    orgs: dict[str, str]

    def recipients(self, *kids: str) -> list[Recipient]:
        return [Recipient(kid, self.keys[kid].public_key(), self.orgs[kid],
                          envelope.USAGE_RECOVERY if kid.startswith("rec") else
                          envelope.USAGE_ENCRYPT) for kid in kids]

    def lookup(self, kid: str) -> TrustedKey | None:
        if kid != "sign-1":
            return None
        return TrustedKey("sign-1", "asso-iscg-demo", self.signer.public_key(),
                          valid_from=WHEN - timedelta(days=1))

    def seal(self, *kids: str, content: bytes = CONTENT, **fields) -> bytes:
        base = dict(sender_organisation="asso-iscg-demo", purpose="synthese_itp",
                    data_categories=["situation_familiale", "sante"], created_at=WHEN,
                    author_user_id=7, consent_id="41")
        return envelope.seal(content, META, ManifestFields(**{**base, **fields}), self.signer,
                             "sign-1", self.recipients(*(kids or ("cd-1", "cd-2", "cmp-1"))))


@pytest.fixture
def p() -> Parties:
    keys = {kid: _x25519(f"unit/{kid}") for kid in ("cd-1", "cd-2", "cmp-1", "rec-cmp", "police-1")}
    orgs = {"cd-1": "cd-demo", "cd-2": "cd-demo", "cmp-1": "cmp-demo", "rec-cmp": "cmp-demo",
            "police-1": "commissariat-demo"}
    return Parties(Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"unit/sign").digest()),
                   keys, orgs)


def _code(excinfo: pytest.ExceptionInfo[EnvelopeInvalid]) -> str:
    return excinfo.value.code


def _rebuild(blob: bytes, *, manifest: bytes | None = None, signature: bytes | None = None,
             wrapped: bytes | None = None, ciphertext: bytes | None = None) -> bytes:
    env = envelope.inspect(blob)
    return envelope.encode(manifest if manifest is not None else env.manifest_bytes,
                           signature if signature is not None else env.signature,
                           wrapped if wrapped is not None else _wrapped_json(env.wrapped_keys),
                           [ciphertext if ciphertext is not None else bytes(env.ciphertext)])


def _wrapped_json(entries) -> bytes:
    return envelope.canonical_json([{"kid": w.kid, "enc": base64.b64encode(w.enc).decode(),
                                     "wrapped": base64.b64encode(w.wrapped).decode()}
                                    for w in entries])


def _edited_manifest(blob: bytes, **changes) -> bytes:
    data = json.loads(envelope.inspect(blob).manifest_bytes)
    data.update(changes)
    return envelope.canonical_json(data)


# --- round trips ----------------------------------------------------------------------------

def test_three_recipients_each_open_the_same_document(p):
    blob = p.seal()
    for kid in ("cd-1", "cd-2", "cmp-1"):
        meta, content = envelope.open(blob, kid, p.keys[kid], public_key_lookup=p.lookup,
                                      expected_organisation=p.orgs[kid])
        assert (meta, content) == (META, CONTENT)


def test_manifest_says_who_what_why_and_nothing_descriptive_is_in_clear(p):
    blob = p.seal(previous_version_sha256="ab" * 32)
    env = envelope.inspect(blob)
    m = env.manifest
    assert m.sender_organisation == "asso-iscg-demo" and m.sender_kid == "sign-1"
    assert [(r.kid, r.organisation) for r in m.recipients] == [
        ("cd-1", "cd-demo"), ("cd-2", "cd-demo"), ("cmp-1", "cmp-demo")]
    assert m.author_user_id == 7 and m.consent_id == "41" and m.legal_basis is None
    assert m.data_categories == ("sante", "situation_familiale")
    assert m.previous_version_sha256 == "ab" * 32 and m.created_at == WHEN
    assert m.ciphertext_sha256 == hashlib.sha256(env.ciphertext).hexdigest()
    assert env.manifest_bytes == envelope.canonical_json(json.loads(env.manifest_bytes))
    for secret in (b"TITRE-SECRET-7f3a", b"synthese-itp", "synthèse".encode(), b"wordprocessing"):
        assert secret not in blob


def test_the_recovery_key_alone_opens_the_envelope(p):
    blob = p.seal("cmp-1", "rec-cmp")
    env = envelope.inspect(blob)
    assert env.manifest.recipient("rec-cmp").usage == envelope.USAGE_RECOVERY
    # Offline recovery: only the recovery private key, no directory at hand.
    assert envelope.open(blob, "rec-cmp", p.keys["rec-cmp"], public_key_lookup=None) \
        == (META, CONTENT)


def test_legal_basis_instead_of_consent_and_empty_content(p):
    blob = p.seal(content=b"", consent_id=None, legal_basis="CASF L.226-2-2")
    assert envelope.open(blob, "cd-1", p.keys["cd-1"], public_key_lookup=p.lookup)[1] == b""
    assert envelope.inspect(blob).manifest.legal_basis == "CASF L.226-2-2"


def test_two_seals_of_the_same_document_differ(p):
    one, two = p.seal(), p.seal()
    assert envelope.inspect(one).ciphertext != envelope.inspect(two).ciphertext
    assert envelope.inspect(one).manifest.envelope_id != envelope.inspect(two).manifest.envelope_id


# --- attacks --------------------------------------------------------------------------------

@pytest.mark.parametrize("where", [0, 11, 40, -17, -1])  # nonce, body, tag
def test_one_flipped_bit_in_the_ciphertext_is_refused(p, where):
    blob = p.seal()
    flipped = bytearray(envelope.inspect(blob).ciphertext)
    flipped[where] ^= 0x01
    bad = _rebuild(blob, ciphertext=bytes(flipped))
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.verify_signature(envelope.inspect(bad), p.lookup)
    assert _code(exc) == "hash_mismatch"
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.open(bad, "cd-1", p.keys["cd-1"], public_key_lookup=None)
    assert _code(exc) == "hash_mismatch"


def test_flipped_ciphertext_with_a_recomputed_hash_breaks_the_signature(p):
    blob = p.seal()
    flipped = bytearray(envelope.inspect(blob).ciphertext)
    flipped[20] ^= 0x80
    bad = _rebuild(blob, ciphertext=bytes(flipped), manifest=_edited_manifest(
        blob, ciphertext_sha256=hashlib.sha256(flipped).hexdigest()))
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.open(bad, "cd-1", p.keys["cd-1"], public_key_lookup=p.lookup)
    assert _code(exc) == "bad_signature"
    with pytest.raises(EnvelopeInvalid) as exc:  # and the AEAD refuses it too
        envelope.open(bad, "cd-1", p.keys["cd-1"], public_key_lookup=None)
    assert _code(exc) == "decryption_failed"


@pytest.mark.parametrize("change", [{"purpose": "autre_finalite"}, {"author_user_id": 8},
                                    {"data_categories": ["sante"]},
                                    {"created_at": "2026-11-27T09:30:00Z"}])
def test_an_edited_manifest_is_refused_by_signature_and_by_decryption(p, change):
    blob = p.seal()
    bad = _rebuild(blob, manifest=_edited_manifest(blob, **change))
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.open(bad, "cd-1", p.keys["cd-1"], public_key_lookup=p.lookup)
    assert _code(exc) == "bad_signature"
    # Even a reader who skips the signature cannot decrypt under another manifest (AAD).
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.open(bad, "cd-1", p.keys["cd-1"], public_key_lookup=None)
    assert _code(exc) == "decryption_failed"


def test_a_manifest_signed_again_by_its_sender_still_binds_the_ciphertext(p):
    """Even the sender's key cannot move a ciphertext under another header."""
    blob = p.seal()
    edited = _edited_manifest(blob, purpose="autre_finalite")
    bad = _rebuild(blob, manifest=edited, signature=p.signer.sign(envelope.signed_message(edited)))
    envelope.verify_signature(envelope.inspect(bad), p.lookup)  # a well-signed lie…
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.open(bad, "cd-1", p.keys["cd-1"], public_key_lookup=p.lookup)
    assert _code(exc) == "decryption_failed"  # …that does not decrypt


def test_a_manifest_swapped_from_another_envelope_is_refused(p):
    one, two = p.seal(), p.seal()
    other = envelope.inspect(two)
    bad = _rebuild(one, manifest=other.manifest_bytes, signature=other.signature)
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.open(bad, "cd-1", p.keys["cd-1"], public_key_lookup=p.lookup)
    assert _code(exc) == "hash_mismatch"


def test_a_wrapped_key_swapped_in_from_another_recipient_is_refused(p):
    blob = p.seal()
    env = envelope.inspect(blob)
    cd1, cd2 = env.wrapped_key("cd-1"), env.wrapped_key("cd-2")
    swapped = [replace(w, enc=cd1.enc, wrapped=cd1.wrapped) if w.kid == "cd-2" else w
               for w in env.wrapped_keys]
    bad = _rebuild(blob, wrapped=_wrapped_json(swapped))
    for kid, key in (("cd-2", p.keys["cd-2"]), ("cd-2", p.keys["cd-1"])):
        with pytest.raises(EnvelopeInvalid) as exc:  # info binds the recipient key id
            envelope.open(bad, kid, key, public_key_lookup=p.lookup)
        assert _code(exc) == "decryption_failed"
    assert cd2.enc != cd1.enc


def test_a_wrapped_key_from_another_envelope_is_refused(p):
    one, two = p.seal(), p.seal()
    theirs = envelope.inspect(two).wrapped_key("cd-1")
    mine = envelope.inspect(one).wrapped_keys
    bad = _rebuild(one, wrapped=_wrapped_json([theirs if w.kid == "cd-1" else w for w in mine]))
    with pytest.raises(EnvelopeInvalid) as exc:  # info binds the envelope id
        envelope.open(bad, "cd-1", p.keys["cd-1"], public_key_lookup=p.lookup)
    assert _code(exc) == "decryption_failed"


def test_an_envelope_replayed_to_another_organisation_is_refused(p):
    """A recipient re-wraps the content key for an organisation the sender never named."""
    blob = p.seal()
    env = envelope.inspect(blob)
    w = env.wrapped_key("cd-1")
    content_key = envelope.SUITE.decrypt(w.enc + w.wrapped, p.keys["cd-1"],
                                         info=envelope.wrap_info(env.manifest.envelope_id, "cd-1"))
    forged = envelope.SUITE.encrypt(content_key, p.keys["police-1"].public_key(),
                                    info=envelope.wrap_info(env.manifest.envelope_id, "police-1"))
    extra = envelope.WrappedKey("police-1", forged[:32], forged[32:])
    bad = _rebuild(blob, wrapped=_wrapped_json([*env.wrapped_keys, extra]))
    for lookup in (p.lookup, None):
        with pytest.raises(EnvelopeInvalid) as exc:
            envelope.open(bad, "police-1", p.keys["police-1"], public_key_lookup=lookup)
        assert _code(exc) == "not_a_recipient"
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.verify_signature(envelope.inspect(bad), p.lookup)
    assert _code(exc) == "not_a_recipient"


def test_a_recipient_key_of_another_organisation_than_expected_is_refused(p):
    blob = p.seal()
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.open(blob, "cmp-1", p.keys["cmp-1"], public_key_lookup=p.lookup,
                      expected_organisation="cd-demo")
    assert _code(exc) == "not_a_recipient"


def test_a_stripped_wrapped_key_is_reported(p):
    blob = p.seal()
    env = envelope.inspect(blob)
    bad = _rebuild(blob, wrapped=_wrapped_json([w for w in env.wrapped_keys if w.kid != "cd-2"]))
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.verify_signature(envelope.inspect(bad), p.lookup)
    assert _code(exc) == "recipient_mismatch"
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.open(bad, "cd-2", p.keys["cd-2"], public_key_lookup=None)
    assert _code(exc) == "not_a_recipient"


def test_every_truncation_is_refused_as_truncated(p):
    blob = p.seal("cd-1")
    for length in range(len(blob)):
        with pytest.raises(EnvelopeInvalid) as exc:
            envelope.inspect(blob[:length])
        assert _code(exc) == "truncated", length
        assert "tronqué" in exc.value.message


@pytest.mark.parametrize(("mutate", "code"), [
    (lambda b: b + b"\x00", "trailing_bytes"),
    (lambda b: b"PK\x03\x04" + b[4:], "bad_magic"),
    (lambda b: b"RELAIS\x02" + b[7:], "unsupported_version"),
    (lambda b: b[:7] + struct.pack(">I", envelope.MAX_MANIFEST + 1) + b[11:], "oversized"),
    (lambda b: b[:7] + struct.pack(">I", 2**32 - 1) + b[11:], "oversized"),
])
def test_structural_damage_has_a_stable_code(p, mutate, code):
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.inspect(mutate(p.seal()))
    assert _code(exc) == code
    assert exc.value.message  # French reason for the user


def test_an_unknown_signing_key_id_is_refused(p):
    blob = p.seal()
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.open(blob, "cd-1", p.keys["cd-1"], public_key_lookup=lambda kid: None)
    assert _code(exc) == "unknown_key"
    assert "sign-1" in exc.value.message


def test_an_unknown_recipient_key_id_is_refused(p):
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.open(p.seal(), "nobody-1", p.keys["police-1"], public_key_lookup=p.lookup)
    assert _code(exc) == "not_a_recipient"


def test_a_signing_key_of_another_organisation_or_out_of_service_is_refused(p):
    blob = envelope.inspect(p.seal())
    elsewhere = replace(p.lookup("sign-1"), organisation="cd-demo")
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.verify_signature(blob, lambda kid: elsewhere)
    assert _code(exc) == "wrong_sender"
    retired = replace(p.lookup("sign-1"), valid_until=WHEN - timedelta(seconds=1))
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.verify_signature(blob, lambda kid: retired)
    assert _code(exc) == "key_not_valid"
    impostor = replace(p.lookup("sign-1"), public_key=Ed25519PrivateKey.generate().public_key())
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.verify_signature(blob, lambda kid: impostor)
    assert _code(exc) == "bad_signature"


def test_the_wrong_private_key_cannot_unwrap(p):
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.open(p.seal(), "cd-1", p.keys["police-1"], public_key_lookup=p.lookup)
    assert _code(exc) == "decryption_failed"


@pytest.mark.parametrize("manifest", [
    b'{"format": 1}',  # not canonical
    b'{"format":1,"format":1}',  # duplicate key
    b'{"format":1.0}',  # float
    b"\xff\xfe",  # not UTF-8
    b"[]",
])
def test_malformed_manifests_are_refused(p, manifest):
    bad = _rebuild(p.seal(), manifest=manifest)
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.inspect(bad)
    assert _code(exc) == "malformed"


def test_a_re_signed_but_non_canonical_manifest_is_refused(p):
    blob = p.seal()
    spaced = json.dumps(json.loads(envelope.inspect(blob).manifest_bytes), sort_keys=True).encode()
    bad = _rebuild(blob, manifest=spaced, signature=p.signer.sign(envelope.signed_message(spaced)))
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.inspect(bad)
    assert _code(exc) == "malformed"


def test_duplicated_or_badly_encoded_wrapped_keys_are_refused(p):
    blob = p.seal()
    env = envelope.inspect(blob)
    doubled = _wrapped_json([*env.wrapped_keys, env.wrapped_keys[0]])
    loose = _wrapped_json(env.wrapped_keys).replace(b'=",', b'",', 1)
    for wrapped in (doubled, loose, b"{}", b"[]"):
        with pytest.raises(EnvelopeInvalid) as exc:
            envelope.inspect(_rebuild(blob, wrapped=wrapped))
        assert _code(exc) == "malformed"


def test_key_destroyed_says_when(p):
    error = EnvelopeInvalid.key_destroyed(datetime(2026, 12, 1, 14, 5, tzinfo=UTC))
    assert error.code == "key_destroyed"
    assert "détruite le 01/12/2026" in error.message


# --- refusals when sealing ------------------------------------------------------------------

@pytest.mark.parametrize("fields", [
    {"consent_id": None},  # neither consent nor legal basis
    {"legal_basis": "CASF L.226-2-2"},  # both
    {"purpose": ""},
    {"purpose": "finalité\nsur deux lignes"},
    {"data_categories": []},
    {"created_at": datetime(2026, 11, 26, 9, 30)},  # naive
    {"sender_organisation": "Pas Un Slug"},
    {"previous_version_sha256": "abc"},
    {"envelope_id": "not-a-uuid"},
])
def test_seal_refuses_incomplete_or_inconsistent_fields(p, fields):
    with pytest.raises(SealRefused):
        p.seal(**fields)


def test_seal_refuses_bad_metadata_and_recipient_lists(p):
    fields = ManifestFields(sender_organisation="asso-iscg-demo", purpose="x",
                            data_categories=["a"], created_at=WHEN, legal_basis="loi")
    for meta in (Metadata("../etc/passwd", "text/plain"), Metadata("a.txt", "pas un type")):
        with pytest.raises(SealRefused):
            envelope.seal(b"x", meta, fields, p.signer, "sign-1", p.recipients("cd-1"))
    for kids in ((), ("rec-cmp",), ("cd-1", "cd-1")):
        with pytest.raises(SealRefused):
            envelope.seal(b"x", META, fields, p.signer, "sign-1", p.recipients(*kids))


def test_canonical_json_refuses_floats_and_unsafe_integers():
    assert envelope.canonical_json({"b": [1, "é"], "a": None}) == '{"a":null,"b":[1,"é"]}'.encode()
    for value in ({"x": 1.5}, [2**53]):
        with pytest.raises(ValueError):
            envelope.canonical_json(value)


# --- test vectors (docs/envelope.md) --------------------------------------------------------

def _vector() -> tuple[dict, bytes]:
    vector = json.loads((VECTORS / "envelope-v1.json").read_text(encoding="utf-8"))
    return vector, (VECTORS / vector["file"]).read_bytes()


def test_vector_file_verifies_and_opens_with_each_private_key():
    vector, blob = _vector()
    assert hashlib.sha256(blob).hexdigest() == vector["file_sha256"]
    sender = vector["sender"]
    signer = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sender["ed25519_private_hex"]))
    assert signer.public_key().public_bytes_raw().hex() == sender["ed25519_public_hex"]
    trusted = TrustedKey(sender["kid"], sender["organisation"], signer.public_key())
    env = envelope.inspect(blob)
    assert env.manifest_bytes.decode() == vector["manifest"]
    assert env.manifest_hash == vector["manifest_sha256"]
    assert env.header_hash.hex() == vector["header_sha256"]
    assert base64.b64encode(env.signature).decode() == vector["signature_b64"]
    envelope.verify_signature(env, {sender["kid"]: trusted}.get)
    for r in vector["recipients"]:
        key = X25519PrivateKey.from_private_bytes(bytes.fromhex(r["x25519_private_hex"]))
        assert key.public_key().public_bytes_raw().hex() == r["x25519_public_hex"]
        assert hashlib.sha256(r["seed_label"].encode()).hexdigest() == r["x25519_private_hex"]
        meta, content = envelope.open(blob, r["kid"], key,
                                      public_key_lookup={sender["kid"]: trusted}.get,
                                      expected_organisation=r["organisation"])
        assert meta.to_dict() == vector["metadata"]
        assert content.decode() == vector["content_utf8"]


def test_vector_layout_is_the_documented_one():
    _vector_doc, blob = _vector()
    assert blob[:7] == b"RELAIS\x01"
    (manifest_len,) = struct.unpack(">I", blob[7:11])
    assert blob[11:12] == b"{"
    (signature_len,) = struct.unpack(">I", blob[11 + manifest_len:15 + manifest_len])
    assert signature_len == 64


def test_vector_with_one_bit_flipped_fails():
    vector, blob = _vector()
    bad = bytearray(blob)
    bad[-1] ^= 0x01
    sender = vector["sender"]
    public = Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex(sender["ed25519_private_hex"])).public_key()
    with pytest.raises(EnvelopeInvalid) as exc:
        envelope.verify_signature(envelope.inspect(bytes(bad)), {
            sender["kid"]: TrustedKey(sender["kid"], sender["organisation"], public)}.get)
    assert _code(exc) == "hash_mismatch"


# --- benchmark shape (no timing assertion) --------------------------------------------------

def test_bench_returns_positive_figures():
    figures = bench.run(small_size=2048, large_size=64 * 1024, small_runs=3, large_runs=2)
    for key in ("envelope_small_seal_open_ms", "envelope_small_seal_ms", "envelope_small_open_ms",
                "envelope_large_seal_open_ms", "envelope_large_mb_s", "raw_aes_gcm_mb_s",
                "envelope_throughput_ratio"):
        assert figures[key] > 0, key
    assert figures["envelope_recipients"] == 3
