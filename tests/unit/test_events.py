"""Domain events: every listed handler module loads and subscribes; handlers run in order,
`publish` returns their results, `record` defers them to `dispatch` (before commit)."""

from __future__ import annotations

from dataclasses import dataclass

from engine import events
from engine.audit.service import SYSTEM


@dataclass(frozen=True)
class Pinged(events.Event):
    value: int


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.pending_events: list[events.Event] = []


def test_every_handler_module_loads_and_the_cascades_have_their_reactions():
    events.load_handlers()
    assert events.handlers_of(events.ConsentWithdrawn)  # routing and runtime react
    assert events.handlers_of(events.CaseShredding)  # routing, situations
    assert events.handlers_of(events.RecordStored)  # figures count
    assert events.handlers_of(events.DeliveryCreated)  # figures, webhooks


def test_publish_runs_handlers_now_and_record_waits_for_dispatch():
    seen: list[int] = []

    @events.subscribe(Pinged)
    def double(_uow, event: Pinged) -> int:
        seen.append(event.value)
        return event.value * 2

    uow = FakeUnitOfWork()
    assert events.publish(uow, Pinged(SYSTEM, 2)) == [4]  # type: ignore[arg-type]
    events.record(uow, Pinged(SYSTEM, 3))  # type: ignore[arg-type]
    assert seen == [2]
    events.dispatch(uow)  # type: ignore[arg-type]
    assert seen == [2, 3] and uow.pending_events == []
