"""Codes a professional or a person may meet on a form, in words: purposes, data categories,
organisations (by their slug). Pages show these words, never the codes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from engine.consent import catalogue
from engine.db import UnitOfWork
from engine.identity.models import ORGANISATION_KIND_LABELS, Organisation


def words_for(uow: UnitOfWork, codes: Iterable[str]) -> dict[str, str]:
    """Each code that names a purpose, a data category or an organisation, with its words;
    other values are left out (the page shows them as they are)."""
    wanted = {c for c in codes if isinstance(c, str)}
    words: dict[str, str] = {}
    for code in wanted:
        if code in catalogue.PURPOSES:
            words[code] = catalogue.PURPOSES[code].label
        elif code in catalogue.CATEGORY_LABELS:
            words[code] = catalogue.category_label(code).capitalize()
    slugs = wanted - set(words)
    if slugs:
        for org in uow.session.scalars(select(Organisation).where(Organisation.slug.in_(slugs))):
            kind = ORGANISATION_KIND_LABELS.get(org.kind, "")
            words[org.slug] = f"{org.name} ({kind})" if kind else org.name
    return words


def form_words(uow: UnitOfWork, schema: dict[str, object]) -> dict[str, str]:
    """Words for every code a form can show: its fixed values and its choices."""
    codes: list[str] = []
    properties = schema.get("properties", {})
    for prop in properties.values() if isinstance(properties, dict) else []:
        fixed = prop.get("const")
        codes += fixed if isinstance(fixed, list) else [fixed]
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        codes += list(prop.get("enum") or []) + list(items.get("enum") or [])
    return words_for(uow, codes)
