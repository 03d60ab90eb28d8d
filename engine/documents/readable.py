"""A `.docx` as blocks a web page can show: headings, paragraphs and tables, in order.

Used to preview a document on screen (the consent screen shows the person what would leave)
instead of offering a raw download. Headers (the letterhead) come first, footers last;
page-number fields and empty paragraphs are left out. Text only: styles are not carried.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

HEADING_STYLES = ("Title", "Heading", "Titre")
PAGE_NUMBERS = re.compile(r"^Page\s+sur$")  # the footer's fields mean nothing on screen


@dataclass(frozen=True)
class Block:
    kind: str  # "heading", "paragraph" or "table"
    text: str = ""
    level: int = 0  # headings: 1 for the title, 2… below
    rows: list[list[str]] = field(default_factory=list)


def blocks(content: bytes) -> list[Block]:
    """The document's readable blocks, in reading order."""
    document = docx.Document(io.BytesIO(content))
    out: list[Block] = []
    for section in document.sections[:1]:
        out += [b for p in section.header.paragraphs if (b := _paragraph(p))]
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            block = _paragraph(Paragraph(child, document))
            if block:
                out.append(block)
        elif child.tag == qn("w:tbl"):
            rows = _rows(Table(child, document))
            if rows:
                out.append(Block("table", rows=rows))
    for section in document.sections[:1]:
        out += [b for p in section.footer.paragraphs
                if (b := _paragraph(p)) and not PAGE_NUMBERS.match(b.text)]
    return out


def _paragraph(paragraph: Paragraph) -> Block | None:
    text = paragraph.text.strip()
    if not text:
        return None
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style.startswith(HEADING_STYLES):
        digits = "".join(c for c in style if c.isdigit())
        return Block("heading", text, level=1 if style.startswith("Title") else
                     min(int(digits or 1) + 1, 4))
    return Block("paragraph", text)


def _rows(table: Table) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.rows:
        cells = _unique_cells(row.cells)
        texts = [c.text.strip() for c in cells]
        if any(texts):
            rows.append(texts)
    return rows


def _unique_cells(cells: Any) -> list[Any]:
    """Merged cells repeat in python-docx's row view: keep each once."""
    seen: set[int] = set()
    unique = []
    for cell in cells:
        if id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            unique.append(cell)
    return unique
