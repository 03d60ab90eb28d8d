"""Every blueprint of the administration console, registered together by `create_app`."""

from __future__ import annotations

from apiflask import APIBlueprint

from engine.web.admin import audit, catalogue, home, keys, operations, people, territory
from engine.web.admin.views import bp as protocols


def admin_blueprints() -> tuple[APIBlueprint, ...]:
    """The console: home, protocols (modeler, drafts) and the modeler's catalogue, people and
    tokens, territories and organisations, keys, the audit log, operations (incidents,
    instances, retention). Each is guarded by `engine.web.admin.guard`."""
    return (home.bp, protocols, catalogue.bp, people.bp, territory.bp, keys.bp, audit.bp,
            operations.bp)
