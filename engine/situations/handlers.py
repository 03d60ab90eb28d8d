"""The situations domain's reactions to other domains' events."""

from __future__ import annotations

from engine import events
from engine.db import UnitOfWork
from engine.situations import orientation, service


@events.subscribe(events.CaseShredding)
def forget_search_tokens(uow: UnitOfWork, event: events.CaseShredding) -> int:
    """A shredded situation can no longer be found by name: its tokens go with its key."""
    return service.remove_tokens(uow, event.case_id)


@events.subscribe(events.DeliveryCreated)
def open_oriented_situation(uow: UnitOfWork, event: events.DeliveryCreated) -> int | None:
    """An orientation from police or gendarmerie opens a situation in the IS's organisation
    (`orientation.open_from_orientation`)."""
    return orientation.open_from_orientation(uow, event)
