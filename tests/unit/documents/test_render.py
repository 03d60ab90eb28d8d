"""python-docx rendering: every template of tests/fixtures/templates fills, reopens, and reads
as French (dates « 26 novembre 2026 », Oui/Non, labels, « », accents)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import docx
import pytest

import forms
from engine.documents import render
from engine.documents.render import TemplateInvalid, format_value, french_date, french_datetime

TEMPLATES = Path(__file__).parents[2] / "fixtures" / "templates"
FORMS = Path(__file__).parents[2] / "fixtures" / "forms"
NBSP = "\u00a0"


def _document(content: bytes):
    return docx.Document(io.BytesIO(content))


def _all_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                parts.append(cell.text)
                for inner in cell.tables:
                    parts += [c.text for r in inner.rows for c in r.cells]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs + section.footer.paragraphs]
    return "\n".join(parts)


def test_french_dates_without_locale():
    assert french_date(date(2026, 11, 26)) == "26 novembre 2026"
    assert french_date(date(2026, 12, 1)) == "1er décembre 2026"
    assert french_date(date(2027, 2, 14)) == "14 février 2027"
    assert french_date(date(2026, 8, 15)) == "15 août 2026"
    # An instant is dated in Europe/Paris: 23:30 UTC on 31 December is already 1 January.
    assert french_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "1er janvier 2027"
    assert french_datetime(datetime(2026, 11, 26, 8, 5, tzinfo=UTC)) == "26 novembre 2026 à 9 h 05"


def test_values_are_formatted_from_their_form_property():
    prop = {"enum": ["economiques"], "x-relais-labels": {"economiques": "Économiques"}}
    assert format_value("economiques", prop) == "Économiques"
    assert format_value("autre", prop) == "autre"
    assert format_value("b", {"oneOf": [{"const": "b", "title": "Bas"}]}) == "Bas"
    assert format_value(True) == "Oui" and format_value(False) == "Non"
    assert format_value(None) == ""
    assert format_value("2026-11-26", {"format": "date"}) == "26 novembre 2026"
    assert format_value("pas une date", {"format": "date"}) == "pas une date"
    assert format_value(["a", "b"], {"items": {"x-relais-labels": {"a": "Alpha"}}}) == "Alpha, b"
    assert format_value(2.5) == "2,5" and format_value(3) == "3"
    assert format_value(12500) == "12\u202f500"
    assert format_value("Noël à l'hôpital — « urgent »") == "Noël à l'hôpital — « urgent »"


def test_fiche_de_liaison_fills_body_nested_tables_headers_footers_and_split_runs():
    content = (TEMPLATES / "fiche_liaison.docx").read_bytes()
    assert render.placeholders(content) == {"reference", "date_document", "motif", "urgence",
                                            "date_naissance", "connue", "valide", "enfants"}
    fields = {"urgence": {"enum": ["basse", "haute"], "x-relais-labels": {"haute": "Élevée"}},
              "date_naissance": {"type": "string", "format": "date"}}
    out = render.render_docx(content, {
        "reference": "S-2026-ABCD2345", "date_document": date(2026, 11, 26),
        "motif": "Hébergement d'urgence — « sans solution »", "urgence": "haute",
        "date_naissance": "1990-02-01", "connue": False, "valide": True, "enfants": 2,
    }, fields)
    document = _document(out)
    text = _all_text(document)
    assert "{{" not in text and "}}" not in text
    assert f"Motif : «{NBSP}Hébergement d'urgence — « sans solution »{NBSP}»" in text
    assert "Urgence : Élevée" in text
    assert "1er février 1990" in text and "Non" in text
    assert "Orientation validée avec la personne : Oui. Nombre d'enfants : 2." in text
    section = document.sections[0]
    assert section.header.paragraphs[0].text == "Fiche de liaison — S-2026-ABCD2345"
    # Split across three runs (one italic): merged, in the first run's style.
    footer = section.footer.paragraphs[0]
    assert footer.text == "Émise le 26 novembre 2026"
    # Placeholders inside a single run keep every run's own style.
    urgence = next(p for p in document.paragraphs if p.text.startswith("Urgence"))
    assert [r.bold for r in urgence.runs] == [None, True]
    assert document.core_properties.title == "Fiche de liaison (essai)"


def test_fiche_transmission_fills_from_its_form():
    content = (TEMPLATES / "fiche_transmission.docx").read_bytes()
    form = forms.load("transmission_fiche.json", FORMS)
    values = dict.fromkeys(render.placeholders(content))
    values.update(nom="Élodie Lefèvre", date_faits="2026-11-20", violences="economiques",
                  enfants_presents=True, plainte=False, reference="S-2026-X",
                  date_document="26 novembre 2026", finalite="vc_transmission")
    text = _all_text(_document(render.render_docx(content, values, form.properties)))
    assert f"«{NBSP}Élodie Lefèvre{NBSP}»" in text
    assert "20 novembre 2026" in text and "Économiques" in text
    assert "Oui" in text and "Non" in text
    assert "Finalité : vc_transmission." in text  # split across a bold and a plain run
    assert "Observations" in text and "{{" not in text


def test_a_value_is_never_expanded_as_a_placeholder():
    content = (TEMPLATES / "fiche_liaison.docx").read_bytes()
    values = dict.fromkeys(render.placeholders(content), "x")
    values["motif"] = "{{ reference }} {{ secret }}"
    text = _all_text(_document(render.render_docx(content, values)))
    assert "{{ reference }} {{ secret }}" in text


def test_unknown_placeholders_and_bad_templates_are_refused(tmp_path, monkeypatch):
    content = (TEMPLATES / "fiche_liaison.docx").read_bytes()
    with pytest.raises(TemplateInvalid) as refused:
        render.render_docx(content, {"reference": "S"})
    assert refused.value.code == "template_field_unknown" and "motif" in refused.value.message
    monkeypatch.setenv(render.TEMPLATE_DIRS_ENV, str(tmp_path))
    (tmp_path / "casse.docx").write_bytes(b"pas un docx")
    with pytest.raises(TemplateInvalid, match="illisible"):
        render.load_template("casse.docx")
    with pytest.raises(TemplateInvalid) as missing:
        render.load_template("absent.docx")
    assert missing.value.code == "template_not_found"
    for bad in ("../secret.docx", "/etc/passwd", "fiche.txt", "a/../b.docx", ""):
        with pytest.raises(TemplateInvalid):
            render.load_template(bad)


def test_templates_are_found_with_their_kind_label(monkeypatch):
    monkeypatch.setenv(render.TEMPLATE_DIRS_ENV, str(TEMPLATES))
    template = render.load_template("fiche_transmission.docx")
    assert template.kind_label == "Fiche protocole violences conjugales (essai)"
    assert template.content == (TEMPLATES / "fiche_transmission.docx").read_bytes()
