"""The `relais/schedule_itp` connector: inscribe the situation in the council's ITP calendar.

Parameters: `organisation` (the council's slug, e.g. `organisation_CG_ITP`), optional
`not_before` (an ISO date, e.g. the secretary's `a_partir_du`). Books the earliest open session
on or after that day (and after now) that still has room — a full session sends the situation
to the next week's — and returns `{"session_id", "starts_at" (ISO instant), "label",
"place"}`; a diagram
waits for the session with a timer whose `timeDate` is `<result>['starts_at']`; `label` is
the session in French (« 8 décembre 2026 à 14 h 00 ») for forms and documents. When no
session has room, the refusal (`itp_no_session`) opens an incident: once the secretariat has
opened sessions, retrying the incident books it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select

from engine.documents.render import french_datetime
from engine.identity.models import Organisation
from engine.itp import service as itp
from engine.itp.errors import ItpInvalid
from engine.runtime import connectors


def _not_before(value: Any) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ItpInvalid("Paramètre « not_before » invalide : une date AAAA-MM-JJ est "
                         "attendue.", code="connector_parameter_invalid") from None


def run_in_transaction(context: connectors.ConnectorContext,
                       params: Mapping[str, Any]) -> dict[str, Any]:
    uow = context.uow
    slug = params.get("organisation")
    organisation = uow.session.scalars(select(Organisation)
                                       .where(Organisation.slug == slug)).first() \
        if isinstance(slug, str) else None
    if organisation is None:
        raise ItpInvalid(f"Paramètre « organisation » invalide : conseil départemental "
                         f"inconnu ({slug!r}).", code="connector_parameter_invalid")
    session = itp.book(uow, organisation, instance_id=context.instance_id,
                       case_id=context.case_id, not_before=_not_before(params.get("not_before")),
                       outbox_id=context.outbox_id)
    return {"session_id": session.id, "starts_at": session.starts_at.isoformat(),
            "label": french_datetime(session.starts_at), "place": session.place}


SCHEDULE_ITP = connectors.register(connectors.Connector(
    id="relais/schedule_itp",
    description="Inscrit la situation à la première séance hebdomadaire de l'ITP qui a encore "
    "de la place (une séance complète renvoie à la semaine suivante).",
    required=("organisation",),
    optional=("not_before",),
    documented=(
        connectors.Parameter("organisation", "str", (
            "Identifiant du conseil départemental dont l'ITP reçoit la situation."
        )),
        connectors.Parameter("not_before", "str", (
            "Date (AAAA-MM-JJ) avant laquelle la séance ne peut pas avoir lieu."
        )),
    ),
    run_in_transaction=run_in_transaction,
))
