"""Errors of the situations domain (French messages, stable codes)."""

from __future__ import annotations

from engine.errors import Forbidden, Invalid


class ReceptionInvalid(Invalid):
    code = "reception_invalid"


class NoteInvalid(Invalid):
    code = "note_invalid"


class NotAHolder(Forbidden):
    """The caller's organisation does not follow situations (police, parquet...)."""

    code = "situations_not_held"
