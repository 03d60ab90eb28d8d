"""The figures as files: CSV and ODS tables, the documented JSON, the annual report (docx).

Every export is made from a suppressed `Report`: what leaves is what the page shows.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from docx.shared import Cm
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P

from engine.documents.build import new_document
from engine.figures import charts
from engine.figures.service import MONTHS_FR, Figure, Report, Row

FORMATS = ("csv", "ods", "json", "docx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "ods": "application/vnd.oasis.opendocument.spreadsheet",
               "json": "application/json",
               "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def _rows(figure: Figure) -> list[Row]:
    return [*figure.rows, *([figure.total] if figure.total else []),
            *([figure.summary] if figure.summary else [])]


def as_json(report: Report) -> dict[str, Any]:
    """The documented, stable shape (docs/api.md) for a national consolidation."""
    return {"period": report.period.code,
            "scope": [o.slug for o in report.organisations],
            "threshold": report.threshold,
            "indicators": [{"id": f.id, "label": f.label,
                            "rows": [{"label": r.label, "count": r.count,
                                      "suppressed": r.suppressed} for r in _rows(f)]}
                           for f in report.figures]}


def to_json(report: Report) -> bytes:
    return json.dumps(as_json(report), ensure_ascii=False, indent=2).encode()


def to_csv(report: Report) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")  # what French spreadsheets expect
    writer.writerow(["Indicateur", "Ligne", "Nombre"])
    for figure in report.figures:
        for row in _rows(figure):
            writer.writerow([figure.label, row.label, row.shown(report.threshold)])
    return ("\ufeff" + out.getvalue()).encode()  # BOM: accents open right in spreadsheets


def to_ods(report: Report) -> bytes:
    document = OpenDocumentSpreadsheet()
    for figure in report.figures:
        table = Table(name=figure.id[:31])
        table.addElement(_ods_row(["Ligne", "Nombre"]))
        for row in _rows(figure):
            table.addElement(_ods_row([row.label, row.count if not row.suppressed
                                       else row.shown(report.threshold)]))
        document.spreadsheet.addElement(table)
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def _ods_row(values: list[Any]) -> TableRow:
    row = TableRow()
    for value in values:
        if isinstance(value, int):
            cell = TableCell(valuetype="float", value=value)
        else:
            cell = TableCell(valuetype="string")
        cell.addElement(P(text=str(value)))
        row.addElement(cell)
    return row


def to_docx(report: Report, previous: Report | None, *, drawn_up: datetime,
            organisation_label: str) -> bytes:
    """The annual report: cover, scope, each indicator with chart, table and the change
    from the previous period, and empty sections for the IS's qualitative part."""
    document = new_document(f"Bilan d'activité — {report.period.label}")
    document.add_heading("Bilan d'activité", level=0)
    document.add_paragraph(f"{organisation_label} — {report.period.label}")
    document.add_paragraph(f"Établi le {_french_date(drawn_up)}. Chiffres issus des champs "
                           "codés des fiches et du registre ; tout effectif inférieur à "
                           f"{report.threshold} est masqué (« < {report.threshold} »), ainsi que "
                           "les effectifs qui permettraient de le recalculer.")
    document.add_heading("Le poste et ses partenaires", level=1)
    for organisation in report.organisations:
        document.add_paragraph(organisation.name, style="List Bullet")
    document.add_paragraph("À compléter : présentation du poste, partenaires, faits marquants.")
    before = {f.id: f for f in previous.figures} if previous else {}
    for figure in report.figures:
        _indicator_section(document, figure, before.get(figure.id), report.threshold)
    document.add_heading("Volet qualitatif", level=1)
    for title in ("Situations marquantes (sans élément permettant d'identifier quiconque)",
                  "Partenariats et difficultés rencontrées", "Perspectives"):
        document.add_heading(title, level=2)
        document.add_paragraph("À rédiger.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _indicator_section(document: Any, figure: Figure, before: Figure | None,
                       threshold: int) -> None:
    document.add_heading(figure.label, level=1)
    document.add_paragraph(figure.definition)
    document.add_picture(io.BytesIO(charts.png(figure, threshold)), width=Cm(15))
    previous = {r.code: r for r in _rows(before)} if before else {}
    table = document.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    for cell, title in zip(table.rows[0].cells, ("Ligne", "Nombre", "Période précédente"),
                           strict=True):
        cell.text = title
    for row in _rows(figure):
        old = previous.get(row.code)
        cells = table.add_row().cells
        cells[0].text, cells[1].text = row.label, row.shown(threshold)
        cells[2].text = old.shown(threshold) if old else "—"


def _french_date(at: datetime) -> str:
    return f"{at.day} {MONTHS_FR[at.month - 1]} {at.year}"


def render(report: Report, fmt: str, *, previous: Report | None = None,
           drawn_up: datetime | None = None, organisation_label: str = "") -> bytes:
    if fmt == "csv":
        return to_csv(report)
    if fmt == "ods":
        return to_ods(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "docx":
        return to_docx(report, previous, drawn_up=drawn_up or datetime.now(),
                       organisation_label=organisation_label)
    raise ValueError(fmt)


__all__ = ["FORMATS", "MEDIA_TYPES", "render"]
