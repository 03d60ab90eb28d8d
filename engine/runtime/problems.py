"""Building the French `Problem`s a refused process model is reported with.

Each problem names the file, the element id and BPMN type a modeler shows, and one French
sentence saying what to do.
"""

from __future__ import annotations

from lxml import etree

from engine.runtime.errors import Problem
from engine.runtime.vocabulary import OWNER_TYPES

INTERNAL_ERROR = (
    "le modèle n'a pas pu être analysé à cause d'une erreur interne ; il est refusé par "
    "précaution. Transmettez le fichier à l'équipe technique"
)


# --- Helpers -----------------------------------------------------------------------------


def problem(file: str, element: etree._Element, reason: str) -> Problem:
    return Problem(
        file=file,
        element_id=element.get("id"),
        element_type=etree.QName(element).localname,
        reason=sentence(reason),
        line=element.sourceline,
    )


def file_problem(file: str, reason: str, line: int | None = None) -> Problem:
    """A problem about a whole file (no element)."""
    return Problem(file, None, None, sentence(reason), line)


def sentence(reason: str) -> str:
    reason = reason.strip().rstrip(".") + "."
    return reason[0].upper() + reason[1:]


def owner(element: etree._Element) -> etree._Element:
    """The element a modeler shows for `element`: a flow node, a flow, a message…

    A condition is reported on its sequence flow, a timer on its event, a script on its task.
    """
    current = element.getparent()
    while current is not None:
        if etree.QName(current).localname in OWNER_TYPES and current.get("id"):
            return current
        current = current.getparent()
    return element


def local_tag(tag: str | None) -> str | None:
    if not tag:
        return None
    if tag.startswith("{"):
        return tag.split("}", 1)[1]
    return tag.split(":", 1)[-1]


def shorten(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
