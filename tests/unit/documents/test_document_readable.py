"""A .docx shown for reading: headings, paragraphs and tables in order, header first, page
numbers and empty paragraphs left out."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import docx

from engine.documents import readable
from engine.documents.build import Mentions, stamp


def _document() -> bytes:
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "En-tête de l'organisation"
    document.add_heading("Fiche protocole", level=0)
    document.add_paragraph("")
    document.add_heading("La victime", level=1)
    document.add_paragraph("Page de garde du dossier")  # a real sentence starting with « Page »
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Nom", "Lefèvre"
    table.cell(1, 0).text, table.cell(1, 1).text = "Commune", "Dijon"
    merged = document.add_table(rows=1, cols=2)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "Une seule cellule"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_blocks_follow_the_reading_order():
    blocks = readable.blocks(_document())
    assert [b.kind for b in blocks] == ["paragraph", "heading", "heading", "paragraph",
                                        "table", "table"]
    assert blocks[0].text == "En-tête de l'organisation"
    assert (blocks[1].text, blocks[1].level) == ("Fiche protocole", 1)
    assert (blocks[2].text, blocks[2].level) == ("La victime", 2)
    assert blocks[3].text == "Page de garde du dossier"
    assert blocks[4].rows == [["Nom", "Lefèvre"], ["Commune", "Dijon"]]
    assert blocks[5].rows == [["Une seule cellule"]]  # a merged cell comes once


def test_a_stamped_document_shows_its_mentions_but_not_its_page_numbers():
    stamped = stamp(_document(), Mentions(
        organisation="CCAS de Dijon", address=None, phone=None, dpo_contact=None, author=None,
        author_function=None, drawn_up=datetime(2026, 11, 30, tzinfo=UTC), purpose=None,
        gdpr_basis=(), retention=None))
    texts = [b.text for b in readable.blocks(stamped)]
    assert any(t.startswith("CCAS de Dijon") for t in texts)
    assert "Mentions" in texts
    assert not any(t.replace(" ", "") == "Pagesur" for t in texts)
