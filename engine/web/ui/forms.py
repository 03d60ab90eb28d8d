"""From a JSON Schema form to HTML fields and back: the page side of `forms`.

Parsing only converts types (checkbox → bool, "12" → 12, empty → absent); validation stays
with `forms.Form.validate` on the server, whose French messages the page shows per field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

LONG_TEXT = 200


@dataclass(frozen=True)
class Field:
    name: str
    title: str
    kind: str  # text, textarea, date, number, select, radio, checkbox, choices, fixed
    required: bool
    help: str | None
    options: list[tuple[str, str]]
    value: Any
    fixed: bool
    shown: list[str] = field(default_factory=list)  # a fixed value, in words


def fields(schema: dict[str, Any], ui: dict[str, Any], values: dict[str, Any],
           words: dict[str, str] | None = None) -> list[Field]:
    """The fields in the UI schema's order (then the schema's), with current values; `words`
    name the codes (purposes, organisations, data categories) the form's labels do not."""
    props: dict[str, Any] = schema.get("properties", {})
    order = [n for n in ui.get("order", []) if n in props] + \
        [n for n in props if n not in ui.get("order", [])]
    required = set(schema.get("required", []))
    hints = ui.get("fields", {})
    return [_field(name, props[name], name in required, hints.get(name, {}), values, words or {})
            for name in order]


def _field(name: str, prop: dict[str, Any], required: bool, hint: dict[str, Any],
           values: dict[str, Any], words: dict[str, str]) -> Field:
    fixed = "const" in prop and prop.get("readOnly", False)
    value = prop.get("const") if fixed else values.get(name, prop.get("default"))
    items = prop.get("items", {}) if prop.get("type") == "array" else {}
    # A multi-choice list names its choices on `items` (where its enum is), a list on the field.
    labels = prop.get("x-relais-labels") or items.get("x-relais-labels") or {}
    enum = prop.get("enum") or items.get("enum") or []
    options = [(str(v), labels.get(str(v)) or words.get(str(v), str(v))) for v in enum]
    listed = value if isinstance(value, list) else [value] if value is not None else []
    return Field(name=name, title=prop.get("title", name), kind=_kind(prop, hint, fixed),
                 required=required, help=hint.get("help") or prop.get("description"),
                 options=options, value=value, fixed=fixed,
                 shown=[_shown(v, labels, words) for v in listed])


def _shown(value: Any, labels: dict[str, str], words: dict[str, str]) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    return labels.get(str(value)) or words.get(str(value), str(value))


def _kind(prop: dict[str, Any], hint: dict[str, Any], fixed: bool) -> str:
    kind = prop.get("type")
    if fixed:
        return "fixed"
    if kind == "boolean":
        return "checkbox"
    if kind == "array":
        return "choices"
    if "enum" in prop:
        return "radio" if hint.get("widget") == "radio" else "select"
    if kind in ("integer", "number"):
        return "number"
    if prop.get("format") == "date":
        return "date"
    if hint.get("widget") == "textarea" or prop.get("maxLength", LONG_TEXT + 1) > LONG_TEXT:
        return "textarea"
    return "text"


def parse(schema: dict[str, Any], form: MultiDict[str, str]) -> dict[str, Any]:
    """Typed values from a submitted HTML form (fixed fields are left to the server)."""
    data: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if "const" in prop and prop.get("readOnly"):
            continue
        kind = prop.get("type")
        if kind == "boolean":
            data[name] = form.get(name) == "on"
        elif kind == "array":
            chosen = form.getlist(name)
            if chosen:
                data[name] = chosen
        else:
            raw = (form.get(name) or "").strip()
            if raw:
                data[name] = _number(raw, kind)
    return data


def _number(raw: str, kind: str | None) -> Any:
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw  # the validator answers "mauvais type" in French
    return raw
