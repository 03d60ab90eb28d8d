"""The situations domain's tables. No name, birth date or free text rests here in clear:
identities and notes are case records (encrypted under the case key), the search index holds
keyed hashes only, and the register holds codes, booleans and dates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class SearchKey(Base):
    """An organisation's HMAC key for the blind index, wrapped by the master key."""

    __tablename__ = "search_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), unique=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SituationPerson(Base):
    """A person of a situation: their identity is the encrypted case record `record_id`."""

    __tablename__ = "situation_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"))
    kind: Mapped[str] = mapped_column(String(16))  # victime, auteur, temoin, autre
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SearchToken(Base):
    """One keyed hash of a normalised name token (or prefix, or birth year) of a person."""

    __tablename__ = "search_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    token: Mapped[str] = mapped_column(String(64))  # hex HMAC-SHA256
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("situation_person.id"))

    __table_args__ = (Index("ix_search_token_org_token", "organisation_id", "token"),)


class Reception(Base):
    """One entry of the register of people received: structured fields only (the activity
    figures are counted from them), outside any protocol."""

    __tablename__ = "reception"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("situation_person.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    received_on: Mapped[date] = mapped_column(Date())
    person_kind: Mapped[str] = mapped_column(String(16))
    arrival: Mapped[str] = mapped_column(String(24))
    problems: Mapped[str] = mapped_column(Text)  # JSON list of codes
    orientations: Mapped[str] = mapped_column(Text)  # JSON list of codes
    known_to_social_services: Mapped[bool | None] = mapped_column(Boolean)
    minors_involved: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
