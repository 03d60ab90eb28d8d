"""Recipient resolution, in one place: which organisation a transmission's `recipient`
names — an organisation slug, or a role bound to a lane of the instance (role → organisation
id). The transmission connector resolves it before sending; the withdrawal cascade resolves
it again to decide which pending transmissions a consent covered: one rule, so that a
withdrawal cancels exactly the rows the connector would have sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.identity.models import Organisation
from engine.identity.roles import is_known_role


def names_role(value: Any) -> bool:
    """The `recipient` value names a role (a lane), not an organisation."""
    return isinstance(value, str) and is_known_role(value)


def recipient_organisation(uow: UnitOfWork, lanes: Mapping[str, int],
                           value: Any) -> Organisation | None:
    """The organisation `value` names: the one bound to that role's lane when it is a role,
    the organisation with that slug otherwise; None when there is none."""
    if not isinstance(value, str):
        return None
    if names_role(value):
        bound = lanes.get(value)
        return uow.session.get(Organisation, int(bound)) if bound is not None else None
    return uow.session.scalars(select(Organisation).where(Organisation.slug == value)).first()
