"""Regenerate tests/vectors/envelope-v1.{json,relais} (run from the project root):

    .venv/bin/python tests/vectors/make_envelope_vectors.py

Keys derive from fixed labels (seed = SHA-256 of the label), so anyone can rebuild them.
HPKE encapsulation and the content nonce are random, so a new run gives a different file:
the vector is "this file verifies with this public key and opens with these private keys to
these bytes", not a byte-for-byte output of `seal`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from engine.documents import envelope
from engine.keys.directory import kid_for

HERE = Path(__file__).parent
RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw

SENDER_LABEL = b"relais-vector/v1/sender/asso-iscg-demo/ed25519"
RECIPIENTS = (
    ("cd-demo", envelope.USAGE_ENCRYPT, b"relais-vector/v1/recipient/cd-demo/x25519"),
    ("cmp-demo", envelope.USAGE_ENCRYPT, b"relais-vector/v1/recipient/cmp-demo/x25519"),
    ("cmp-demo", envelope.USAGE_RECOVERY, b"relais-vector/v1/recovery/cmp-demo/x25519"),
)
CONTENT = "Fiche de liaison — « essai » — 26 novembre 2026. Données fictives.\n".encode()
METADATA = envelope.Metadata("fiche-liaison.txt", "text/plain", "Fiche de liaison (essai)")
FIELDS = dict(sender_organisation="asso-iscg-demo", purpose="accompagnement_social",
              data_categories=["situation_familiale", "coordonnees"],
              author_user_id=1, consent_id="c0ffee00-0000-4000-8000-000000000001",
              envelope_id="5b0e4a3c-2f1d-4c6b-9a8e-7d6c5b4a3f21",
              created_at=datetime(2026, 11, 26, 9, 30, tzinfo=UTC))


def seed(label: bytes) -> bytes:
    return hashlib.sha256(label).digest()


def main() -> None:
    signer = Ed25519PrivateKey.from_private_bytes(seed(SENDER_LABEL))
    sender_public = signer.public_key().public_bytes(*RAW)
    sender_kid = kid_for("Ed25519", sender_public)
    recipients, described = [], []
    for org, usage, label in RECIPIENTS:
        private = X25519PrivateKey.from_private_bytes(seed(label))
        public = private.public_key().public_bytes(*RAW)
        kid = kid_for("X25519", public)
        recipients.append(envelope.Recipient(kid, private.public_key(), org, usage))
        described.append({"organisation": org, "usage": usage, "kid": kid,
                          "seed_label": label.decode(), "x25519_private_hex": seed(label).hex(),
                          "x25519_public_hex": public.hex()})
    blob = envelope.seal(CONTENT, METADATA, envelope.ManifestFields(**FIELDS), signer,
                         sender_kid, recipients)
    env = envelope.inspect(blob)
    (HERE / "envelope-v1.relais").write_bytes(blob)
    vector = {
        "description": "Relais envelope format 1: verifies with the sender key, opens with each "
                       "recipient key (the recovery key alone included) to `content`.",
        "file": "envelope-v1.relais",
        "file_sha256": hashlib.sha256(blob).hexdigest(),
        "sender": {"organisation": "asso-iscg-demo", "kid": sender_kid,
                   "seed_label": SENDER_LABEL.decode(),
                   "ed25519_private_hex": seed(SENDER_LABEL).hex(),
                   "ed25519_public_hex": sender_public.hex()},
        "recipients": described,
        "manifest": env.manifest_bytes.decode(),
        "manifest_sha256": env.manifest_hash,
        "header_sha256": env.header_hash.hex(),
        "signature_b64": base64.b64encode(env.signature).decode(),
        "metadata": METADATA.to_dict(),
        "content_utf8": CONTENT.decode(),
    }
    (HERE / "envelope-v1.json").write_text(json.dumps(vector, indent=2, ensure_ascii=False)
                                           + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
