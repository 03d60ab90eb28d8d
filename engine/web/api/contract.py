"""The error half of the published API contract, completed once for every operation.

Every error answer of the API is an RFC 9457 problem document (`engine.web.errors.problem`,
content type `application/problem+json`). APIFlask documents only the errors a view
declares, as its own JSON shape; this spec processor describes what the platform really
answers, so a client (or schemathesis) can rely on the schema for every status code:

- 400 anywhere (malformed JSON, a value beyond what a column holds, a bad query string);
- 401 and 403 on authenticated operations (no or bad token; a role the caller lacks);
- 404 where the path or the body names a resource (unknown, or not visible: alike);
- 409 on changes (the resource changed in between, or was already answered);
- 413 and 415 where a body is sent (too large; not JSON / not multipart as documented);
- 422 where a body or a query is read (invalid values, with `errors` per field).
"""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Problème (RFC 9457), en français ; `code` est stable.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "required": ["field", "message"],
                      "properties": {"field": {"type": "string"},
                                     "message": {"type": "string"}}},
        },
    },
    "additionalProperties": True,
}
DESCRIPTIONS = {
    "400": "Requête mal formée", "401": "Authentification requise", "403": "Accès refusé",
    "404": "Introuvable (ou non visible)", "409": "Conflit",
    "413": "Envoi trop volumineux", "415": "Format non pris en charge",
    "422": "Données invalides (détail par champ dans `errors`)",
}
CHANGES = {"post", "put", "patch", "delete"}


def complete(spec: dict[str, Any]) -> dict[str, Any]:
    """APIFlask spec processor: every operation's error answers, as problem documents."""
    from engine.web.app import API_PREFIX

    spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in spec.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in operations.items():
            if method in CHANGES | {"get", "head"}:
                _complete_operation(path, method, operation)
    return spec


def _complete_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for status in _error_statuses(path, method, operation):
        responses[status] = {"description": DESCRIPTIONS[status], "content": content}


def _error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    statuses = ["400"]
    if operation.get("security") is not None or "401" in operation.get("responses", {}):
        statuses += ["401", "403"]
    if "{" in path or "requestBody" in operation:  # a body may name a resource too
        statuses.append("404")
    if method in CHANGES:
        statuses.append("409")
    if "requestBody" in operation:
        statuses += ["413", "415"]
    if "requestBody" in operation or any(p.get("in") == "query"
                                         for p in operation.get("parameters", [])):
        statuses.append("422")
    return statuses
