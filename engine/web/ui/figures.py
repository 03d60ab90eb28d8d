"""« Chiffres »: the activity figures of the organisations the user may see, with charts.

Views parse the query, call `engine.figures.reporting` and render; who sees what is decided
there (`figures.visible`). Charts are separate SVG images so that the page keeps its strict
Content-Security-Policy; each is followed by the same figures as a table.
"""

from __future__ import annotations

from typing import Any

from flask import g, make_response, render_template, request

from engine.errors import NotFound
from engine.figures import exports, reporting
from engine.figures import service as figures
from engine.figures.charts import svg
from engine.figures.errors import PeriodInvalid
from engine.web.context import uow
from engine.web.downloads import attachment
from engine.web.ui.auth import login_required
from engine.web.ui.views import bp

# A chart is an image: its own inline styles are allowed, scripts never (and none are drawn).
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def _query() -> tuple[str, str | None]:
    return (request.args.get("periode") or "").strip(), \
        (request.args.get("organisation") or "").strip() or None


@bp.get("/chiffres")
@login_required
def figures_page() -> Any:
    period_text, slug = _query()
    visible = figures.visible(uow(), g.principal)
    try:
        period = figures.period_from_request(period_text, uow().now().date())
    except PeriodInvalid as exc:
        return render_template("chiffres/chiffres.html", error=exc.message, report=None,
                               visible=visible, period_text=period_text, slug=slug), 400
    if not visible:
        return render_template("chiffres/chiffres.html", error=None, report=None,
                               visible=visible, period_text=period.code, slug=slug)
    chosen, report = reporting.for_principal(uow(), g.principal, period=period, slug=slug)
    return render_template("chiffres/chiffres.html", error=None, report=report,
                           visible=visible, chosen=chosen, period_text=period.code, slug=slug,
                           query={"periode": period.code, "organisation": slug or ""})


@bp.get("/chiffres/graphique/<indicator>.svg")
@login_required
def figure_chart(indicator: str) -> Any:
    period_text, slug = _query()
    period = figures.period_from_request(period_text, uow().now().date())
    _chosen, report = reporting.for_principal(uow(), g.principal, period=period, slug=slug,
                                              only=indicator)  # one chart, one count
    figure = next(iter(report.figures), None)
    if figure is None:
        raise NotFound("Ce graphique n'existe pas.")
    response = make_response(svg(figure, report.threshold))
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/chiffres/export.<fmt>")
@login_required
def figures_export(fmt: str) -> Any:
    if fmt not in exports.FORMATS:
        raise NotFound("Format d'export inconnu.")
    period_text, slug = _query()
    period = figures.period_from_request(period_text, uow().now().date())
    chosen = figures.scope_for(uow(), g.principal, slug)
    content = reporting.file_for(uow(), chosen, period, fmt)
    name = f"chiffres-{period.code}.{fmt}" if fmt != "docx" else f"bilan-{period.code}.docx"
    return attachment(content, exports.MEDIA_TYPES[fmt], name)
