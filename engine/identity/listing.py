"""Read-only lists of the identity domain for the administration console's pages (choices of
an organisation in a filter or a form). Nothing here writes."""

from __future__ import annotations

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.identity.models import Organisation


def organisations(uow: UnitOfWork) -> list[Organisation]:
    """Every organisation, by name."""
    return list(uow.session.scalars(select(Organisation).order_by(Organisation.name,
                                                                  Organisation.id)))
