"""Sealing in one pass (issue 16, envelope throughput): the ciphertext written in place and
hashed as it goes is byte for byte what AES-256-GCM and SHA-256 give in two passes, and a
sealed file is exactly the format-1 layout `encode` writes — inline and threaded alike."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.bench import documents as bench
from engine.documents import envelope, single_pass

KEY, NONCE, AAD = bytes(range(32)), bytes(range(12)), b"header-hash"


@pytest.mark.parametrize("size", [0, 100, single_pass.CHUNK - 1, 3 * single_pass.CHUNK + 7])
@pytest.mark.parametrize("parallel_from", [0, 10**12])  # threaded / inline hashing
def test_encrypt_into_equals_two_passes(size, parallel_from):
    head, body = b"\x00\x00\x00\x02{}", os.urandom(size)
    out = bytearray(5 + single_pass.ciphertext_length((head, body)))
    digest = single_pass.encrypt_into(out, 5, KEY, NONCE, AAD, (head, body), parallel_from)
    expected = NONCE + AESGCM(KEY).encrypt(NONCE, head + body, AAD)
    assert bytes(out[5:]) == expected and out[:5] == bytes(5)
    assert digest == hashlib.sha256(expected).hexdigest()


def test_encrypt_into_refuses_a_buffer_of_the_wrong_size():
    out = bytearray(single_pass.ciphertext_length((b"abc",)) + 1)
    with pytest.raises(ValueError):
        single_pass.encrypt_into(out, 0, KEY, NONCE, AAD, (b"abc",), 0)


@pytest.mark.parametrize("size", [20 * 1024, 3 * 1024 * 1024 + 5])
def test_a_sealed_file_is_the_format_1_layout_and_opens(size):
    parties, content = bench._Parties(), os.urandom(size)
    blob = parties.seal(content)
    env = envelope.inspect(blob)
    wrapped = envelope._wrapped_bytes(env.wrapped_keys)
    assert bytes(blob) == envelope.encode(env.manifest_bytes, env.signature, wrapped,
                                          [bytes(env.ciphertext)])
    assert env.manifest.ciphertext_sha256 == hashlib.sha256(env.ciphertext).hexdigest()
    assert parties.open(blob) == content
    tampered = bytearray(blob)
    tampered[-100] ^= 1
    with pytest.raises(envelope.EnvelopeInvalid):
        parties.open(bytes(tampered))
