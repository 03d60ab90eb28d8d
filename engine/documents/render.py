"""Rendering `.docx` templates with python-docx, in French.

A template is an ordinary Word/LibreOffice document holding `{{ name }}` placeholders in its
body, tables (nested too), headers and footers. Its core property *title* is the document's
kind label (e.g. « Fiche protocole violences conjugales »): a constant naming what kind of
document it is, shown in inboxes, never a person's name.

Guarantees:
- a placeholder split across runs by the word processor is still found: the runs of a
  paragraph are merged before replacing (the merged text takes the first run's style); a
  paragraph whose placeholders each sit inside one run keeps every run's style;
- replacement is one pass: a value that itself contains `{{ … }}` is written as typed, never
  expanded (form input cannot pull other fields into the document);
- a placeholder with no value in the mapping is refused (`TemplateInvalid`), so a template
  and its forms cannot silently drift apart; a value that is None renders as an empty string;
- French typography without any locale: dates « 26 novembre 2026 » (« 1er » on the first of
  the month), times « 9 h 30 » in Europe/Paris, booleans Oui/Non, enumerations through the
  form's `x-relais-labels` (or `oneOf` const/title), decimal comma, accents untouched.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import docx
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from engine.clock import paris
from engine.documents.errors import DocumentError

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
TEMPLATE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,100}(/[a-z0-9][a-z0-9_.-]{0,100})?\.docx")
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
TEMPLATE_DIRS_ENV = "RELAIS_TEMPLATE_DIRS"
WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")


class TemplateInvalid(DocumentError):
    """A template that cannot be used: unknown, unreadable, or naming fields nobody fills."""

    code = "template_invalid"


# --- French typography ---------------------------------------------------------------------


def french_date(value: date | datetime) -> str:
    """« 26 novembre 2026 », « 1er décembre 2026 »; an instant is dated in Europe/Paris."""
    if isinstance(value, datetime):
        value = (value.astimezone(paris()) if value.tzinfo else value).date()
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


def french_datetime(value: datetime) -> str:
    """« 26 novembre 2026 à 9 h 30 », in Europe/Paris."""
    local = value.astimezone(paris()) if value.tzinfo else value
    return f"{french_date(local)} à {local.hour} h {local.minute:02d}"


def _french_number(value: int | float) -> str:
    if isinstance(value, int):  # groups of three from five digits on: 2026, 12 500
        return f"{value:,}".replace(",", "\u202f") if abs(value) >= 10_000 else str(value)
    return f"{value:,.2f}".rstrip("0").rstrip(".").replace(",", "\u202f").replace(".", ",")


def _label(value: Any, prop: Mapping[str, Any]) -> str | None:
    labels = prop.get("x-relais-labels")
    if isinstance(labels, Mapping) and isinstance(labels.get(str(value)), str):
        return labels[str(value)]
    for option in prop.get("oneOf") or ():
        if isinstance(option, Mapping) and option.get("const") == value \
                and isinstance(option.get("title"), str):
            return option["title"]
    return None


def format_value(value: Any, prop: Mapping[str, Any] | None = None) -> str:
    """One value as French text, using its form property (`prop`) when known."""
    prop = prop or {}
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, list | tuple):
        items = prop.get("items") if isinstance(prop.get("items"), Mapping) else {}
        return ", ".join(format_value(v, items) for v in value)
    label = _label(value, prop)
    if label is not None:
        return label
    if isinstance(value, datetime):
        return french_datetime(value)
    if isinstance(value, date):
        return french_date(value)
    if isinstance(value, int | float):
        return _french_number(value)
    text = str(value)
    fmt = prop.get("format")
    if fmt == "date":
        try:
            return french_date(date.fromisoformat(text))
        except ValueError:
            return text
    if fmt == "date-time":
        try:
            return french_datetime(datetime.fromisoformat(text))
        except ValueError:
            return text
    return text


# --- templates -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    """A template's bytes, its name and its kind label (the docx core title)."""

    name: str
    content: bytes
    kind_label: str


def template_dirs() -> list[Path]:
    """Where templates are looked up: `$RELAIS_TEMPLATE_DIRS` (os.pathsep-separated), then
    each protocol's `workflows/<protocol>/templates/`."""
    extra = [Path(p) for p in os.environ.get(TEMPLATE_DIRS_ENV, "").split(os.pathsep) if p]
    bundled = sorted(p for p in WORKFLOWS.glob("*/templates") if p.is_dir()) \
        if WORKFLOWS.is_dir() else []
    return extra + bundled


def load_template(name: str) -> Template:
    """The template `name` (e.g. `fiche_vc.docx`); TemplateInvalid if unknown or unusable."""
    if not isinstance(name, str) or not TEMPLATE_NAME.fullmatch(name) or ".." in name:
        raise TemplateInvalid(f"Nom de modèle invalide : {name!r} (attendu : "
                              "« nom_du_modele.docx »).")
    for folder in template_dirs():
        path = folder / name
        if path.is_file():
            if path.stat().st_size > MAX_TEMPLATE_BYTES:
                raise TemplateInvalid(f"Modèle {name} trop volumineux.")
            content = path.read_bytes()
            return Template(name, content, _kind_label(name, content))
    raise TemplateInvalid(f"Modèle de document introuvable : {name}. Placez-le dans le "
                          "dossier templates/ du protocole.", code="template_not_found")


def _open(content: bytes) -> Any:
    try:
        return docx.Document(io.BytesIO(content))
    except Exception as exc:  # python-docx raises several kinds for a non-docx file
        raise TemplateInvalid("Modèle illisible : ce n'est pas un document .docx valide.") \
            from exc


def _kind_label(name: str, content: bytes) -> str:
    title = (_open(content).core_properties.title or "").strip()
    return title[:200] if title else Path(name).stem.replace("_", " ").capitalize()


# --- rendering -----------------------------------------------------------------------------

def _paragraphs(document: Any) -> Iterator[Paragraph]:
    """Every paragraph of the body (tables and nested tables included), headers and footers,
    each exactly once."""
    roots = [document.element.body]
    for part in document.part.package.iter_parts():
        if part.partname.endswith(".xml") and ("/header" in part.partname
                                               or "/footer" in part.partname):
            roots.append(part.element)
    for root in roots:  # disjoint trees: each paragraph comes once
        for p in root.iter(qn("w:p")):
            yield Paragraph(p, None)


def placeholders(content: bytes) -> set[str]:
    """The placeholder names a template uses (runs merged, as rendering sees them)."""
    found: set[str] = set()
    for paragraph in _paragraphs(_open(content)):
        found.update(PLACEHOLDER.findall("".join(r.text for r in paragraph.runs)))
    return found


def render_docx(content: bytes, values: Mapping[str, Any],
                fields: Mapping[str, Mapping[str, Any]] | None = None) -> bytes:
    """Fill the template's placeholders from `values`, formatted with their form property in
    `fields`; returns the new document's bytes. Refuses placeholders absent from `values`."""
    unknown = sorted(placeholders(content) - set(values))
    if unknown:
        raise TemplateInvalid("Le modèle attend des champs que personne ne remplit : "
                              + ", ".join(unknown) + ".", code="template_field_unknown")
    fields = fields or {}
    document = _open(content)

    def resolve(match: re.Match[str]) -> str:
        name = match.group(1)
        return format_value(values[name], fields.get(name))

    for paragraph in _paragraphs(document):
        _fill(paragraph, resolve)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _fill(paragraph: Paragraph, resolve: Any) -> None:
    runs = paragraph.runs
    merged = "".join(r.text for r in runs)
    wanted = len(PLACEHOLDER.findall(merged))
    if not wanted:
        return
    if sum(len(PLACEHOLDER.findall(r.text)) for r in runs) == wanted:
        for run in runs:  # each placeholder inside one run: every run keeps its style
            if PLACEHOLDER.search(run.text):
                run.text = PLACEHOLDER.sub(resolve, run.text)
        return
    runs[0].text = PLACEHOLDER.sub(resolve, merged)
    for run in runs[1:]:
        run.text = ""
