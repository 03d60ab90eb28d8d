"""The administration console's landing page: its sections and a few figures at a glance.

A section is listed only when its endpoint is registered (engine.web.admin.sections), so the
page never links to a page that does not exist. The figures come from the services that own
them (each checks the ADMIN role itself); none is invented.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, render_template, url_for

from engine.identity import people
from engine.runtime import queries as runtime_queries
from engine.web.admin.guard import admin_blueprint
from engine.web.admin.sections import SECTIONS
from engine.web.context import uow

bp = admin_blueprint("admin_home", __name__, "/admin")


@bp.get("/")
def home() -> Any:
    sections = [{"title": s.title, "summary": s.summary, "url": url_for(s.endpoint)}
                for s in SECTIONS if s.endpoint in current_app.view_functions]
    return render_template("admin/accueil.html", sections=sections, figures=_figures())


def _figures() -> list[dict[str, Any]]:
    """(label, number, link) rows; a link only to a section that exists."""
    counted = people.counts(uow(), g.principal)
    incidents = len(runtime_queries.open_incidents(uow(), g.principal))
    rows = [("Incidents ouverts", incidents, "admin_ops.incidents", {}),
            ("Comptes actifs", counted["active_users"], "admin_people.users",
             {"etat": "actifs"}),
            ("Comptes désactivés", counted["disabled_users"], "admin_people.users",
             {"etat": "desactives"}),
            ("Jetons d'API en service", counted["live_tokens"], "admin_people.tokens",
             {"etat": "actifs"})]
    return [{"label": label, "value": value,
             "url": url_for(endpoint, **args) if endpoint in current_app.view_functions
             else None}
            for label, value, endpoint, args in rows]
