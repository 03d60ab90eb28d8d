"""Consents recorded for a case, their history and legal reviews (the notices sent to the
holders of copies are routing's: `engine.routing.models.ConsentNotice`). Only codes and ids
here: purposes, organisation ids, data categories, channel and dates — never the person's
name or any free text (free text, such as a legal basis's justification or a scanned consent
form, lives encrypted in `cases`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class Consent(Base):
    """One decision of the person, as recorded by a professional of the case's organisation.

    `uid` is the public identifier written into envelope manifests; `purposes`, `recipients`
    (organisation ids) and `categories` are JSON lists; `person` is the person's pseudonym
    within the case (`P1` the person followed, `P2`… relatives); `given_by` who gave the
    agreement (the person, a legal representative, the minor with the holders of parental
    authority). A consent is never edited:
    a changed decision is a new version (`supersedes_id` names the one it replaces, `version`
    counts them); withdrawal only sets `withdrawn_at`, and every change is also a
    `ConsentEvent`.
    """

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    person: Mapped[str] = mapped_column(String(8), server_default=text("'P1'"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("consent.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # granted | refused
    purposes: Mapped[str] = mapped_column(Text)
    recipients: Mapped[str] = mapped_column(Text)
    categories: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))  # oral | written | electronic
    # Who gave the agreement: personne | representant_legal | mineur_et_parents (catalogue's
    # GIVEN_BY_LABELS); null for a consent recorded before migration 0018.
    given_by: Mapped[str | None] = mapped_column(String(24))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by: Mapped[int | None] = mapped_column(Integer)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_consent_case", "case_id", "given_at"),)


class ConsentEvent(Base):
    """The append-only history of a consent: `recorded`, `superseded`, `evidence_attached`,
    `withdrawn`, `receipt_printed`. `record_id` names the encrypted case record involved
    (the scanned form); `details` holds codes only (JSON)."""

    __tablename__ = "consent_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by_user_id: Mapped[int | None] = mapped_column(Integer)
    record_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[str] = mapped_column(Text, server_default=text("'{}'"))


class LegalReview(Base):
    """The legal review a `requisition_60_1` invocation needs before anything is sent.

    One per `base_legale.json` record (`legal_basis_record_id`); `decision` is null while
    pending, then `approved` or `rejected`, set once by a human (`decided_by`)."""

    __tablename__ = "legal_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    legal_basis: Mapped[str] = mapped_column(String(64))
    legal_basis_record_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[int | None] = mapped_column(Integer)
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(Integer)
    answer_record_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("legal_basis_record_id",
                                       name="uq_legal_review_record"),)
