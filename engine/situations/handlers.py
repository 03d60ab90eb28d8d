"""The situations domain's reactions to other domains' events."""

from __future__ import annotations

from engine import events
from engine.db import UnitOfWork
from engine.situations import service


@events.subscribe(events.CaseShredding)
def forget_search_tokens(uow: UnitOfWork, event: events.CaseShredding) -> int:
    """A shredded situation can no longer be found by name: its tokens go with its key."""
    return service.remove_tokens(uow, event.case_id)
