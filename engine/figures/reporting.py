"""One entry point that the page and the command line share: scope, period, report, file."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.db import UnitOfWork
from engine.figures import exports
from engine.figures import service as figures
from engine.figures.errors import ScopeNotFound
from engine.figures.service import Period, Report
from engine.identity import service as identity
from engine.identity.models import Organisation
from engine.identity.service import Principal


def build(uow: UnitOfWork, organisations: list[Organisation], period: Period,
          only: str | None = None) -> Report:
    return figures.report(uow, organisations, period, threshold=figures.threshold_from_env(),
                          labels=figures.protocol_labels(uow), only=only)


def file_for(uow: UnitOfWork, organisations: list[Organisation], period: Period,
             fmt: str) -> bytes:
    report = build(uow, organisations, period)
    previous = build(uow, organisations, period.previous_year()) if fmt == "docx" else None
    label = ", ".join(o.name for o in organisations)
    return exports.render(report, fmt, previous=previous, drawn_up=datetime.now(UTC),
                          organisation_label=label)


def produce(uow: UnitOfWork, *, period_text: str, slugs: list[str], username: str | None,
            fmt: str) -> bytes:
    """`relais figures`: the operator names organisations, or a user whose scope applies."""
    period = figures.parse_period(period_text)
    if username:
        principal = identity.principal_for(identity.get_user(uow, username))
        allowed = figures.visible(uow, principal)
        chosen = [o for o in allowed if not slugs or o.slug in slugs]
        if not chosen or len(chosen) < len(set(slugs)):
            raise ScopeNotFound("Ces chiffres ne sont pas accessibles à cet utilisateur.")
    elif slugs:
        chosen = figures.organisations_by_slug(uow, slugs)
    else:
        raise ScopeNotFound("Indiquez --organisation ou --user.")
    return file_for(uow, chosen, period, fmt)


def for_principal(uow: UnitOfWork, principal: Principal, *, period: Period,
                  slug: str | None, only: str | None = None) -> tuple[list[Organisation], Report]:
    """The page: the caller's scope (one organisation or all they see) and its report (one
    indicator only, for a chart)."""
    chosen = figures.scope_for(uow, principal, slug)
    return chosen, build(uow, chosen, period, only)
