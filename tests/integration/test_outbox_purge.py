"""Finished outbox rows are purged by the scheduler after their retention (issue 16): rows
done for longer than RELAIS_OUTBOX_RETENTION_DAYS go; recent, pending, failed and cancelled
rows stay, and so does the newest row (no id is ever handed out twice)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.db import transaction
from engine.jobs import outbox
from engine.jobs.runner import Jobs
from engine.runtime.models import OutboxItem


def add(db, clock, status: str, done_days_ago: float | None) -> int:
    now = clock.now()
    with transaction(db) as uow:
        item = OutboxItem(kind="connector", operator="essai", params="{}", status=status,
                          attempts=1, next_attempt_at=now, created_at=now - timedelta(days=30),
                          done_at=None if done_days_ago is None
                          else now - timedelta(days=done_days_ago))
        uow.session.add(item)
        uow.session.flush()
        return item.id


def remaining(db) -> set[int]:
    with db.unit_of_work() as uow:
        return set(uow.session.scalars(select(OutboxItem.id)))


def test_the_scheduler_purges_rows_done_past_their_retention(db, clock, monkeypatch):
    monkeypatch.setenv("RELAIS_OUTBOX_RETENTION_DAYS", "7")
    old_done = [add(db, clock, "done", 8 + n) for n in range(3)]
    kept = {add(db, clock, "done", 6), add(db, clock, "failed", None),
            add(db, clock, "cancelled", 9), add(db, clock, "pending", None)}
    newest = add(db, clock, "done", 10)  # old, but the newest id: kept
    jobs = Jobs(db, None)
    assert jobs.tick()["outbox_purged"] == 3
    assert remaining(db) == kept | {newest}
    assert not set(old_done) & remaining(db)


def test_the_purge_runs_once_an_hour_and_respects_the_setting(db, clock, monkeypatch):
    monkeypatch.setenv("RELAIS_OUTBOX_RETENTION_DAYS", "30")
    first = add(db, clock, "done", 10)
    add(db, clock, "pending", None)
    jobs = Jobs(db, None)
    assert jobs.tick()["outbox_purged"] == 0  # 10 days < 30: kept
    monkeypatch.setenv("RELAIS_OUTBOX_RETENTION_DAYS", "7")
    assert jobs.tick()["outbox_purged"] == 0  # within the hour: not looked at again
    assert first in remaining(db)
    clock.advance(hours=2)
    assert jobs.tick()["outbox_purged"] == 1
    assert first not in remaining(db)


def test_the_purge_goes_in_bounded_batches(db, clock):
    ids = [add(db, clock, "done", 20) for _ in range(5)]
    with transaction(db) as uow:
        assert outbox.purge_finished(uow, limit=2) == 2
    assert remaining(db) == set(ids[2:])
