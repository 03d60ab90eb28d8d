"""Envelope benchmark (part of `relais bench`): small-document latency and large-file throughput.

- small: seal then open a 20 KB payload for 3 recipients; median latency over `runs`;
- large: seal then open a 10 MB payload for 3 recipients, against raw AES-256-GCM encrypt then
  decrypt of the same bytes measured in the same run, interleaved; the ratio
  raw time / envelope time is the figure the issue targets (≥ 0.7).

Keys are generated in memory; no database, no file. Figures are medians, in milliseconds or
MB/s (1 MB = 10^6 bytes).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.bench.common import ms
from engine.documents import envelope

TARGET_RATIO = 0.7  # issue 16 raised it from 0.4
RECIPIENTS = 3


class _Parties:
    """A sender and three recipients with fresh keys, and the manifest fields they use."""

    def __init__(self) -> None:
        self.signing = Ed25519PrivateKey.generate()
        self.private = [X25519PrivateKey.generate() for _ in range(RECIPIENTS)]
        self.recipients = [envelope.Recipient(f"bench-{i}", key.public_key(), "bench-dest")
                           for i, key in enumerate(self.private)]
        self.trusted = envelope.TrustedKey("bench-sign", "bench-sender",
                                           self.signing.public_key())
        self.fields = envelope.ManifestFields(
            sender_organisation="bench-sender", purpose="bench", data_categories=["bench"],
            created_at=datetime.now(UTC), legal_basis="bench")
        self.metadata = envelope.Metadata("bench.bin", "application/octet-stream", "bench")

    def lookup(self, kid: str) -> envelope.TrustedKey | None:
        return self.trusted if kid == self.trusted.kid else None

    def seal(self, payload: bytes) -> bytes:
        return envelope.seal(payload, self.metadata, self.fields, self.signing, "bench-sign",
                             self.recipients)

    def open(self, blob: bytes) -> bytes:
        _meta, content = envelope.open(blob, "bench-2", self.private[2],
                                       public_key_lookup=self.lookup)
        return content


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _seal_open(parties: _Parties, payload: bytes) -> tuple[float, float]:
    seal_s, blob = _timed(lambda: parties.seal(payload))
    open_s, content = _timed(lambda: parties.open(blob))
    if content != payload:
        raise AssertionError("round trip changed the payload")
    return seal_s, open_s


def _raw_aes(payload: bytes) -> float:
    key, nonce = AESGCM(AESGCM.generate_key(bit_length=256)), os.urandom(12)
    start = time.perf_counter()
    key.decrypt(nonce, key.encrypt(nonce, payload, b"aad"), b"aad")
    return time.perf_counter() - start


def run(small_size: int = 20 * 1024, large_size: int = 10 * 1024 * 1024,
        small_runs: int = 50, large_runs: int = 7) -> dict[str, float | int]:
    """Measure and return the figures (see the module docstring); no assertion on time."""
    parties = _Parties()
    small = os.urandom(small_size)
    _seal_open(parties, small)  # warm-up: imports, OpenSSL initialisation
    small_times = [_seal_open(parties, small) for _ in range(small_runs)]
    large = os.urandom(large_size)
    raw, env = [], []
    for _ in range(large_runs):
        raw.append(_raw_aes(large))
        env.append(sum(_seal_open(parties, large)))
    raw_s, env_s = statistics.median(raw), statistics.median(env)
    return {
        "envelope_recipients": RECIPIENTS,
        "envelope_small_bytes": small_size,
        "envelope_small_seal_ms": ms(statistics.median(s for s, _ in small_times)),
        "envelope_small_open_ms": ms(statistics.median(o for _, o in small_times)),
        "envelope_small_seal_open_ms": ms(statistics.median(s + o for s, o in small_times)),
        "envelope_large_bytes": large_size,
        "envelope_large_seal_open_ms": ms(env_s),
        "envelope_large_mb_s": round(large_size / env_s / 1e6, 1),
        "raw_aes_gcm_mb_s": round(large_size / raw_s / 1e6, 1),
        "envelope_throughput_ratio": round(raw_s / env_s, 3),
        "envelope_target_ratio": TARGET_RATIO,
    }

