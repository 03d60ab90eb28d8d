"""What every administration blueprint shares: the principal is loaded, anonymous visitors
are sent to the login page, and anyone without the ADMIN role gets the French 403 page.

The services called by the pages check the role again (authorisation lives in the service);
this guard only makes sure no administration page ever renders for someone else.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import g, redirect, request, url_for

from engine.identity.roles import Role
from engine.identity.service import require_role
from engine.web.ui.auth import load_principal, safe_next


def administrators_only() -> Any:
    """`before_request` hook: login page for visitors, 403 for non-administrators."""
    if g.get("principal") is None:
        return redirect(url_for("ui.login", next=safe_next(request.full_path)))
    require_role(g.principal, Role.ADMIN)  # PermissionDenied: the French 403 page
    return None


def admin_blueprint(name: str, import_name: str, url_prefix: str) -> APIBlueprint:
    """A blueprint of administration pages, guarded for administrators only."""
    bp = APIBlueprint(name, import_name, url_prefix=url_prefix, enable_openapi=False)
    bp.before_request(load_principal)
    bp.before_request(administrators_only)
    return bp
