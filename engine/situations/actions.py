"""The situation page's actions on the person's rights, in words: what withdrawing a consent
will cancel (the confirmation step), and the situation a destruction request is about.
The rules stay in `engine.consent` (withdrawal, destruction) and `engine.routing` (which
pending transmissions rest on a consent); this module only reads and names."""

from __future__ import annotations

from dataclasses import dataclass

from engine.cases import service as cases
from engine.cases.models import Case
from engine.consent import service as consent
from engine.consent.errors import ConsentNotFound
from engine.consent.models import Consent
from engine.db import UnitOfWork
from engine.identity.service import Principal
from engine.routing import handlers as routing_handlers
from engine.situations import detail, service


@dataclass(frozen=True)
class Withdrawal:
    case_id: int
    reference: str
    person: str  # the situation's first person, in words ("" when none is named)
    consent: detail.ConsentView
    cancels: list[tuple[str, str]]  # (document, recipient) of each pending transmission


def withdrawal(uow: UnitOfWork, principal: Principal, case_id: int,
               consent_id: int) -> Withdrawal:
    """What the confirmation of a withdrawal shows: the consent in words and the pending
    transmissions it would cancel. A consent of another situation answers « introuvable »."""
    case = cases.visible_case(uow, principal, case_id)
    current = consent.current_version(uow, case_consent(uow, principal, case_id, consent_id))
    return Withdrawal(case.id, case.reference, _person(uow, principal, case),
                      detail.consent_view(uow, current),
                      routing_handlers.pending_on_consent(uow, case, current))


def case_consent(uow: UnitOfWork, principal: Principal, case_id: int,
                 consent_id: int) -> Consent:
    """A consent of THIS situation (the page's links name both); any other answers the same
    « introuvable » as an unknown one."""
    row = consent.visible_consent(uow, principal, consent_id)
    if row.case_id != case_id:
        raise ConsentNotFound("Consentement introuvable.")
    return row


def _person(uow: UnitOfWork, principal: Principal, case: Case) -> str:
    people = service.people_of(uow, principal, case)
    return people[0].identity.display if people and people[0].identity else ""
