"""Key pairs of the platform and of organisations; private halves only ever wrapped.

Usages: `sign` (Ed25519), `encrypt` (X25519), `recovery` (an organisation's offline X25519
public key: no private half here at all). A pair is current while `retired_at` is null;
a retired pair still opens what was sealed to it and still verifies what it signed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class KeyPair(Base):
    __tablename__ = "key_pair"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    # "platform" signs the audit checkpoints and the key directory; "organisation" keys sign
    # and open envelopes.
    owner: Mapped[str] = mapped_column(String(16))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    usage: Mapped[str] = mapped_column(String(16))  # "sign", "encrypt" or "recovery"
    algorithm: Mapped[str] = mapped_column(String(16))  # "Ed25519", "X25519"
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Wrapped by the master key (invariant 7); null for recovery keys held offline.
    wrapped_private_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # End of validity decided at creation (optional); past it the key no longer seals or signs.
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_key_pair_owner_usage", "owner", "organisation_id", "usage"),)
