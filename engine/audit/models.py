"""Audit tables. Rows are only ever inserted; PostgreSQL refuses UPDATE/DELETE by trigger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    # Assigned by `append` (last + 1), not by the database, so the chain has no gaps.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_label: Mapped[str] = mapped_column(String(120))
    via_token_id: Mapped[int | None] = mapped_column(Integer)
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON; ids and codes, never free text
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_entry_subject", "subject_type", "subject_id"),
        Index("ix_audit_entry_action_at", "action", "at"),
    )


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    # Position in the chain of checkpoints and the hash of the previous checkpoint, both
    # signed; null only on checkpoints signed before checkpoints were chained (legacy).
    number: Mapped[int | None] = mapped_column(Integer, index=True, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
