"""The runtime's own reactions to other domains' events (registered in `events`).

- `ConsentWithdrawn`: the platform message `consentement_retire` goes to the case's
  instances (correlated by case, buffered until an instance waits for it, like any message;
  sent once per consent).
"""

from __future__ import annotations

from engine import events
from engine.db import UnitOfWork
from engine.runtime import service as runtime

WITHDRAWN_MESSAGE = "consentement_retire"


@events.subscribe(events.ConsentWithdrawn)
def message_consent_withdrawn(uow: UnitOfWork, event: events.ConsentWithdrawn) -> None:
    runtime.receive_message(uow, event.actor, name=WITHDRAWN_MESSAGE,
                            correlation={"case_id": event.case_id},
                            payload={"consent_id": event.consent_id},
                            message_id=f"relais-consent-withdrawn-{event.consent_uid}",
                            from_platform=True)
