"""Messages posted to the runtime: stored once per sender, delivered to the instance that
waits for them, or starting a protocol whose start event waits for them, or buffered until
they expire.

Guarantees (see `engine.runtime.correlation` for the rules of correlation):
- a message sent by an organisation is delivered only to instances it takes part in, and
  starts a protocol only when the sender may start it; the platform's messages reach any;
- finding the waiting instance is one indexed query, never a scan of instances;
- payloads and correlations posted through the API hold routable values only: anything else
  is refused (422) and nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.audit import service as audit
from engine.audit.service import SYSTEM, Actor
from engine.cases import service as cases
from engine.db import UnitOfWork
from engine.errors import Invalid
from engine.identity.errors import PermissionDenied
from engine.identity.service import Principal
from engine.runtime import spiff
from engine.runtime.correlation import (
    candidates,
    catch,
    correlates,
    may_reach,
    require_routable,
    store_message,
    waiting_for,
)
from engine.runtime.deployments import can_start
from engine.runtime.execution import RUNNING, advance, create_instance, load
from engine.runtime.models import Instance, Message, ProcessVersion
from engine.runtime.queries import involves
from engine.runtime.withdrawals import available_versions

# Messages only the platform itself sends, never a caller of the API: routing's receipt
# ("accuse_reception", sent once the recipient organisation has signed) would otherwise be
# forgeable by anyone allowed to post messages to the instance; likewise consent's
# "consentement_retire" (sent to the case's instances when a consent is withdrawn).
PLATFORM_MESSAGES = frozenset({"accuse_reception", "consentement_retire"})


def receive_message(uow: UnitOfWork, actor: Actor, *, name: str,
                    correlation: Mapping[str, Any], payload: Mapping[str, Any],
                    message_id: str, visible_to: set[int] | None = None,
                    starter: Principal | None = None,
                    from_platform: bool = False) -> tuple[Message | None, int | None]:
    """Store a message (once per sender and message_id) and deliver it if an instance waits
    for it; else, with a `starter`, start a protocol whose start event waits for it; else
    buffer it until it expires. Names in PLATFORM_MESSAGES are accepted only
    `from_platform`. The sender is the actor's organisation (none: the platform);
    `visible_to` narrows delivery further to instances involving those organisations."""
    if not name or not message_id:
        raise Invalid("Message incomplet.", [{"field": "name", "message": "Obligatoire."}])
    if name in PLATFORM_MESSAGES and not from_platform:
        raise PermissionDenied(f"Le message « {name} » est réservé à la plateforme : il "
                               "n'est émis qu'avec un accusé de réception signé.",
                               code="reserved_message")
    sender = None if from_platform else actor.organisation_id
    message = store_message(uow, name, require_routable(correlation, "correlation"),
                            require_routable(payload, "payload"), message_id, sender)
    if message is None:
        return None, None
    audit.append(uow, actor, "runtime.message_received", subject_type="message",
                 subject_id=message.id, name=name)
    delivered = deliver_message(uow, message, visible_to)
    if delivered is None and starter is not None:
        delivered = start_by_message(uow, starter, message)
    return message, delivered


def deliver_message(uow: UnitOfWork, message: Message,
                    visible_to: set[int] | None = None) -> int | None:
    """Deliver a pending message to the one running instance it correlates with, if any.

    Candidates come from the correlation index; each is checked exactly (status, who may
    receive it, every correlation key) before it catches the message.
    """
    wanted = json.loads(message.correlation)
    for instance_id in candidates(uow, message.name, wanted):
        instance = uow.session.get(Instance, instance_id)
        if instance is None or instance.status != RUNNING \
                or not may_reach(uow, message, instance) \
                or (visible_to is not None and not involves(uow, instance, visible_to)):
            continue
        loaded = load(uow, instance)
        waiting = waiting_for(loaded.workflow, message.name)
        if not waiting or not correlates(message, loaded.workflow, waiting[0]):
            continue
        catch(uow, instance, loaded.workflow, message)
        advance(uow, loaded, SYSTEM)
        return instance.id
    return None


def _message_starts(version: ProcessVersion, name: str) -> bool:
    spec, _subs = spiff.restored_spec(version.id, version.spec)
    return any(getattr(getattr(ts, "event_definition", None), "name", None) == name
               for ts in spec.start.outputs)


def start_by_message(uow: UnitOfWork, principal: Principal, message: Message) -> int | None:
    """Start the newest protocol whose start event waits for this message, if the sender may.

    The instance opens on the correlated case when the sender can see it, else on a new case.
    """
    for version in available_versions(uow):
        if not _message_starts(version, message.name) or not can_start(principal, version):
            continue
        case_id = json.loads(message.correlation).get("case_id")
        if case_id is not None:
            cases.visible_case(uow, principal, int(case_id))
        return create_instance(uow, principal, version, case_id, message).instance.id
    return None
