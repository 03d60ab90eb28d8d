"""Domain events: what a domain reports so that other domains can react, inside one transaction.

A service that changes something other domains care about does not call them: it publishes
an event on its unit of work. Handlers are registered by the domains that care (with
`@subscribe(EventType)`) in their own `handlers` module, named in `HANDLER_MODULES`; they run
inside the same transaction, so the change and every reaction commit or roll back together
(invariant 3).

Two ways to publish:
- `publish(uow, event)` runs the handlers now and returns their results, for a service that
  must report what the cascade did (a withdrawal answers which transmissions it cancelled);
- `record(uow, event)` queues it; `dispatch(uow)` runs the queue just before commit
  (`UnitOfWork.commit` calls it), handlers that publish or record more events included.

Guarantees:
- Dependencies run one way: an emitting domain imports only this module; a reacting domain
  imports this module and the emitting domain's services, never the reverse.
- Events carry identifiers, codes and dates only — never personal data: webhook payloads and
  activity facts are built from them.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from engine.audit.service import Actor
    from engine.db import UnitOfWork

# The modules that register handlers; imported once, on the first publish or dispatch.
HANDLER_MODULES: list[str] = [
    "engine.routing.handlers",
    "engine.runtime.handlers",
    "engine.figures.handlers",
    "engine.situations.handlers",
    "webhooks.handlers",
]


@dataclass(frozen=True)
class Event:
    """Base of every domain event. `actor` is who caused it (audited by the reactions)."""

    actor: Actor


@dataclass(frozen=True)
class ConsentWithdrawn(Event):
    """A person withdrew a consent: what rested on it alone must stop."""

    case_id: int
    consent_id: int
    consent_uid: str
    organisation_id: int


@dataclass(frozen=True)
class CaseShredding(Event):
    """A case is about to be crypto-shredded (destruction request or retention): pending
    transmissions are cancelled and holders notified before its key is destroyed."""

    case_id: int
    organisation_id: int
    reason: str


@dataclass(frozen=True)
class RecordStored(Event):
    """A record was kept in a case; `stats` are the (indicator, code) pairs its form marks
    for the activity figures (`x-relais-stat`): codes only, never a typed text."""

    case_id: int
    organisation_id: int
    record_id: int
    form: str | None
    stats: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PersonReceived(Event):
    """The IS recorded a person received in the register: codes, the month, an age band, the
    sex's code and the commune's INSEE code only (never a name, a birth date or a typed text)
    — what the activity figures count."""

    case_id: int
    organisation_id: int
    person_id: int
    month: str  # YYYY-MM of the reception
    person_kind: str
    arrival: str
    problems: tuple[str, ...]
    orientations: tuple[str, ...]
    known: str
    minors_involved: bool
    age_band: str | None
    sex: str = "non_renseigne"
    commune: str | None = None  # a code of the territory's list (INSEE), never typed text


@dataclass(frozen=True)
class DeliveryCreated(Event):
    """A sealed document was addressed to an organisation (and role)."""

    delivery_id: int
    sender_organisation_id: int
    recipient_organisation_id: int
    recipient_role: str | None
    purpose: str | None
    case_id: int | None


@dataclass(frozen=True)
class DeliveryAcknowledged(Event):
    """The recipient signed the receipt of a delivery."""

    delivery_id: int
    sender_organisation_id: int
    recipient_organisation_id: int
    hours_to_acknowledge: int | None = None  # whole hours from sending to the receipt


@dataclass(frozen=True)
class TaskCreated(Event):
    """A human task became ready, for a role of an organisation (the lane's)."""

    task_id: int
    instance_id: int
    organisation_id: int | None
    role: str | None
    process_id: str


@dataclass(frozen=True)
class InstanceStarted(Event):
    """A protocol instance was started for a situation."""

    instance_id: int
    organisation_id: int | None
    process_id: str


@dataclass(frozen=True)
class InstanceCompleted(Event):
    """A protocol instance reached its end."""

    instance_id: int
    organisation_id: int | None
    process_id: str


@dataclass(frozen=True)
class IncidentOpened(Event):
    """A background step failed for good: administrators must look (platform-wide)."""

    incident_id: int
    instance_id: int | None
    kind: str


@dataclass(frozen=True)
class AuditCheckpointed(Event):
    """The platform signed the head of the audit log: partners may witness it."""

    number: int
    seq: int
    hash: str


E = TypeVar("E", bound=Event)
Handler = Callable[["UnitOfWork", Any], Any]
_handlers: dict[type[Event], list[Handler]] = defaultdict(list)
_loaded = False


def subscribe(event_type: type[E]) -> Callable[[Callable[[UnitOfWork, E], Any]],
                                               Callable[[UnitOfWork, E], Any]]:
    """Register the decorated function as a handler of `event_type` (module import time)."""

    def register(handler: Callable[[UnitOfWork, E], Any]) -> Callable[[UnitOfWork, E], Any]:
        if handler not in _handlers[event_type]:
            _handlers[event_type].append(handler)
        return handler

    return register


def load_handlers() -> None:
    """Import every handler module once, so that their subscriptions exist. A listed module
    that cannot be imported is a bug and fails loudly (a missing reaction would otherwise
    pass unnoticed)."""
    global _loaded
    if _loaded:
        return
    for name in HANDLER_MODULES:
        importlib.import_module(name)
    _loaded = True


def handlers_of(event_type: type[Event]) -> list[Handler]:
    load_handlers()
    return [h for cls in event_type.__mro__ if issubclass(cls, Event)
            for h in _handlers.get(cls, [])]


def publish(uow: UnitOfWork, event: Event) -> list[Any]:
    """Run the handlers of `event` now, in registration order; return their results."""
    return [handler(uow, event) for handler in handlers_of(type(event))]


def record(uow: UnitOfWork, event: Event) -> None:
    """Queue `event`; its handlers run in `dispatch`, just before the unit of work commits."""
    uow.pending_events.append(event)


def dispatch(uow: UnitOfWork, limit: int = 10_000) -> None:
    """Run every queued event's handlers, including events the handlers queue, in order.

    `limit` stops a cycle of handlers re-queuing each other (a bug) instead of looping."""
    done = 0
    while uow.pending_events:
        event = uow.pending_events.pop(0)
        publish(uow, event)
        done += 1
        if done > limit:
            raise RuntimeError("domain events: too many events in one transaction "
                               "(a cycle between handlers?)")

