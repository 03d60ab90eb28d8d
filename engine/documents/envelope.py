"""The `.relais` envelope: one document signed by its sender and encrypted for its recipients.

Pure functions, no database: `seal`, `inspect`, `verify_signature`, `open`. The exact byte
layout and constructions are written down in docs/envelope.md; in short:

- the content and its descriptive metadata (file name, title, media type) are packed in one
  container and encrypted with a fresh 256-bit key (AES-256-GCM, random 96-bit nonce); the
  associated data is the *header hash*, SHA-256 of the canonical manifest without its
  `ciphertext_sha256` member, so a ciphertext only decrypts under the manifest it was sealed
  with (the ciphertext hash cannot be inside its own associated data);
- the content key is wrapped for each recipient key with HPKE base mode
  (X25519 / HKDF-SHA256 / AES-256-GCM), `info` binding the envelope id and the recipient key id;
- the manifest (canonical JSON) names sender, author, recipients, purpose, consent or legal
  basis, data categories, the ciphertext's SHA-256 and the previous version's hash, and is
  signed with the sender organisation's Ed25519 key.

Guarantees, when `open` is given the sender's key lookup: what it returns was sealed by the
holder of that signing key, for this recipient key, under exactly this manifest, unmodified.
The manifest itself is readable by anyone holding the file: it carries identifiers and codes
only, never personal data; the ciphertext length reveals the content's size.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import struct
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.canonical import MAX_SAFE_INTEGER, canonical_json, load_canonical
from engine.documents import single_pass
from engine.documents.errors import EnvelopeInvalid, SealRefused

MAGIC = b"RELAIS"
FORMAT_VERSION = 1
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
SIGNATURE_CONTEXT = b"relais/envelope-manifest/v1\x00"
WRAP_INFO_CONTEXT = b"relais/envelope-key/v1\x00"

KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
ENC_LEN = 32  # X25519 encapsulated key
WRAPPED_LEN = KEY_LEN + TAG_LEN
SIGNATURE_LEN = 64
LENGTH = struct.Struct(">I")

MAX_MANIFEST = 64 * 1024
MAX_WRAPPED_KEYS = 64 * 1024
MAX_RECIPIENTS = 64
MAX_CIPHERTEXT = 512 * 1024 * 1024
MAX_METADATA = 16 * 1024
PARALLEL_HASH_MIN = 1024 * 1024  # below this, a worker thread costs more than it saves

USAGE_ENCRYPT = "encrypt"
USAGE_RECOVERY = "recovery"

KID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
# Patterns are used with fullmatch. Purposes, legal bases and categories are codes: the
# manifest travels in clear.
CODE_RE = re.compile(r"\w[\w .:/()'-]{0,199}")
SHA256_HEX_RE = re.compile(r"[0-9a-f]{64}")
MEDIA_TYPE_RE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


# --- what the caller provides ---------------------------------------------------------------

@dataclass(frozen=True)
class Metadata:
    """Descriptive metadata, sealed inside the ciphertext with the content."""

    file_name: str
    media_type: str
    title: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file_name": self.file_name, "media_type": self.media_type, "title": self.title}


class Recipient(NamedTuple):
    """One key the content key is wrapped for; `usage` is `encrypt` or `recovery`."""

    kid: str
    public_key: X25519PublicKey
    organisation: str
    usage: str = USAGE_ENCRYPT


@dataclass(frozen=True)
class ManifestFields:
    """Everything the sender states about the document; the envelope id is generated if absent."""

    sender_organisation: str
    purpose: str
    data_categories: Sequence[str]
    created_at: datetime
    author_user_id: int | None = None
    consent_id: str | None = None
    legal_basis: str | None = None
    previous_version_sha256: str | None = None
    envelope_id: str | None = None
    validated_by_user_id: int | None = None


# --- what an envelope says ------------------------------------------------------------------

@dataclass(frozen=True)
class RecipientEntry:
    kid: str
    organisation: str
    usage: str = USAGE_ENCRYPT


@dataclass(frozen=True)
class Manifest:
    """The signed statement about the document (the clear part of an envelope)."""

    envelope_id: str
    sender_organisation: str
    sender_kid: str
    author_user_id: int | None
    recipients: tuple[RecipientEntry, ...]
    purpose: str
    consent_id: str | None
    legal_basis: str | None
    data_categories: tuple[str, ...]
    ciphertext_sha256: str
    previous_version_sha256: str | None
    created_at: datetime
    format: int = FORMAT_VERSION
    # Who validated the sending (optional member: absent when null, so that manifests made
    # without it keep their bytes and their hash).
    validated_by_user_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.header_dict(), "ciphertext_sha256": self.ciphertext_sha256}

    def header_dict(self) -> dict[str, Any]:
        """The manifest without the ciphertext hash: what the AEAD binds."""
        return {
            "format": self.format,
            "envelope_id": self.envelope_id,
            "sender_organisation": self.sender_organisation,
            "sender_kid": self.sender_kid,
            "author_user_id": self.author_user_id,
            "recipients": [{"kid": r.kid, "organisation": r.organisation, "usage": r.usage}
                           for r in self.recipients],
            "purpose": self.purpose,
            "consent_id": self.consent_id,
            "legal_basis": self.legal_basis,
            "data_categories": list(self.data_categories),
            "previous_version_sha256": self.previous_version_sha256,
            "created_at": self.created_at.strftime(TIME_FORMAT),
        } | ({} if self.validated_by_user_id is None
             else {"validated_by_user_id": self.validated_by_user_id})

    def recipient(self, kid: str) -> RecipientEntry | None:
        return next((r for r in self.recipients if r.kid == kid), None)


@dataclass(frozen=True)
class WrappedKey:
    """The content key encapsulated for one recipient key (HPKE `enc` and ciphertext)."""

    kid: str
    enc: bytes
    wrapped: bytes


@dataclass(frozen=True)
class Envelope:
    """A parsed `.relais` file. Parsing proves its shape, not its origin (`verify_signature`)."""

    version: int
    manifest: Manifest
    manifest_bytes: bytes
    signature: bytes
    wrapped_keys: tuple[WrappedKey, ...]
    ciphertext: memoryview = field(repr=False)  # nonce || AES-GCM ciphertext || tag

    @property
    def manifest_hash(self) -> str:
        """SHA-256 (hex) of the manifest bytes: the identity of this version of the document."""
        return hashlib.sha256(self.manifest_bytes).hexdigest()

    @property
    def header_hash(self) -> bytes:
        return header_hash(self.manifest)

    def wrapped_key(self, kid: str) -> WrappedKey | None:
        return next((w for w in self.wrapped_keys if w.kid == kid), None)


@dataclass(frozen=True)
class TrustedKey:
    """A sender signing key as the key directory knows it, with its validity window."""

    kid: str
    organisation: str
    public_key: Ed25519PublicKey
    valid_from: datetime | None = None
    valid_until: datetime | None = None


KeyLookup = Callable[[str], TrustedKey | None]


def header_hash(manifest: Manifest) -> bytes:
    """SHA-256 of the canonical manifest without `ciphertext_sha256`: the AEAD's associated data."""
    return hashlib.sha256(canonical_json(manifest.header_dict())).digest()


def wrap_info(envelope_id: str, kid: str) -> bytes:
    """HPKE `info`: binds a wrapped key to one envelope and one recipient key id."""
    return WRAP_INFO_CONTEXT + envelope_id.encode("ascii") + b"\x00" + kid.encode("ascii")


def signed_message(manifest_bytes: bytes) -> bytes:
    return SIGNATURE_CONTEXT + manifest_bytes


# --- validation shared by seal and parse ----------------------------------------------------

def _manifest_problem(m: Manifest) -> str | None:
    """The first thing wrong with a manifest, in French, or None."""
    if type(m.format) is not int or m.format != FORMAT_VERSION:
        return f"version de format inconnue ({m.format})"
    try:
        parsed = uuid.UUID(m.envelope_id)
    except (ValueError, AttributeError, TypeError):
        return "identifiant d'enveloppe invalide"
    if parsed.version != 4 or str(parsed) != m.envelope_id:
        return "identifiant d'enveloppe invalide (UUID v4 attendu)"
    if not _is_slug(m.sender_organisation) or not _is_kid(m.sender_kid):
        return "expéditeur invalide"
    if m.author_user_id is not None and not _is_int(m.author_user_id):
        return "auteur invalide"
    if m.validated_by_user_id is not None and not _is_int(m.validated_by_user_id):
        return "validation invalide"
    if not m.recipients or len(m.recipients) > MAX_RECIPIENTS:
        return f"il faut entre 1 et {MAX_RECIPIENTS} destinataires"
    if len({r.kid for r in m.recipients}) != len(m.recipients):
        return "un destinataire figure deux fois"
    for r in m.recipients:
        if not _is_kid(r.kid) or not _is_slug(r.organisation) \
                or r.usage not in (USAGE_ENCRYPT, USAGE_RECOVERY):
            return "destinataire invalide"
    if not any(r.usage == USAGE_ENCRYPT for r in m.recipients):
        return "aucun destinataire (seulement des clés de recouvrement)"
    if not _is_code(m.purpose):
        return "finalité absente ou invalide"
    if (m.consent_id is None) == (m.legal_basis is None):
        return "il faut soit un consentement, soit une base légale (l'un des deux)"
    if m.consent_id is not None and not _is_code(m.consent_id):
        return "identifiant de consentement invalide"
    if m.legal_basis is not None and not _is_code(m.legal_basis):
        return "base légale invalide"
    if not m.data_categories or not all(_is_code(c) for c in m.data_categories) \
            or list(m.data_categories) != sorted(set(m.data_categories)):
        return "catégories de données absentes ou invalides"
    if not _is_sha256(m.ciphertext_sha256):
        return "empreinte du contenu chiffré invalide"
    if m.previous_version_sha256 is not None and not _is_sha256(m.previous_version_sha256):
        return "empreinte de la version précédente invalide"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) \
        and 0 <= value <= MAX_SAFE_INTEGER


def _is_kid(value: Any) -> bool:
    return isinstance(value, str) and KID_RE.fullmatch(value) is not None


def _is_slug(value: Any) -> bool:
    return isinstance(value, str) and SLUG_RE.fullmatch(value) is not None


def _is_code(value: Any) -> bool:
    return isinstance(value, str) and CODE_RE.fullmatch(value) is not None


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and SHA256_HEX_RE.fullmatch(value) is not None


def _metadata_problem(meta: Metadata) -> str | None:
    name = meta.file_name
    if not isinstance(name, str) or not name or len(name) > 255 or name in (".", "..") \
            or any(c in name for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "nom de fichier invalide (sans « / », « \\ » ni caractère de contrôle)"
    if not isinstance(meta.media_type, str) or not MEDIA_TYPE_RE.fullmatch(meta.media_type):
        return "type de média invalide"
    if meta.title is not None and (not isinstance(meta.title, str) or len(meta.title) > 500):
        return "titre invalide (500 caractères au plus)"
    return None


# --- seal -----------------------------------------------------------------------------------

def seal(content: bytes, metadata: Metadata, fields: ManifestFields,
         sender_signing_key: Ed25519PrivateKey, sender_kid: str,
         recipients: Sequence[Recipient]) -> bytearray:
    """Sign and encrypt `content` for exactly `recipients`; returns the `.relais` bytes (a
    bytearray: the file is built in place, see `single_pass`).

    One pass over the content: encrypted straight into the file's buffer and hashed for the
    manifest as it goes. The manifest's length does not depend on the hash (always 64 hex
    digits), so every section's place is known before encrypting.
    Raises SealRefused (nothing produced) when the fields, metadata or recipients are invalid.
    """
    problem = _metadata_problem(metadata)
    if problem:
        raise SealRefused(f"Scellement impossible : {problem}.")
    meta = _pack_metadata(metadata)
    if len(meta) + len(content) + NONCE_LEN + TAG_LEN > MAX_CIPHERTEXT:
        raise SealRefused("Scellement impossible : document trop volumineux.")
    manifest = _draft_manifest(fields, sender_kid, recipients)
    content_key = AESGCM.generate_key(bit_length=256)
    wrapped = _wrapped_bytes([_wrap(content_key, manifest.envelope_id, r) for r in recipients])
    draft = canonical_json(manifest.to_dict())  # the placeholder hash: same length
    plaintext = (LENGTH.pack(len(meta)) + meta, content)
    out, places = _layout(len(draft), wrapped, single_pass.ciphertext_length(plaintext))
    digest = single_pass.encrypt_into(out, places["ciphertext"], content_key,
                                      os.urandom(NONCE_LEN), header_hash(manifest), plaintext,
                                      parallel_from=PARALLEL_HASH_MIN)
    manifest_bytes = canonical_json(_with_hash(manifest, digest).to_dict())
    if len(manifest_bytes) != len(draft):
        raise AssertionError("manifest length changed with its hash")
    signature = sender_signing_key.sign(signed_message(manifest_bytes))
    out[places["manifest"]:places["manifest"] + len(draft)] = manifest_bytes
    out[places["signature"]:places["signature"] + SIGNATURE_LEN] = signature
    return out


def _layout(manifest_len: int, wrapped: bytes,
            ciphertext_len: int) -> tuple[bytearray, dict[str, int]]:
    """The file's buffer with magic, version, lengths and wrapped keys written; where the
    manifest, the signature and the ciphertext go (same layout as `encode`)."""
    out = bytearray(len(MAGIC) + 1 + 4 * LENGTH.size + manifest_len + SIGNATURE_LEN
                    + len(wrapped) + ciphertext_len)
    out[:len(MAGIC) + 1] = MAGIC + bytes([FORMAT_VERSION])
    places, pos = {}, len(MAGIC) + 1
    for name, size, data in (("manifest", manifest_len, None),
                             ("signature", SIGNATURE_LEN, None),
                             ("wrapped_keys", len(wrapped), wrapped),
                             ("ciphertext", ciphertext_len, None)):
        LENGTH.pack_into(out, pos, size)
        places[name], pos = pos + LENGTH.size, pos + LENGTH.size + size
        if data is not None:
            out[places[name]:pos] = data
    return out, places


def _draft_manifest(fields: ManifestFields, sender_kid: str,
                    recipients: Sequence[Recipient]) -> Manifest:
    created = fields.created_at
    if not isinstance(created, datetime) or created.tzinfo is None:
        raise SealRefused("Scellement impossible : date de création sans fuseau horaire.")
    manifest = Manifest(
        envelope_id=fields.envelope_id or str(uuid.uuid4()),
        sender_organisation=fields.sender_organisation, sender_kid=sender_kid,
        author_user_id=fields.author_user_id,
        validated_by_user_id=fields.validated_by_user_id,
        recipients=tuple(RecipientEntry(r.kid, r.organisation, r.usage) for r in recipients),
        purpose=fields.purpose, consent_id=fields.consent_id, legal_basis=fields.legal_basis,
        data_categories=tuple(sorted(set(fields.data_categories))),
        ciphertext_sha256="0" * 64,  # placeholder, replaced once the ciphertext exists
        previous_version_sha256=fields.previous_version_sha256,
        created_at=created.astimezone(UTC).replace(microsecond=0),
    )
    problem = _manifest_problem(manifest)
    if problem:
        raise SealRefused(f"Scellement impossible : {problem}.")
    if not all(isinstance(r.public_key, X25519PublicKey) for r in recipients):
        raise SealRefused("Scellement impossible : clé de destinataire non X25519.")
    return manifest


def _with_hash(manifest: Manifest, ciphertext_sha256: str) -> Manifest:
    return Manifest(**{**manifest.__dict__, "ciphertext_sha256": ciphertext_sha256})


def _wrap(content_key: bytes, envelope_id: str, recipient: Recipient) -> WrappedKey:
    sealed = SUITE.encrypt(content_key, recipient.public_key,
                           info=wrap_info(envelope_id, recipient.kid))
    return WrappedKey(recipient.kid, sealed[:ENC_LEN], sealed[ENC_LEN:])


def _wrapped_bytes(wrapped: Sequence[WrappedKey]) -> bytes:
    return canonical_json([{"kid": w.kid, "enc": _b64(w.enc), "wrapped": _b64(w.wrapped)}
                           for w in wrapped])


def _pack_metadata(metadata: Metadata) -> bytes:
    meta = canonical_json(metadata.to_dict())
    if len(meta) > MAX_METADATA:
        raise SealRefused("Scellement impossible : métadonnées trop longues.")
    return meta


def encode(manifest_bytes: bytes, signature: bytes, wrapped_keys: bytes,
           ciphertext: Sequence[bytes]) -> bytes:
    """The file: magic, version byte, then four u32-length-prefixed sections (the last one,
    the ciphertext, given in parts and joined once)."""
    parts = [MAGIC, bytes([FORMAT_VERSION])]
    for section in (manifest_bytes, signature, wrapped_keys):
        parts += [LENGTH.pack(len(section)), section]
    parts.append(LENGTH.pack(sum(len(p) for p in ciphertext)))
    parts.extend(ciphertext)
    return b"".join(parts)


# --- parse ----------------------------------------------------------------------------------

SECTIONS = (("manifest", MAX_MANIFEST), ("signature", SIGNATURE_LEN),
            ("wrapped_keys", MAX_WRAPPED_KEYS), ("ciphertext", MAX_CIPHERTEXT))


def inspect(blob: bytes | bytearray | memoryview) -> Envelope:
    """Parse a `.relais` file without any key. Refuses anything but one well-formed envelope."""
    view = memoryview(blob)
    if len(view) < len(MAGIC) + 1:
        if MAGIC.startswith(bytes(view)):
            raise EnvelopeInvalid("truncated", "Fichier tronqué : l'enveloppe est incomplète.")
        raise EnvelopeInvalid("bad_magic", "Ce fichier n'est pas une enveloppe Relais.")
    if bytes(view[:len(MAGIC)]) != MAGIC:
        raise EnvelopeInvalid("bad_magic", "Ce fichier n'est pas une enveloppe Relais.")
    version = view[len(MAGIC)]
    if version != FORMAT_VERSION:
        raise EnvelopeInvalid("unsupported_version",
                              f"Version d'enveloppe non prise en charge ({version}) : "
                              "mettez Relais à jour.")
    sections, pos = {}, len(MAGIC) + 1
    for name, limit in SECTIONS:
        sections[name], pos = _section(view, pos, name, limit)
    if pos != len(view):
        raise EnvelopeInvalid("trailing_bytes",
                              "Enveloppe invalide : des octets suivent la fin de l'enveloppe.")
    return _build(version, sections)


def _section(view: memoryview, pos: int, name: str, limit: int) -> tuple[memoryview, int]:
    if pos + LENGTH.size > len(view):
        raise EnvelopeInvalid("truncated", "Fichier tronqué : l'enveloppe est incomplète.")
    (size,) = LENGTH.unpack(view[pos:pos + LENGTH.size])
    if size > limit:
        raise EnvelopeInvalid("oversized",
                              f"Enveloppe refusée : section « {name} » trop grande "
                              f"({size} octets).")
    start = pos + LENGTH.size
    if start + size > len(view):
        raise EnvelopeInvalid("truncated", "Fichier tronqué : l'enveloppe est incomplète.")
    return view[start:start + size], start + size


def _malformed(what: str) -> EnvelopeInvalid:
    return EnvelopeInvalid("malformed", f"Enveloppe mal formée : {what}.")


def _build(version: int, sections: dict[str, memoryview]) -> Envelope:
    manifest_bytes = bytes(sections["manifest"])
    manifest = _parse_manifest(manifest_bytes)
    if manifest.format != version:
        raise _malformed("la version du manifeste diffère de celle du fichier")
    signature = bytes(sections["signature"])
    if len(signature) != SIGNATURE_LEN:
        raise _malformed("signature de longueur inattendue")
    if len(sections["ciphertext"]) < NONCE_LEN + LENGTH.size + TAG_LEN:
        raise _malformed("contenu chiffré trop court")
    return Envelope(version, manifest, manifest_bytes, signature,
                    _parse_wrapped(bytes(sections["wrapped_keys"])), sections["ciphertext"])


MANIFEST_KEYS = frozenset({
    "format", "envelope_id", "sender_organisation", "sender_kid", "author_user_id",
    "recipients", "purpose", "consent_id", "legal_basis", "data_categories",
    "ciphertext_sha256", "previous_version_sha256", "created_at"})
OPTIONAL_MANIFEST_KEYS = frozenset({"validated_by_user_id"})


def _parse_manifest(raw: bytes) -> Manifest:
    try:
        data = load_canonical(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _malformed("manifeste illisible ou non canonique") from exc
    if not isinstance(data, dict) or not set(data) >= MANIFEST_KEYS \
            or set(data) - MANIFEST_KEYS - OPTIONAL_MANIFEST_KEYS:
        raise _malformed("champs du manifeste inattendus")
    try:
        manifest = Manifest(
            format=data["format"], envelope_id=data["envelope_id"],
            sender_organisation=data["sender_organisation"], sender_kid=data["sender_kid"],
            author_user_id=data["author_user_id"],
            validated_by_user_id=data.get("validated_by_user_id"),
            recipients=tuple(_recipient_entry(r) for r in data["recipients"]),
            purpose=data["purpose"], consent_id=data["consent_id"],
            legal_basis=data["legal_basis"], data_categories=tuple(data["data_categories"]),
            ciphertext_sha256=data["ciphertext_sha256"],
            previous_version_sha256=data["previous_version_sha256"],
            created_at=_parse_time(data["created_at"]))
    except (TypeError, ValueError) as exc:
        raise _malformed("champs du manifeste invalides") from exc
    problem = _manifest_problem(manifest)
    if problem:
        raise _malformed(problem)
    return manifest


def _recipient_entry(value: Any) -> RecipientEntry:
    if not isinstance(value, dict) or set(value) != {"kid", "organisation", "usage"}:
        raise ValueError("recipient")
    return RecipientEntry(value["kid"], value["organisation"], value["usage"])


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("created_at")
    parsed = datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)
    if parsed.strftime(TIME_FORMAT) != value:
        raise ValueError("created_at")
    return parsed


def _parse_wrapped(raw: bytes) -> tuple[WrappedKey, ...]:
    try:
        data = load_canonical(raw)
        if not isinstance(data, list) or not 1 <= len(data) <= MAX_RECIPIENTS:
            raise ValueError("list")
        keys = tuple(_wrapped_key(item) for item in data)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise _malformed("clés enveloppées illisibles") from exc
    if len({k.kid for k in keys}) != len(keys):
        raise _malformed("une clé enveloppée figure deux fois")
    return keys


def _wrapped_key(item: Any) -> WrappedKey:
    if not isinstance(item, dict) or set(item) != {"kid", "enc", "wrapped"} \
            or not _is_kid(item["kid"]):
        raise ValueError("wrapped key")
    enc, wrapped = _unb64(item["enc"]), _unb64(item["wrapped"])
    if len(enc) != ENC_LEN or len(wrapped) != WRAPPED_LEN:
        raise ValueError("wrapped key length")
    return WrappedKey(item["kid"], enc, wrapped)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: Any) -> bytes:
    """Strict standard base64: one encoding per value (no whitespace, canonical padding)."""
    if not isinstance(text, str):
        raise ValueError("base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("base64") from exc
    if _b64(raw) != text:
        raise ValueError("base64")
    return raw


# --- verify ---------------------------------------------------------------------------------

def verify_signature(envelope: Envelope, lookup: KeyLookup) -> TrustedKey:
    """Prove origin and integrity: signing key known for the sender and valid at creation,
    signature good, wrapped keys only for the signed recipients, ciphertext hash equal to the
    signed one. Returns the key that signed; raises EnvelopeInvalid otherwise.
    """
    key = _verify_origin(envelope, lookup)
    check_ciphertext_hash(envelope)
    return key


def _verify_origin(envelope: Envelope, lookup: KeyLookup) -> TrustedKey:
    """Everything `verify_signature` checks but the ciphertext hash."""
    m = envelope.manifest
    key = _signing_key(m, lookup)
    try:
        key.public_key.verify(envelope.signature, signed_message(envelope.manifest_bytes))
    except InvalidSignature as exc:
        raise EnvelopeInvalid("bad_signature",
                              "Signature invalide : le manifeste a été modifié ou n'a pas été "
                              f"signé par {m.sender_organisation}.") from exc
    _check_recipients(envelope)
    return key


def _signing_key(m: Manifest, lookup: KeyLookup) -> TrustedKey:
    key = lookup(m.sender_kid)
    if key is None:
        raise EnvelopeInvalid("unknown_key",
                              f"Clé de signature inconnue ({m.sender_kid}) : procurez-vous "
                              f"l'annuaire de clés à jour de {m.sender_organisation}.")
    if key.organisation != m.sender_organisation:
        raise EnvelopeInvalid("wrong_sender",
                              f"La clé {m.sender_kid} appartient à {key.organisation}, pas à "
                              f"l'expéditeur annoncé ({m.sender_organisation}).")
    if (key.valid_from and m.created_at < key.valid_from.replace(microsecond=0)) or \
            (key.valid_until and m.created_at > key.valid_until):
        raise EnvelopeInvalid("key_not_valid",
                              f"La clé {m.sender_kid} n'était pas en service à la date de "
                              "l'enveloppe.")
    return key


def check_ciphertext_hash(envelope: Envelope) -> None:
    """The ciphertext is byte-for-byte the one the manifest names (one bit flipped fails)."""
    _compare_hash(envelope, hashlib.sha256(envelope.ciphertext).hexdigest())


def _compare_hash(envelope: Envelope, digest: str) -> None:
    if digest != envelope.manifest.ciphertext_sha256:
        raise EnvelopeInvalid("hash_mismatch",
                              "Contenu altéré : l'empreinte du contenu chiffré ne correspond "
                              "pas au manifeste signé.")


def _sha256_started(data: memoryview) -> Callable[[], str]:
    """Start hashing `data`; the returned function waits for the hex digest. A large buffer is
    hashed in a worker thread (hashlib releases the GIL), overlapping its decryption."""
    if len(data) < PARALLEL_HASH_MIN:
        digest = hashlib.sha256(data).hexdigest()
        return lambda: digest
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(hashlib.sha256(data).hexdigest()),
                              name="relais-envelope-sha256", daemon=True)
    worker.start()

    def wait() -> str:
        worker.join()
        return result[0]

    return wait


def _check_recipients(envelope: Envelope) -> None:
    signed = {r.kid for r in envelope.manifest.recipients}
    present = {w.kid for w in envelope.wrapped_keys}
    if present - signed:
        raise EnvelopeInvalid("not_a_recipient",
                              "Enveloppe détournée : une clé y est enveloppée pour un "
                              "destinataire que le manifeste signé ne nomme pas.")
    if signed - present:
        raise EnvelopeInvalid("recipient_mismatch",
                              "Enveloppe incomplète : un destinataire du manifeste n'a pas de "
                              "clé enveloppée.")


# --- open -----------------------------------------------------------------------------------

def open(blob: bytes | Envelope, kid: str, private_key: X25519PrivateKey, *,
         public_key_lookup: KeyLookup | None,
         expected_organisation: str | None = None) -> tuple[Metadata, bytes]:
    """Decrypt for the recipient key `kid`; returns (metadata, content).

    With `public_key_lookup` the signature is verified first (routing always passes it);
    `None` must be passed explicitly and then only integrity and recipient checks apply (an
    offline recovery without the directory). Refuses a key id the signed manifest does not
    name, or that names another organisation than `expected_organisation`.
    """
    envelope = blob if isinstance(blob, Envelope) else inspect(blob)
    if public_key_lookup is not None:
        _verify_origin(envelope, public_key_lookup)
    entry = envelope.manifest.recipient(kid)
    wrapped = envelope.wrapped_key(kid)
    if entry is None or wrapped is None or (
            expected_organisation is not None and entry.organisation != expected_organisation):
        raise EnvelopeInvalid("not_a_recipient",
                              f"Cette enveloppe n'est pas adressée à la clé {kid}"
                              + (f" de {expected_organisation}" if expected_organisation else "")
                              + " : elle ne peut pas être ouverte ici.")
    digest = _sha256_started(envelope.ciphertext)
    try:
        opened = _decrypt(envelope, _unwrap(envelope, wrapped, private_key))
    except EnvelopeInvalid:
        _compare_hash(envelope, digest())  # an altered file says so rather than "cannot decrypt"
        raise
    _compare_hash(envelope, digest())
    return opened


def _unwrap(envelope: Envelope, wrapped: WrappedKey, private_key: X25519PrivateKey) -> bytes:
    try:
        key = SUITE.decrypt(wrapped.enc + wrapped.wrapped, private_key,
                            info=wrap_info(envelope.manifest.envelope_id, wrapped.kid))
    except InvalidTag as exc:
        raise EnvelopeInvalid("decryption_failed",
                              "Déchiffrement impossible : la clé privée ne correspond pas à ce "
                              "destinataire, ou la clé enveloppée a été altérée ou "
                              "échangée.") from exc
    if len(key) != KEY_LEN:
        raise _malformed("clé de contenu de longueur inattendue")
    return key


def _decrypt(envelope: Envelope, content_key: bytes) -> tuple[Metadata, bytes]:
    """Streamed AES-256-GCM decryption; nothing is returned or parsed before the tag checks."""
    ct = envelope.ciphertext
    nonce, body, tag = ct[:NONCE_LEN], ct[NONCE_LEN:-TAG_LEN], ct[-TAG_LEN:]
    decryptor = Cipher(algorithms.AES(content_key), modes.GCM(bytes(nonce), bytes(tag))) \
        .decryptor()
    decryptor.authenticate_additional_data(envelope.header_hash)
    (size,) = LENGTH.unpack(decryptor.update(body[:LENGTH.size]))
    sane = size <= min(MAX_METADATA, len(body) - LENGTH.size)
    meta = decryptor.update(body[LENGTH.size:LENGTH.size + size]) if sane else b""
    content = decryptor.update(body[LENGTH.size + size:] if sane else body[LENGTH.size:])
    try:
        decryptor.finalize()
    except InvalidTag as exc:
        raise EnvelopeInvalid("decryption_failed",
                              "Déchiffrement impossible : le contenu ou le manifeste a été "
                              "altéré.") from exc
    if not sane:
        raise _malformed("métadonnées chiffrées illisibles")
    return _parse_metadata(meta), content


def _parse_metadata(raw: bytes) -> Metadata:
    try:
        data = load_canonical(raw)
        if not isinstance(data, dict) or set(data) != {"file_name", "media_type", "title"}:
            raise ValueError("metadata")
        meta = Metadata(data["file_name"], data["media_type"], data["title"])
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise _malformed("métadonnées chiffrées illisibles") from exc
    if _metadata_problem(meta):
        raise _malformed("métadonnées chiffrées invalides")
    return meta
