"""ITP sessions and the situations booked into them. Ids, dates and counts only: what a
situation is about stays in its case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class ItpSession(Base):
    """One weekly meeting of a council's ITP, with the number of situations it can examine."""

    __tablename__ = "itp_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    place: Mapped[str | None] = mapped_column(String(200))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("organisation_id", "starts_at",
                                       name="uq_itp_session_org_start"),)


class ItpBooking(Base):
    """A situation (instance of `itp_synthese`) inscribed in a session."""

    __tablename__ = "itp_booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("itp_session.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    # The outbox row that booked it: a retried connector finds its booking again.
    outbox_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime())
