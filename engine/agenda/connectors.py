"""The `relais/due_date` connector: a reminder's due date in working days.

Parameter `working_days` (1 to 60): returns `{"due_at": "<ISO 8601 instant, UTC>"}`, that
many working days (Europe/Paris, French public holidays) after the moment the connector runs,
on the unit of work's clock. A diagram waits on it with a timer event whose `timeDate` is
`<result variable>['due_at']` — e.g. the reminder of an unacknowledged protocol sheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.agenda import service as agenda
from engine.agenda.errors import AgendaInvalid
from engine.runtime import connectors

MAX_WORKING_DAYS = 60


def run_in_transaction(context: connectors.ConnectorContext,
                       params: Mapping[str, Any]) -> dict[str, Any]:
    days = params.get("working_days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WORKING_DAYS:
        raise AgendaInvalid(f"Paramètre « working_days » invalide : un nombre de jours ouvrés "
                            f"de 1 à {MAX_WORKING_DAYS} est attendu.",
                            code="connector_parameter_invalid")
    due = agenda.add_working_days(context.uow.now(), days)
    return {"due_at": due.isoformat(), "working_days": days}


DUE_DATE = connectors.register(connectors.Connector(
    id="relais/due_date",
    description="Calcule une échéance en jours ouvrés (week-ends et jours fériés exclus), "
    "à partir de maintenant, pour une minuterie de relance.",
    required=("working_days",),
    documented=(
        connectors.Parameter("working_days", "int", (
            "Nombre de jours ouvrés avant l'échéance (week-ends et jours fériés exclus)."
        )),
    ),
    run_in_transaction=run_in_transaction,
))
