"""Who is acting and what they may do: the permission vocabulary every service speaks.

Re-exported by engine.identity.service, where callers import it from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.audit.service import Actor
from engine.identity.errors import PermissionDenied
from engine.identity.models import User
from engine.identity.roles import FIGURES_ONLY_ROLES, Role


@dataclass(frozen=True)
class Grant:
    organisation_id: int
    organisation_slug: str
    organisation_name: str
    role: str


@dataclass(frozen=True)
class Principal:
    """An authenticated user as the rest of the system sees them."""

    user_id: int
    username: str
    display_name: str
    grants: tuple[Grant, ...]
    via_token_id: int | None = None
    session_id: int | None = None

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user_id, label=self.username,
                     organisation_id=self.primary_organisation_id,
                     via_token_id=self.via_token_id)

    @property
    def primary_organisation_id(self) -> int | None:
        return self.grants[0].organisation_id if self.grants else None

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    def roles_in(self, organisation_id: int) -> list[str]:
        """The principal's roles in `organisation_id`, sorted."""
        return sorted(g.role for g in self.grants if g.organisation_id == organisation_id)

    def organisations(self) -> list[tuple[int, str, str]]:
        seen: dict[int, tuple[int, str, str]] = {}
        for g in self.grants:
            seen.setdefault(g.organisation_id,
                            (g.organisation_id, g.organisation_slug, g.organisation_name))
        return list(seen.values())

    def has_role(self, role: str | Role, organisation_id: int | None = None) -> bool:
        return any(g.role == role
                   and (organisation_id is None or g.organisation_id == organisation_id)
                   for g in self.grants)

    def belongs_to(self, organisation_id: int | None) -> bool:
        """The principal holds some role in `organisation_id` (any role, administrators too)."""
        return organisation_id is not None and any(
            g.organisation_id == organisation_id for g in self.grants)

    def works_for(self, organisation_id: int | None) -> bool:
        """The principal is a professional of `organisation_id`: a role there other than the
        platform administrator's, who runs the platform but follows no situation, and other
        than the figures-only roles (comité de suivi, employer's management)."""
        return organisation_id is not None and any(
            g.organisation_id == organisation_id and g.role != Role.ADMIN
            and g.role not in FIGURES_ONLY_ROLES for g in self.grants)

    def can_see(self, case: Any) -> bool:
        """The one rule for seeing a situation: a professional of the organisation holding it."""
        return case is not None and self.works_for(case.organisation_id)


def require_role(principal: Principal, *roles: str | Role,
                 organisation_id: int | None = None) -> None:
    """The one permission check: the principal holds one of `roles` (in that organisation)."""
    if not any(principal.has_role(role, organisation_id) for role in roles):
        raise PermissionDenied("Vous n'avez pas le rôle nécessaire pour cette action.")


def principal_for(user: User, *, via_token_id: int | None = None,
                  session_id: int | None = None) -> Principal:
    grants = tuple(
        Grant(m.organisation_id, m.organisation.slug, m.organisation.name, m.role)
        for m in sorted(user.memberships, key=lambda m: (m.organisation_id, m.role))
        if m.organisation.active
    )
    return Principal(user.id, user.username, user.display_name, grants, via_token_id, session_id)
