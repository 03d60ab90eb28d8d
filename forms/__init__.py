"""Form definitions: JSON Schema 2020-12 files in this folder, plus an optional UI schema.

A user task names its form with the spiff property `formJsonSchemaFilename` (e.g.
`vc_fiche.json`); the UI schema is `<stem>.ui.json` beside it (order, widgets, French help).
Relais keywords on properties:
- `x-relais-category`: the data category of the field (`ID`, `SOC`, `HEALTH`, `OFF`, `MINOR`,
  `THIRD`); every property must carry one, so that transmissions know what they carry;
- `x-relais-route: true`: the value is copied into workflow data for gateways; allowed only on
  enums, booleans, numbers, integers and dates, never on free text (invariant 1);
- `x-relais-stat: "<indicator>"`: the value is counted in the activity figures (engine/figures)
  under that indicator; allowed only on choices (one or several), booleans, integers and dates
  (counted by month), never on free text.
- `x-relais-retention: "gravity"`: the chosen value is the gravity of the facts
  (`contravention`, `delit`, `crime`), which the case keeps (its gravest) so that the
  retention sweep keeps it as long as the offence can be prosecuted; only on a choice among
  those three codes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

FORMS_DIR = Path(__file__).parent
CATEGORIES = frozenset({"ID", "SOC", "HEALTH", "OFF", "MINOR", "THIRD"})
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.json$")
ROUTABLE_TYPES = frozenset({"boolean", "number", "integer"})
STAT_KEY = "x-relais-stat"
STAT_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
RETENTION_KEY = "x-relais-retention"
GRAVITY_CODES = ("contravention", "delit", "crime")  # from the least to the gravest


class FormError(Exception):
    """A form definition that cannot be used (a deployment problem, not a user error)."""


class FormInvalid(Exception):
    """A submission that does not satisfy its form; `errors` is [{field, message}] in French."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Form:
    name: str
    schema: dict[str, Any]
    ui: dict[str, Any] = field(default_factory=dict)

    @property
    def properties(self) -> dict[str, dict[str, Any]]:
        return self.schema.get("properties", {})

    def category_of(self, name: str) -> str | None:
        return self.properties.get(name, {}).get("x-relais-category")

    def categories(self) -> set[str]:
        return {p["x-relais-category"] for p in self.properties.values()
                if "x-relais-category" in p}

    def routing_fields(self) -> list[str]:
        return [name for name, prop in self.properties.items() if prop.get("x-relais-route")]

    def routing_data(self, data: dict[str, Any]) -> dict[str, Any]:
        """Only the routing fields' values: what may enter workflow state."""
        return {name: data.get(name) for name in self.routing_fields()}

    def stat_facts(self, data: dict[str, Any]) -> list[tuple[str, str]]:
        """(indicator, value code) for each counted field that has a value: one per chosen
        item of a multiple choice, « oui »/« non » for booleans, the month of a date."""
        facts: list[tuple[str, str]] = []
        for name, prop in self.properties.items():
            indicator, value = prop.get(STAT_KEY), data.get(name)
            if not indicator or value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                facts.append((indicator, _stat_value(item)))
        return facts

    def retention_gravity(self, data: dict[str, Any]) -> str | None:
        """The gravity of the facts a submission records (its `x-relais-retention` field),
        or None when the form records none or it was left empty."""
        for name, prop in self.properties.items():
            if prop.get(RETENTION_KEY) == "gravity" and data.get(name) in GRAVITY_CODES:
                return str(data[name])
        return None

    def with_choices(self, allowed: dict[str, list[Any]]) -> Form:
        """This form with some choices narrowed to `allowed` (values outside the field's own
        choices are ignored: a diagram cannot invent an answer)."""
        schema = json.loads(json.dumps(self.schema))
        for name, values in allowed.items():
            prop = schema["properties"][name]
            prop["enum"] = [v for v in prop.get("enum", []) if v in values]
        return Form(name=self.name, schema=schema, ui=self.ui)

    def with_fixed(self, values: dict[str, Any]) -> Form:
        """This form with fields whose value is decided elsewhere (shown, not editable)."""
        schema = json.loads(json.dumps(self.schema))
        for name, value in values.items():
            prop = schema["properties"][name]
            prop.update({"const": value, "default": value, "readOnly": True})
        return Form(name=self.name, schema=schema, ui=self.ui)

    def validate(self, data: Any) -> dict[str, Any]:
        """The submission if valid; FormInvalid with per-field French messages otherwise."""
        if not isinstance(data, dict):
            raise FormInvalid([{"field": "_", "message": "Les données doivent être un objet."}])
        validator = Draft202012Validator(self.schema, format_checker=FormatChecker())
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            raise FormInvalid([_french(e) for e in errors])
        return data


def _field_of(error: ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        name = missing.group(1) if missing else "?"
        return f"{path}.{name}" if path else name
    if error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message)
        return ".".join(filter(None, [path, extra[0] if extra else ""])) or "_"
    return path or "_"


_MESSAGES: dict[str, Any] = {
    "required": lambda a: "Ce champ est obligatoire.",
    "type": lambda a: f"Valeur du mauvais type (attendu : {_type_fr(a)}).",
    "enum": lambda a: "Valeur non autorisée (choix possibles : "
                      + ", ".join(str(x) for x in a or []) + ").",
    "const": lambda a: "Valeur non autorisée.",
    "minLength": lambda a: f"Texte trop court (au moins {a} caractère(s)).",
    "maxLength": lambda a: f"Texte trop long (au plus {a} caractères).",
    "minimum": lambda a: f"Valeur trop petite (minimum {a}).",
    "maximum": lambda a: f"Valeur trop grande (maximum {a}).",
    "exclusiveMinimum": lambda a: f"La valeur doit être supérieure à {a}.",
    "exclusiveMaximum": lambda a: f"La valeur doit être inférieure à {a}.",
    "minItems": lambda a: f"Au moins {a} élément(s) attendu(s).",
    "maxItems": lambda a: f"Au plus {a} élément(s).",
    "uniqueItems": lambda a: "Chaque élément ne doit figurer qu'une fois.",
    "pattern": lambda a: "Format non reconnu.",
    "additionalProperties": lambda a: "Champ inconnu de ce formulaire.",
    "format": lambda a: _format_fr(a),
}


def _french(error: ValidationError) -> dict[str, str]:
    message = _MESSAGES.get(str(error.validator))
    text = message(error.validator_value) if message else "Valeur invalide."
    return {"field": _field_of(error), "message": text}


def _type_fr(t: Any) -> str:
    names = {"string": "texte", "integer": "nombre entier", "number": "nombre",
             "boolean": "oui/non", "array": "liste", "object": "objet", "null": "vide"}
    if isinstance(t, list):
        return " ou ".join(names.get(x, str(x)) for x in t)
    return names.get(t, str(t))


def _format_fr(fmt: Any) -> str:
    return {"date": "Date invalide (format attendu AAAA-MM-JJ).",
            "date-time": "Date et heure invalides (format ISO 8601).",
            "time": "Heure invalide (format HH:MM:SS).",
            "email": "Adresse électronique invalide.",
            }.get(fmt, "Format invalide.")


def check_definition(schema: dict[str, Any]) -> list[str]:
    """Problems of a form definition itself (French); empty when usable."""
    problems: list[str] = []
    try:
        Draft202012Validator.check_schema(schema)
    except Exception as exc:  # SchemaError and friends: report, never crash a deployment
        return [f"schéma JSON invalide : {getattr(exc, 'message', exc)}"]
    if schema.get("type") != "object":
        problems.append("le formulaire doit décrire un objet (type « object »)")
    for name, prop in schema.get("properties", {}).items():
        category = prop.get("x-relais-category")
        if category not in CATEGORIES:
            problems.append(f"champ « {name} » : catégorie de données absente ou inconnue "
                            f"(x-relais-category parmi {', '.join(sorted(CATEGORIES))})")
        if prop.get("x-relais-route") and not _routable(prop):
            problems.append(f"champ « {name} » : seul un choix, un booléen, un nombre ou une date "
                            "peut servir au routage (x-relais-route)")
        stat_problem = _stat_problem(name, prop)
        if stat_problem:
            problems.append(stat_problem)
        if RETENTION_KEY in prop and (prop[RETENTION_KEY] != "gravity" or not set(
                prop.get("enum") or ["?"]) <= set(GRAVITY_CODES)):
            problems.append(f"champ « {name} » : x-relais-retention vaut « gravity », sur un "
                            "choix parmi contravention, delit, crime")
    return problems


def _stat_problem(name: str, prop: dict[str, Any]) -> str | None:
    indicator = prop.get(STAT_KEY)
    if indicator is None:
        return None
    if not isinstance(indicator, str) or not STAT_CODE_RE.match(indicator):
        return f"champ « {name} » : indicateur statistique invalide (x-relais-stat : un code)"
    items = prop.get("items") if prop.get("type") == "array" else None
    countable = _routable(items) and "enum" in items if isinstance(items, dict) else (
        _routable(prop) and prop.get("type") != "number")
    if not countable:
        return (f"champ « {name} » : seul un choix, un booléen, un entier ou une date peut être "
                "compté dans les chiffres (x-relais-stat)")
    return None


def _stat_value(value: Any) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return value[:7]  # a date is counted by month, never by day
    return str(value)


def _routable(prop: dict[str, Any]) -> bool:
    if "enum" in prop:
        return all(isinstance(v, str | bool | int | float) for v in prop["enum"])
    kind = prop.get("type")
    if kind in ROUTABLE_TYPES:
        return True
    return kind == "string" and prop.get("format") in {"date", "date-time"}


def load(name: str, directory: Path = FORMS_DIR) -> Form:
    """The form `name` from `directory`; FormError if missing or unusable."""
    if not NAME_RE.match(name) or ".." in name:
        raise FormError(f"nom de formulaire invalide : {name}")
    return _load(str(directory), name)


def ui_name(name: str) -> str:
    """The UI schema's file name for form `name` (`x.json` → `x.ui.json`)."""
    return name[:-5] + ".ui.json"


@lru_cache(maxsize=256)
def _load(directory: str, name: str) -> Form:
    path = Path(directory) / name
    try:
        schema_bytes = path.read_bytes()
    except FileNotFoundError as exc:
        raise FormError(f"formulaire introuvable : {name}") from exc
    ui_path = path.with_name(ui_name(name))
    return parse(name, schema_bytes, ui_path.read_bytes() if ui_path.exists() else None)


def parse(name: str, schema_bytes: bytes, ui_bytes: bytes | None = None) -> Form:
    """A form from its files' bytes (as stored with a deployment); FormError if unusable."""
    try:
        schema = json.loads(schema_bytes.decode("utf-8"))
        ui = json.loads(ui_bytes.decode("utf-8")) if ui_bytes else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormError(f"formulaire {name} : JSON invalide ({exc})") from exc
    if not isinstance(schema, dict) or not isinstance(ui, dict):
        raise FormError(f"formulaire {name} : un objet JSON est attendu")
    problems = check_definition(schema)
    if problems:
        raise FormError(f"formulaire {name} : " + " ; ".join(problems))
    return Form(name=name, schema=schema, ui=ui)
