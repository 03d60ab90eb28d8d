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
    """One counted code. `next_month` and `previous_month` are written with the facts that
    follow (same transaction) so that counting needs no ranking of 100,000 rows:
    - `next_month`: for a `partition` indicator, the month of the subject's next fact of the
      indicator (NULL while it is the latest) — a fact counts in a period if its month is in
      it and its next one is not;
    - `previous_month`: for a `multiple` indicator, the month of the subject's previous fact
      with the same value — a fact counts once in a period if that month is before it.
    A subject's facts are written in month order (a person's register facts at once, a
    situation's records as they come), which is what makes both exact."""

    __tablename__ = "figure_fact"
    __table_args__ = (
        # Covering the counts: an index-only scan, no sort (docs/benchmarks.md).
        Index("ix_figure_fact_counting", "indicator", "month", "organisation_id", "value",
              "next_month", "previous_month"),
        Index("ix_figure_fact_subject", "indicator", "subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    situation_key: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7))
    indicator: Mapped[str] = mapped_column(String(48))
    value: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(80))
    next_month: Mapped[str | None] = mapped_column(String(7))
    previous_month: Mapped[str | None] = mapped_column(String(7))


class FigureScope(Base):
    """Members of `viewer_organisation_id` holding a figures role see `organisation_id`'s
    figures (a comité de suivi its territory, an employer its posts)."""

    __tablename__ = "figure_scope"

    viewer_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"),
                                                        primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True,
                                                 index=True)
