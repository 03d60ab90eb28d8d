"""The master key wraps every private key and secret at rest (invariant 7).

`MasterKey` is the KMS-style interface: `wrap`/`unwrap` bytes under a context label that is
bound as associated data, so a blob wrapped for one purpose cannot be unwrapped for another.
Embedded mode keeps the key in a file created by `relais init`; production may plug another
implementation with the same two methods.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.keys.errors import MasterKeyMissing, UnwrapFailed

MAGIC = b"RMK1"


class MasterKey(Protocol):
    def wrap(self, plaintext: bytes, context: str) -> bytes: ...
    def unwrap(self, blob: bytes, context: str) -> bytes: ...


class FileMasterKey:
    """A 256-bit AES-GCM key read from a file (mode 0600)."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise MasterKeyMissing("La clé maîtresse doit faire 256 bits.")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"relais-master-key-id" + key).digest()[:8]

    @classmethod
    def load(cls, path: Path) -> FileMasterKey:
        try:
            raw = path.read_text().strip()
        except FileNotFoundError as exc:
            raise MasterKeyMissing(
                f"Clé maîtresse introuvable ({path}) : lancez « relais init » ou définissez "
                "RELAIS_MASTER_KEY_FILE."
            ) from exc
        return cls(base64.b64decode(raw))

    @staticmethod
    def create(path: Path) -> bool:
        """Create the key file if it does not exist; True when it was created."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode() + "\n")
        return True

    def wrap(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        return MAGIC + self.key_id + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def unwrap(self, blob: bytes, context: str) -> bytes:
        if blob[:4] != MAGIC or blob[4:12] != self.key_id:
            raise UnwrapFailed("Secret chiffré par une autre clé maîtresse.")
        try:
            return self._aead.decrypt(blob[12:24], blob[24:], context.encode())
        except InvalidTag as exc:
            raise UnwrapFailed("Secret chiffré illisible (altéré ou autre contexte).") from exc
