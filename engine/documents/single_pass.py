"""One pass over a document while sealing it (used by `envelope.seal`).

The AES-256-GCM ciphertext is written straight into the final `.relais` buffer (no
ciphertext object, then no second copy when the file is assembled), chunk by chunk; each
chunk, once written, is handed to a worker thread that hashes it for the manifest's
`ciphertext_sha256` while the next chunk is encrypted (hashlib and OpenSSL both release the
GIL on large buffers, so on two cores the hash costs little wall time). Small documents are
hashed inline: a thread would cost more than it saves. The bytes produced are exactly those of
format 1 (docs/envelope.md): only how they are computed changes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from queue import SimpleQueue

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CHUNK = 1024 * 1024
NONCE_LEN = 12
TAG_LEN = 16


class _OrderedHasher:
    """SHA-256 of the slices given to `add`, in order; in a worker thread when `parallel`."""

    def __init__(self, parallel: bool):
        self._digest = hashlib.sha256()
        self._queue: SimpleQueue[memoryview | None] | None = None
        self._thread: threading.Thread | None = None
        if parallel:
            self._queue = SimpleQueue()
            self._thread = threading.Thread(target=self._run, name="relais-envelope-sha256",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        assert self._queue is not None
        while (item := self._queue.get()) is not None:
            self._digest.update(item)

    def add(self, data: memoryview) -> None:
        if self._queue is None:
            self._digest.update(data)
        else:
            self._queue.put(data)

    def hexdigest(self) -> str:
        """Wait for every slice given so far; the hex digest."""
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._queue = None
        return self._digest.hexdigest()


def ciphertext_length(parts: Sequence[bytes]) -> int:
    """Size of the ciphertext section for this plaintext: nonce ‖ ciphertext ‖ tag."""
    return NONCE_LEN + sum(len(p) for p in parts) + TAG_LEN


def encrypt_into(out: bytearray, pos: int, key: bytes, nonce: bytes, aad: bytes,
                 parts: Sequence[bytes], parallel_from: int) -> str:
    """Write `nonce ‖ AES-256-GCM(key, nonce, b"".join(parts), aad) ‖ tag` into `out` at
    `pos` (which must have exactly that room) and return the SHA-256 (hex) of those bytes,
    computed in the same pass. The plaintext parts are read once and never joined."""
    if len(nonce) != NONCE_LEN or len(out) - pos != ciphertext_length(parts):
        raise ValueError("ciphertext section of unexpected size")
    view = memoryview(out)
    hasher = _OrderedHasher(parallel=len(out) - pos >= parallel_from)
    try:
        view[pos:pos + NONCE_LEN] = nonce
        hasher.add(view[pos:pos + NONCE_LEN])
        pos += NONCE_LEN
        encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        for part in parts:
            data = memoryview(part)
            for start in range(0, len(data), CHUNK):
                # The room left always exceeds the chunk by the tag's 16 bytes, as
                # update_into asks (len + block size - 1).
                written = encryptor.update_into(data[start:start + CHUNK], view[pos:])
                hasher.add(view[pos:pos + written])
                pos += written
        if encryptor.finalize():  # GCM is a stream mode: nothing is held back
            raise ValueError("unexpected trailing ciphertext")
        view[pos:pos + TAG_LEN] = encryptor.tag
        hasher.add(view[pos:pos + TAG_LEN])
    finally:
        digest = hasher.hexdigest()  # never leave the worker thread behind
    return digest
