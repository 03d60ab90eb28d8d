"""Consents recorded for a case. Only codes and ids here: purposes, organisation ids, data
categories, channel and dates — never the person's name or any free text."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class Consent(Base):
    """One decision of the person, as recorded by a professional of the case's organisation.

    `uid` is the public identifier written into envelope manifests; `purposes`, `recipients`
    (organisation ids) and `categories` are JSON lists. A consent is never edited: a new
    decision is a new row; withdrawal only sets `withdrawn_at`.
    """

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    decision: Mapped[str] = mapped_column(String(16))  # granted | refused
    purposes: Mapped[str] = mapped_column(Text)
    recipients: Mapped[str] = mapped_column(Text)
    categories: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))  # oral | written | electronic
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by: Mapped[int | None] = mapped_column(Integer)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_consent_case", "case_id", "given_at"),)
