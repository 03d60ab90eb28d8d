"""An orientation from police or gendarmerie opens a situation in the IS's organisation.

When routing addresses an orientation sheet (purpose `orientation_is`) to an organisation
that holds situations, the situations domain reacts to `DeliveryCreated` (see
`handlers.py`), in the same transaction as the transmission:

- a situation is opened in the recipient organisation (`cases.open_case_for`, opened by the
  platform on behalf of the officer who sent it);
- the person oriented is named in it — family name, first name, birth date copied from the
  orientation sheet, the only data the person's consent covers for this recipient (`ID`) —
  so that the IS finds her by name in « Mes situations » and in search;
- `situations.orientation_received` is audited on the new situation (delivery and source
  ids, no personal data) and shown in its timeline.

Nothing is opened for another purpose or for a recipient that holds no situations; a delivery
is created once, so its situation is opened once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from engine import events
from engine.audit import service as audit
from engine.audit.service import Actor
from engine.cases import service as cases
from engine.cases.models import Case
from engine.db import UnitOfWork
from engine.identity.models import Membership
from engine.routing.models import Delivery
from engine.situations import service

PURPOSE = "orientation_is"
SHEET_FORM = "oi_fiche.json"
RECEIVED = "situations.orientation_received"
VIOLENCE_MOTIVES = frozenset({"violences_conjugales", "violences_intrafamiliales"})


def _holds_situations(uow: UnitOfWork, organisation_id: int) -> bool:
    return uow.session.scalar(select(Membership.id).where(
        Membership.organisation_id == organisation_id,
        Membership.role.in_([str(r) for r in service.RECEIVING_ROLES])).limit(1)) is not None


def _sheet(uow: UnitOfWork, actor: Actor, source: Case,
           delivery: Delivery) -> dict[str, Any]:
    """The orientation sheet the delivery was made from (the newest of its instance)."""
    sheets = [r for r in cases.records_of(uow, source, kind="form")
              if r.form == SHEET_FORM and r.instance_id == delivery.instance_id]
    if not sheets:
        return {}
    return cases.read_record(uow, actor, source, sheets[-1])


def _identity(sheet: dict[str, Any]) -> service.Identity:
    born = sheet.get("personne_naissance")
    try:
        birth = date.fromisoformat(born) if isinstance(born, str) else None
    except ValueError:
        birth = None
    return service.Identity(family_name=str(sheet.get("personne_nom") or "Personne orientée"),
                            first_names=str(sheet.get("personne_prenom") or ""),
                            birth_date=birth)


def open_from_orientation(uow: UnitOfWork, event: events.DeliveryCreated) -> int | None:
    """Open the situation an orientation sheet calls for; its case id, or None when the
    delivery is not an orientation to an organisation holding situations."""
    if event.purpose != PURPOSE or event.case_id is None \
            or not _holds_situations(uow, event.recipient_organisation_id):
        return None
    delivery = uow.session.get(Delivery, event.delivery_id)
    if delivery is None:
        return None
    actor = Actor(None, "système", organisation_id=event.recipient_organisation_id)
    source = cases.get_case(uow, event.case_id)
    sheet = _sheet(uow, actor, source, delivery)
    opened_by = delivery.author_user_id or source.opened_by
    case = cases.open_case_for(uow, actor, event.recipient_organisation_id,
                               opened_by=opened_by)
    motives = sheet.get("motif")
    motives = set(motives) if isinstance(motives, list) else {motives}
    kind = "victime" if motives & VIOLENCE_MOTIVES else "autre"
    service.add_person_as(uow, actor, case, _identity(sheet), kind)
    audit.append(uow, actor, RECEIVED, subject_type="case", subject_id=case.id,
                 organisation_id=case.organisation_id, delivery=delivery.id,
                 sender=delivery.sender_organisation_id, source_case=source.id)
    return case.id
