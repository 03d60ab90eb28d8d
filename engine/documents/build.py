"""Building .docx documents: one home for the pieces every generator and export shares, and
for the mentions every document issued by an organisation carries (`stamp`).

Mentions (`Mentions`, added by `stamp`):
- the issuing organisation's letterhead (its logo when it has one, name, address, phone) at
  the top of each page;
- page numbers (« Page N sur M », Word fields) and the confidentiality mention citing Code
  pénal art. 226-13 at the bottom of each page;
- who drew it up (name and function) and when;
- the signature block: the organisation whose key signs it (a transmitted document) or that
  keeps it, and the person who validated it (name and function);
- the RGPD notice: controller, DPO contact, purpose, legal basis, retention, rights, and the
  right to complain to the CNIL;
- French (`fr-FR`) as the language of every style, and the real creation date.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm

from engine.documents.render import french_date

LANGUAGE = "fr-FR"
CONFIDENTIALITY = ("Document confidentiel, couvert par le secret professionnel (Code pénal, "
                   "art. 226-13) : ne le communiquez qu'à ses destinataires.")
RIGHTS = ("Vous pouvez accéder à vos données, les faire rectifier, demander leur effacement "
          "ou la limitation de leur traitement, et vous opposer à celui-ci, auprès du délégué "
          "à la protection des données. Vous pouvez aussi adresser une réclamation à la CNIL "
          "(Commission nationale de l'informatique et des libertés, www.cnil.fr).")
MISSING = "non renseigné"
LOGO_HEIGHT = Cm(1.5)


def new_document(title: str) -> Any:
    """An empty document whose properties name Relais and nothing personal."""
    document = docx.Document()
    properties = document.core_properties
    properties.title = title
    properties.author = "Relais"
    properties.comments = ""
    set_language(document)
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


# --- mentions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mentions:
    """What a document says about who issued it and what the person may do about it."""

    organisation: str
    address: str | None
    phone: str | None
    dpo_contact: str | None
    author: str | None
    author_function: str | None
    drawn_up: datetime
    purpose: str | None = None
    gdpr_basis: tuple[str, ...] = ()
    retention: str | None = None
    logo: bytes | None = None  # PNG or JPEG, checked when the administrator uploaded it
    validator: str | None = None
    validator_function: str | None = None
    sealed: bool = False  # signed with the organisation's key and sent (else kept)


def set_language(document: Any, language: str = LANGUAGE) -> None:
    """Declare `language` for the document defaults and every style (spell-checking)."""
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    targets = [] if defaults is None else [defaults.find(qn("w:rPrDefault"))]
    targets += list(styles.iterfind(qn("w:style")))
    for target in (t for t in targets if t is not None):
        holder = target.find(qn("w:rPr"))
        if holder is None:
            holder = OxmlElement("w:rPr")
            target.append(holder)
        lang = holder.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            holder.append(lang)
        lang.set(qn("w:val"), language)
        lang.set(qn("w:eastAsia"), language)


def _field(paragraph: Any, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) computed when the document is displayed or printed."""
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, instruction), ("separate", None),
                       (None, "1"), ("end", None)):
        if kind is not None:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text == "1":
            element = OxmlElement("w:t")
            element.text = text
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {text} "
        run._r.append(element)


def _letterhead(mentions: Mentions) -> str:
    return " — ".join([mentions.organisation, mentions.address or f"adresse {MISSING}e",
                       f"tél. {mentions.phone or MISSING}"])


def _notice(mentions: Mentions) -> list[str]:
    author = mentions.author or "la plateforme Relais"
    if mentions.author_function:
        author += f", {mentions.author_function.lower()}"
    lines = [f"Établi le {french_date(mentions.drawn_up)} par {author} "
             f"({mentions.organisation}).",
             f"Responsable du traitement : {mentions.organisation}. Délégué à la protection "
             f"des données : {mentions.dpo_contact or MISSING}."]
    if mentions.purpose:
        lines.append(f"Finalité : {mentions.purpose}.")
    if mentions.gdpr_basis:
        lines.append("Fondement : " + " ; ".join(mentions.gdpr_basis) + ".")
    if mentions.retention:
        lines.append(f"Durée de conservation : {mentions.retention}.")
    lines.append(RIGHTS)
    return lines


def _signature(mentions: Mentions) -> list[str]:
    who = mentions.validator or mentions.author or "la plateforme Relais"
    function = mentions.validator_function if mentions.validator else mentions.author_function
    if function:
        who += f", {function.lower()}"
    if mentions.sealed:
        return [f"Signé électroniquement au nom de {mentions.organisation} (clé de signature "
                "de l'organisation, vérifiable par le destinataire).",
                f"Envoi validé par {who}."]
    return [f"Document conservé par {mentions.organisation}, qui ne l'a pas transmis.",
            f"Validé par {who}."]


def stamp(content: bytes, mentions: Mentions) -> bytes:
    """`content` with the mentions every issued document carries (see the module doc)."""
    document = docx.Document(io.BytesIO(content))
    set_language(document)
    document.core_properties.created = mentions.drawn_up
    for section in document.sections:
        header = section.header
        first = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
        top = first.insert_paragraph_before(_letterhead(mentions))
        if mentions.logo:
            top.insert_paragraph_before().add_run().add_picture(io.BytesIO(mentions.logo),
                                                                 height=LOGO_HEIGHT)
        footer = section.footer
        footer.add_paragraph(CONFIDENTIALITY)
        pages = footer.add_paragraph("Page ")
        _field(pages, "PAGE")
        pages.add_run(" sur ")
        _field(pages, "NUMPAGES")
    document.add_heading("Signature", level=2)
    for line in _signature(mentions):
        document.add_paragraph(line)
    document.add_heading("Mentions", level=2)
    for line in _notice(mentions):
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
