"""Every document the protocols generate — transmitted, kept in the situation, the consent
receipt — is opened with python-docx and carries the same mentions: the issuing
organisation's letterhead, who drew it up and who validated it (the signature block names the
organisation whose key signs and that person), page numbers, Code pénal 226-13, the RGPD
notice (controller, DPO, retention, rights, CNIL) and French (`fr-FR`) in every style."""

from __future__ import annotations

import io
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn
from protocol_support import GRANTED, REFUSED, Territory
from test_protocol_violence_conjugale import sheet

ISCG_LETTERHEAD = ("Association ISCG (démo) — intervenants sociaux — 12 rue de la "
                   "Démonstration, 78000 Versailles — tél. 01 00 00 00 10")
IS_NAME = "Camille Martin (IS, démo), intervenant social"


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def parts(content: bytes) -> dict[str, Any]:
    """Body, headers, footers (text and XML) and style languages of a Word document."""
    document = docx.Document(io.BytesIO(content))
    body = [p.text for p in document.paragraphs]
    for table in document.tables:
        body += [cell.text for row in table.rows for cell in row.cells]
    return {
        "body": "\n".join(body),
        "headers": "\n".join(p.text for s in document.sections for p in s.header.paragraphs),
        "footers": "\n".join(p.text for s in document.sections for p in s.footer.paragraphs),
        "footer_xml": "".join(s.footer._element.xml for s in document.sections),
        "languages": {e.get(qn("w:val")) for e in document.styles.element.iter(qn("w:lang"))},
    }


def assert_stamped(content: bytes, *, letterhead: str, author: str, validator: str,
                   sealed: bool) -> dict[str, Any]:
    found = parts(content)
    assert letterhead in found["headers"]
    assert f"par {author}" in found["body"]
    assert f"alidé par {validator}" in found["body"]  # « Validé par » / « Envoi validé par »
    assert ("Signé électroniquement au nom de" in found["body"]) is sealed
    assert "Code pénal, art. 226-13" in found["footers"]
    assert "PAGE" in found["footer_xml"] and "NUMPAGES" in found["footer_xml"]
    assert "Responsable du traitement" in found["body"]
    assert "Délégué à la protection des données" in found["body"]
    assert "Durée de conservation" in found["body"] and "réclamation à la CNIL" in found["body"]
    assert found["languages"] == {"fr-FR"}
    return found


def _raw(t: Territory, user: str, path: str) -> bytes:
    response = t.get(user, path)
    assert response.mimetype.endswith("wordprocessingml.document")
    return response.data


def test_the_kept_sheet_and_the_receipt_of_a_refusal_are_stamped(t):
    kept = t.start("demo-is", "violence_conjugale")
    t.complete("demo-is", kept["id"], {"mode_saisine": "personne", "danger_immediat": False})
    t.complete("demo-is", kept["id"], sheet("Inès", t.days(-1), gravite="crime"))
    t.complete("demo-is", kept["id"], {**REFUSED, "given_by": "representant_legal"})
    [copy] = t.pieces("demo-is", kept["case_id"])
    found = assert_stamped(_raw(t, "demo-is", f"/pieces/{copy['id']}/document"),
                           letterhead=ISCG_LETTERHEAD, author=IS_NAME, validator=IS_NAME,
                           sealed=False)
    assert "Document conservé par Association ISCG (démo)" in found["body"]
    # A crime recorded on the sheet: the situation is kept 20 years, and the document says so.
    assert "20 ans après la dernière activité" in found["body"]

    [consent] = t.get("demo-is", f"/cases/{kept['case_id']}/consents")
    assert consent["given_by"] == "representant_legal"
    receipt = assert_stamped(_raw(t, "demo-is", f"/consents/{consent['id']}/receipt"),
                             letterhead=ISCG_LETTERHEAD, author=IS_NAME, validator=IS_NAME,
                             sealed=False)
    assert "son représentant légal (tuteur, curateur selon la mesure)" in receipt["body"]


def test_a_transmitted_sheet_names_the_signing_organisation_and_its_validator(t):
    instance = t.start("demo-is", "violence_conjugale")
    t.complete("demo-is", instance["id"], {"mode_saisine": "personne",
                                            "danger_immediat": False})
    t.complete("demo-is", instance["id"], sheet("Léa", t.days(-1)))
    t.complete("demo-is", instance["id"], GRANTED)
    [received] = t.received("demo-asso", "Fiche protocole violences conjugales")
    detail = t.delivery("demo-asso", received["id"])
    assert detail["manifest"]["validated_by_user_id"] == detail["manifest"]["author_user_id"]
    assert detail["manifest"]["validated_by_user_id"] is not None
    found = assert_stamped(_raw(t, "demo-asso", f"/deliveries/{received['id']}/document"),
                           letterhead=ISCG_LETTERHEAD, author=IS_NAME, validator=IS_NAME,
                           sealed=True)
    assert "Signé électroniquement au nom de Association ISCG (démo)" in found["body"]
    [consent] = t.get("demo-is", f"/cases/{instance['case_id']}/consents")
    assert consent["given_by"] == "personne"  # the form's default: the person herself
