"""Pieces of a dossier. In clear: ids, the kind of document (a constant label), dates. The
document itself is a case record, encrypted under the case key: destroying the key destroys
every piece."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class Piece(Base):
    """One document of a case: `generated` by a protocol of the case, or `filed` from a
    delivery its organisation received (then `delivery_id`, filed once)."""

    __tablename__ = "dossier_piece"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    document_name: Mapped[str] = mapped_column(String(200))
    template: Mapped[str | None] = mapped_column(String(200))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("delivery.id"), unique=True)
    # When the document was established: generated now, or sent by its author.
    document_date: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
