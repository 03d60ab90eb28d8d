"""The mentions of a document an organisation issues, drawn from who issues it and the
purpose it serves (its RGPD basis and retention are the consent catalogue's): what
`engine.documents.build.stamp` prints on every page."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.consent.catalogue import gdpr_bases, purpose_label, retention_of
from engine.db import UnitOfWork
from engine.documents.build import Mentions
from engine.identity.models import Membership, Organisation, User
from engine.identity.roles import ROLE_LABELS, Role


def _years(days: int) -> str:
    years = round(days / 365)
    return f"{years} an" if years == 1 else f"{years} ans"


def mentions_for(uow: UnitOfWork, organisation: Organisation, author_user_id: int | None,
                 purpose: str | None, at: datetime, *,
                 retention: timedelta | None = None,
                 validator_user_id: int | None = None, sealed: bool = False) -> Mentions:
    """The mentions of a document `organisation` issues at `at`, drawn up by
    `author_user_id` (their name and their role there), for `purpose` (none for a document
    kept in the organisation). `retention`, when given, is the case's own (a kept document
    lives as long as its case); otherwise the purpose's. `validator_user_id` is the person
    who validated it, named in the signature block; `sealed` when it is signed with the
    organisation's key and sent."""
    author, function = _person(uow, organisation, author_user_id)
    validator, validator_function = _person(uow, organisation, validator_user_id)
    period = retention or retention_of([purpose] if purpose else [])
    return Mentions(
        organisation=organisation.name, address=organisation.address,
        phone=organisation.phone, dpo_contact=organisation.dpo_contact,
        author=author, author_function=function, drawn_up=at,
        validator=validator, validator_function=validator_function, sealed=sealed,
        purpose=purpose_label(purpose) if purpose else None,
        gdpr_basis=gdpr_bases(purpose) if purpose else (),
        retention=f"{_years(period.days)} après la dernière activité de la situation, puis "
                  "destruction définitive", logo=organisation.logo)


def _person(uow: UnitOfWork, organisation: Organisation,
            user_id: int | None) -> tuple[str | None, str | None]:
    """(name, function at `organisation`) of a user, or (None, None)."""
    user = uow.session.get(User, user_id) if user_id is not None else None
    if user is None:
        return None, None
    roles = sorted(uow.session.scalars(select(Membership.role).where(
        Membership.user_id == user_id,
        Membership.organisation_id == organisation.id, Membership.role != Role.ADMIN)))
    function = ROLE_LABELS[Role(roles[0])] if roles and roles[0] in Role.__members__ else None
    return user.display_name, function
