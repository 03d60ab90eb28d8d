"""Deliveries and receipts. In clear: ids, codes, dates, the kind label of the document, and
the signed manifest (codes only, see docs/envelope.md). The envelope itself — wrapped keys
and ciphertext — rests only encrypted under the case key, so crypto-shredding the case makes
every stored copy unreadable, recovery key included."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class Delivery(Base):
    """One document sent by an organisation to another. Status: sealed → delivered → opened
    → acknowledged (acknowledging before opening is allowed; `opened_at` still says when)."""

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    envelope_id: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), index=True)
    outbox_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    sender_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    recipient_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    # The role within the recipient organisation the document is for; null = every member.
    recipient_role: Mapped[str | None] = mapped_column(String(32))
    author_user_id: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(200))
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consent.id"), index=True)
    legal_basis: Mapped[str | None] = mapped_column(String(200))
    categories: Mapped[str] = mapped_column(Text)  # JSON list of data category codes
    document_name: Mapped[str] = mapped_column(String(200))  # the template's kind label
    template: Mapped[str | None] = mapped_column(String(200))
    manifest: Mapped[str] = mapped_column(Text)  # canonical JSON, signed; codes only
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_by: Mapped[int | None] = mapped_column(Integer)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The whole `.relais` file, AES-256-GCM under the case key (AAD: envelope id).
    storage_nonce: Mapped[bytes] = mapped_column(LargeBinary)
    # Deferred: lists (the inbox, a case's deliveries) never load the documents themselves;
    # opening one reads its content then.
    storage_ciphertext: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    __table_args__ = (Index("ix_delivery_inbox", "recipient_organisation_id", "status", "id"),)


class Receipt(Base):
    """The recipient organisation's signed statement that it received this manifest."""

    __tablename__ = "receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery.id"), unique=True)
    statement: Mapped[str] = mapped_column(Text)  # canonical JSON that was signed
    signer_kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[int] = mapped_column(Integer)


class ConsentNotice(Base):
    """What a recipient organisation is told about a copy it holds: the consent it rests on
    was withdrawn (`consent_withdrawn`) or the data was destroyed (`data_destroyed`).
    Routing owns deliveries, hence the notices about them (the table keeps its name)."""

    __tablename__ = "consent_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    recipient_role: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consent.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_consent_notice_org", "organisation_id", "id"),)
