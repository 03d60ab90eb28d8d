"""Errors of the activity figures."""

from __future__ import annotations

from engine.errors import Invalid, NotFound


class PeriodInvalid(Invalid):
    code = "period_invalid"


class ScopeNotFound(NotFound):
    """An organisation whose figures the caller may not see (the same answer as unknown)."""

    code = "figures_scope_not_found"
