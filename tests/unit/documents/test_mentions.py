"""Every document a protocol issues carries its mentions: the organisation's letterhead, who
drew it up and when, page numbers, the confidentiality mention (Code pénal 226-13), the RGPD
notice (controller, DPO, purpose, basis, retention, rights, CNIL), French as the language of
its styles, and « Né(e) le » rather than a gendered guess."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn

from engine.documents import build, render

WORKFLOWS = Path(__file__).resolve().parents[3] / "workflows"
TEMPLATES = sorted(WORKFLOWS.glob("*/templates/*.docx"))
AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
MENTIONS = build.Mentions(
    organisation="Association ISCG (essai)", address="12 rue des Essais, 78000 Versailles",
    phone="01 23 45 67 89", dpo_contact="dpo@essai.invalid", author="Camille Martin",
    author_function="Intervenant social", drawn_up=AT, purpose="Fiche de liaison",
    gdpr_basis=("RGPD art. 6.1.e : mission d'intérêt public (action sociale)",),
    retention="2 ans après la dernière activité de la situation")


def _parts(document) -> tuple[str, str, str]:
    body = [p.text for p in document.paragraphs]
    for table in document.tables:
        body += [cell.text for row in table.rows for cell in row.cells]
    headers = [p.text for s in document.sections for p in s.header.paragraphs]
    footers = [p.text for s in document.sections for p in s.footer.paragraphs]
    return "\n".join(body), "\n".join(headers), "\n".join(footers)


def _stamped(path: Path) -> bytes:
    content = path.read_bytes()
    values = dict.fromkeys(render.placeholders(content), "x")
    return build.stamp(render.render_docx(content, values), MENTIONS)


def test_every_bundled_template_is_checked():
    assert len(TEMPLATES) >= 15
    assert {p.parent.parent.name for p in TEMPLATES} >= {"orientation_is",
                                                         "requisition_judiciaire"}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_each_generated_document_carries_its_mentions(path: Path):
    document = docx.Document(io.BytesIO(_stamped(path)))
    body, headers, footers = _parts(document)
    assert "Association ISCG (essai) — 12 rue des Essais, 78000 Versailles — tél. 01 23 45 67 89" \
        in headers
    assert "Code pénal, art. 226-13" in footers
    footer_xml = "".join(s.footer._element.xml for s in document.sections)
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml
    assert "Établi le 30 novembre 2026 par Camille Martin, intervenant social" in body
    assert "Responsable du traitement : Association ISCG (essai)" in body
    assert "dpo@essai.invalid" in body and "Finalité : Fiche de liaison" in body
    assert "RGPD art. 6.1.e" in body and "2 ans après la dernière activité" in body
    assert "réclamation à la CNIL" in body and "rectifier" in body
    languages = {e.get(qn("w:val")) for e in document.styles.element.iter(qn("w:lang"))}
    assert languages == {"fr-FR"}
    assert document.core_properties.created.replace(tzinfo=UTC) == AT
    assert "Née le" not in body and "Né le" not in body


def test_the_templates_themselves_are_french_and_say_born_without_guessing():
    for path in TEMPLATES:
        document = docx.Document(path)
        languages = {e.get(qn("w:val")) for e in document.styles.element.iter(qn("w:lang"))}
        assert languages == {"fr-FR"}, path.name
        body, _headers, _footers = _parts(document)
        assert "Née le" not in body and "Né le" not in body, path.name


def test_missing_letterhead_details_are_said_missing_not_invented():
    bare = build.Mentions(organisation="Mairie (essai)", address=None, phone=None,
                          dpo_contact=None, author=None, author_function=None, drawn_up=AT)
    content = build.stamp(render.render_docx(TEMPLATES[0].read_bytes(), dict.fromkeys(
        render.placeholders(TEMPLATES[0].read_bytes()), "x")), bare)
    body, headers, _footers = _parts(docx.Document(io.BytesIO(content)))
    assert "Mairie (essai) — adresse non renseignée — tél. non renseigné" in headers
    assert "Délégué à la protection des données : non renseigné." in body
    assert "par la plateforme Relais" in body and "Finalité" not in body
