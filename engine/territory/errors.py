"""Territory errors: each names the field it concerns, in French."""

from __future__ import annotations

from engine.errors import Invalid


class TerritoryInvalid(Invalid):
    """A territory or a partner refused; `errors` gives the field and its French message."""

    code = "territory_invalid"

    def __init__(self, field: str, message: str):
        super().__init__(message, [{"field": field, "message": message}])
        self.field = field


class TerritoryMissing(Invalid):
    """A protocol cannot start: its organisation has no territory, or the territory lacks a
    partner the diagram needs (refused at start, never mid-flow)."""

    code = "territory_partner_missing"
    status = 409
