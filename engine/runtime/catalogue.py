"""What a diagram may name, for the modeler: forms, connectors, lane roles, consent codes.

The modeler's properties panel offers these as choices so that a diagram saved from it names
only what deployment accepts (`rules.py`). One service function, `modeler_catalogue`, gathers
them; it is read-only and for administrators only.

The consent vocabulary (purposes, data categories) belongs to the consent domain, which
imports the runtime: it is registered here by that domain (`register_vocabulary`, called
when its connectors are loaded) rather than imported, so the domain graph stays acyclic.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import forms
from engine.identity.models import ORGANISATION_KIND_LABELS
from engine.identity.roles import ROLE_LABELS, Role
from engine.identity.service import Principal, require_role
from engine.runtime import connectors
from engine.runtime.expressions import check_expression

VocabularyBuilder = Callable[[], dict[str, list[dict[str, str]]]]
_VOCABULARIES: dict[str, VocabularyBuilder] = {}


def register_vocabulary(name: str, builder: VocabularyBuilder) -> None:
    """Let a domain add a section of codes (e.g. « consent ») to the catalogue."""
    _VOCABULARIES[name] = builder


def modeler_catalogue(principal: Principal, forms_dir: Path = forms.FORMS_DIR) -> dict[str, Any]:
    """The catalogue offered by the modeler (administrators only)."""
    require_role(principal, Role.ADMIN)
    registered = connectors.all_connectors()  # also loads the domains' vocabularies
    catalogue: dict[str, Any] = {
        "forms": _forms(forms_dir),
        "connectors": [_connector(c) for c in registered],
        "roles": [{"code": role.value, "label": ROLE_LABELS[role]}
                  for role in Role if role is not Role.ADMIN],
        "parameter_types": [{"code": code, "label": label}
                            for code, label in connectors.PARAMETER_TYPES.items()],
    }
    consent: dict[str, Any] = {"recipient_kinds": [
        {"code": kind.value, "label": label} for kind, label in ORGANISATION_KIND_LABELS.items()]}
    for name, builder in sorted(_VOCABULARIES.items()):
        section = builder()
        if name == "consent":
            consent.update(section)
        else:
            catalogue[name] = section
    catalogue["consent"] = consent
    return catalogue


def _forms(forms_dir: Path) -> list[dict[str, Any]]:
    listed = []
    for path in sorted(forms_dir.glob("*.json")):
        if path.name.endswith(".ui.json"):
            continue
        try:
            form = forms.load(path.name, forms_dir)
        except forms.FormError:
            continue  # unusable: deployment refuses it too, so the modeler does not offer it
        listed.append({"file": form.name, "title": form.schema.get("title") or form.name,
                       "schema": form.schema})
    return listed


def _connector(connector: connectors.Connector) -> dict[str, Any]:
    parameters = []
    for name in (*connector.required, *connector.optional):
        documented = connector.documentation(name)
        parameters.append({
            "name": name,
            "type": documented.type if documented else "str",
            "required": name in connector.required,
            "doc": documented.doc if documented else "",
        })
    return {"id": connector.id, "description": connector.description, "parameters": parameters}


def check_source(principal: Principal, source: str, kind: str) -> str | None:
    """The deploy-time check of a script (`kind` « script ») or of a condition or parameter
    expression (« expression »), for the modeler: None when accepted, else French."""
    require_role(principal, Role.ADMIN)
    if kind == "script":
        if not source.strip():
            return ("Le script est vide : écrivez-le ou remplacez la tâche par une tâche "
                    "simple.")
        return check_expression(source, "exec")
    return check_expression(source, "eval")


def form_for_preview(principal: Principal, name: str,
                     forms_dir: Path = forms.FORMS_DIR) -> forms.Form:
    """The form `name` of the forms folder, for the modeler's preview (administrators
    only); FormError (French) when the name is invalid or the form unusable."""
    require_role(principal, Role.ADMIN)
    return forms.load(name, forms_dir)
