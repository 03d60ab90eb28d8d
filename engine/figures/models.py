"""Tables of the activity figures: facts (codes only), who may see whose figures, the key.

A fact holds an organisation, a month, an indicator code, a value code and two pseudonymous
keys (the situation's, and the counted subject's) — no name, no free text, no day-precise
date, no link to a record or a case row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class FigureKey(Base):
    """The installation's secret for pseudonymous keys, wrapped by the master key."""

    __tablename__ = "figure_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Fact(Base):
    __tablename__ = "figure_fact"
    __table_args__ = (Index("ix_figure_fact_indicator_month", "indicator", "month",
                            "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    situation_key: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7))
    indicator: Mapped[str] = mapped_column(String(48))
    value: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(80))


class FigureScope(Base):
    """Members of `viewer_organisation_id` holding a figures role see `organisation_id`'s
    figures (a comité de suivi its territory, an employer its posts)."""

    __tablename__ = "figure_scope"

    viewer_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"),
                                                        primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True,
                                                 index=True)
