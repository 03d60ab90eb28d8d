"""Territory tables: a territory, the organisations that belong to it, its partner slots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class Territory(Base):
    __tablename__ = "territory"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TerritoryMember(Base):
    """An organisation belongs to at most one territory (the primary key says so): the one
    whose partners its protocols send to."""

    __tablename__ = "territory_member"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"),
                                                 primary_key=True)
    territory_id: Mapped[int] = mapped_column(ForeignKey("territory.id"), index=True)


class TerritoryPartner(Base):
    """The organisation chosen for one slot (engine/territory/slots.py) of a territory."""

    __tablename__ = "territory_partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int] = mapped_column(ForeignKey("territory.id"))
    slot: Mapped[str] = mapped_column(String(32))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)

    __table_args__ = (UniqueConstraint("territory_id", "slot", name="uq_territory_slot"),)
