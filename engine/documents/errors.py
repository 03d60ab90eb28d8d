"""Document and envelope errors. Every refusal carries a stable `code` and a French reason."""

from __future__ import annotations

from datetime import datetime

from engine.errors import RelaisError


class DocumentError(RelaisError):
    code = "document_error"
    status = 422


class SealRefused(DocumentError):
    """The request to seal is incomplete or inconsistent; nothing was produced."""

    code = "seal_refused"


class EnvelopeInvalid(DocumentError):
    """An envelope that must not be trusted or cannot be opened; `code` says why.

    Stable codes (see docs/envelope.md): `bad_magic`, `unsupported_version`, `truncated`,
    `oversized`, `trailing_bytes`, `malformed`, `bad_signature`, `hash_mismatch`,
    `unknown_key`, `wrong_sender`, `key_not_valid`, `not_a_recipient`, `recipient_mismatch`,
    `decryption_failed`, `key_destroyed`.
    """

    code = "envelope_invalid"

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)

    @classmethod
    def key_destroyed(cls, destroyed_at: datetime) -> EnvelopeInvalid:
        """Crypto-shredding: the key this envelope depends on no longer exists anywhere."""
        return cls("key_destroyed",
                   f"Document illisible : sa clé a été détruite le "
                   f"{destroyed_at:%d/%m/%Y à %H:%M} (UTC). Il ne peut plus être ouvert.")
