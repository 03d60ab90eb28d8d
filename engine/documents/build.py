"""Building .docx documents: one home for the pieces every generator and export shares."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import docx


def new_document(title: str) -> Any:
    """An empty document whose properties name Relais and nothing personal."""
    document = docx.Document()
    properties = document.core_properties
    properties.title = title
    properties.author = "Relais"
    properties.comments = ""
    return document


def label_table(document: Any, rows: Iterable[tuple[str, str]], *,
                bold_labels: bool = False) -> Any:
    """A two-column table of (label, value) rows."""
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
        if bold_labels and cells[0].paragraphs[0].runs:
            cells[0].paragraphs[0].runs[0].bold = True
    return table
