"""API endpoints. Views authenticate, call a service, shape the answer: no business rule here."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import List, Nested, String

from engine.web.api.auth import auth, current

bp = APIBlueprint("api", __name__, tag="Relais")


class OrganisationOut(Schema):
    slug = String(required=True)
    name = String(required=True)
    roles = List(String(), required=True)


class MeOut(Schema):
    username = String(required=True)
    display_name = String(required=True)
    organisations = List(Nested(OrganisationOut), required=True)


@bp.get("/me")
@bp.auth_required(auth)
@bp.output(MeOut)
@bp.doc(summary="Qui suis-je", description="L'utilisateur du jeton, ses organisations et rôles.")
def me() -> dict[str, Any]:
    principal = current()
    return {
        "username": principal.username,
        "display_name": principal.display_name,
        "organisations": [
            {"slug": slug, "name": name,
             "roles": principal.roles_in(org_id)}
            for org_id, slug, name in principal.organisations()
        ],
    }

