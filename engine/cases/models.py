"""Cases and their encrypted records. No personal data is stored in clear here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class Case(Base):
    """A situation followed by an organisation; its key encrypts every record of it."""

    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    opened_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # AES-256 key wrapped by the master key; emptied when destroyed (crypto-shredding).
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    key_destroyed_by: Mapped[int | None] = mapped_column(Integer)
    key_destroyed_reason: Mapped[str | None] = mapped_column(String(40))
    # The gravest gravity of the facts its records declare (`contravention`, `delit`, `crime`,
    # a form field marked `x-relais-retention`): how long the retention sweep keeps the purposes
    # that follow it (engine.consent.catalogue.retention_of). A code, never a text.
    gravity: Mapped[str | None] = mapped_column(String(16))


class CaseRecord(Base):
    """One encrypted submission (a form, a note) of a case; only codes are in clear."""

    __tablename__ = "case_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    kind: Mapped[str] = mapped_column(String(40))
    form: Mapped[str | None] = mapped_column(String(120))
    instance_id: Mapped[int | None] = mapped_column(Integer)
    task_ref: Mapped[str | None] = mapped_column(String(64))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    categories: Mapped[str] = mapped_column(Text)  # JSON list of data categories
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_case_record_case_kind", "case_id", "kind"),)


class CaseDisclosure(Base):
    """An administrator's request to see which situation an instance belongs to, answered by
    a professional of the organisation that holds the situation (a legal review): approved,
    the case id is shown to that administrator until `expires_at`. Nothing else is opened."""

    __tablename__ = "case_disclosure"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_by: Mapped[int | None] = mapped_column(Integer)
    approved: Mapped[bool | None] = mapped_column(Boolean)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
