"""The console sections of keys, audit log and operations, registered by `create_app`."""

from __future__ import annotations

from apiflask import APIBlueprint

from engine.web.admin import audit, keys, operations


def admin_operations_blueprints() -> tuple[APIBlueprint, ...]:
    """`admin_keys` (/admin/cles), `admin_audit` (/admin/journal) and `admin_ops`
    (/admin/incidents, /admin/instances, /admin/conservation)."""
    return keys.bp, audit.bp, operations.bp
