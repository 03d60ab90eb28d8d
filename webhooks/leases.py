"""Leased rows, as the outbox does it: the relay claims due rows (skipping those another
relay holds on PostgreSQL) and leases them; an attempt locks its row before deciding."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select

from engine.db import UnitOfWork
from engine.jobs.outbox import lease

T = TypeVar("T")


def claim(uow: UnitOfWork, model: type[T], stmt: Select[Any], limit: int = 100) -> list[T]:
    """Due rows of `model` (pending, or running past their lease) selected by `stmt`, now
    leased as pending: a row is handed out again only once its lease has expired."""
    now = uow.now()
    stmt = (stmt.where(model.status.in_(("pending", "running")),  # type: ignore[attr-defined]
                       model.next_attempt_at <= now)  # type: ignore[attr-defined]
            .order_by(model.next_attempt_at, model.id).limit(limit))  # type: ignore[attr-defined]
    if uow.dialect == "postgresql":
        stmt = stmt.with_for_update(of=model, skip_locked=True)
    return list(uow.session.scalars(stmt))


def release(uow: UnitOfWork, rows: list[Any]) -> list[int]:
    """Mark claimed rows pending under a fresh lease; their ids go to the actor."""
    for row in rows:
        row.status, row.next_attempt_at = "pending", uow.now() + lease()
    return [row.id for row in rows]


def lock(uow: UnitOfWork, model: type[T], row_id: int) -> T | None:
    stmt = select(model).where(model.id == row_id)  # type: ignore[attr-defined]
    if uow.dialect == "postgresql":
        stmt = stmt.with_for_update()
    return uow.session.scalars(stmt).first()


def held(uow: UnitOfWork, row: Any) -> bool:
    """A live attempt holds the row's lease: a duplicate broker message must not run it."""
    return row.status == "running" and row.next_attempt_at > uow.now()
