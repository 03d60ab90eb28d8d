"""The registry of service-task operators ("connectors").

A diagram's service task names its operator with ``spiffworkflow:serviceTaskOperator
id="…"``; deployment refuses any id not registered here, and any parameter the connector
does not declare. This module only describes connectors and holds their pure `run`
functions: executing one (outbox row, idempotent actor, retries) belongs to the service
layer and the jobs.

The registry is filled at import time by code, never by uploaded content.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.runtime.errors import UnknownConnector

ConnectorRun = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class ConnectorContext:
    """What a transactional connector may use: the unit of work that will also resume the
    instance, and the references of the instance, its case and the outbox row."""

    uow: Any
    instance_id: int
    case_id: int
    outbox_id: int
    task_guid: str


TransactionalRun = Callable[[ConnectorContext, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class ValidationContext:
    """What a connector's validator may use when a user task feeding it is completed: the
    unit of work, the instance, its case, and the organisation whose member completes."""

    uow: Any
    instance_id: int
    case_id: int
    organisation_id: int
    answers: Mapping[str, Any]  # the routed fields of the form being submitted


# Answers {parameter or answered field: French message} for what the connector would refuse.
Validator = Callable[[ValidationContext, Mapping[str, Any]], dict[str, str]]

# Modules of other domains that register their connectors when imported. Loaded on first
# lookup, so the runtime names no connector implementation and imports stay acyclic.
PROVIDERS: tuple[str, ...] = ("engine.routing.connectors", "engine.consent.connectors",
                             "engine.dossiers.connectors", "engine.agenda.connectors",
                             "engine.itp.connectors")
_providers_loaded = False
# Re-entrant: a provider's import may look a connector up; other threads wait for the end.
_providers_lock = threading.RLock()


def _load_providers() -> None:
    """Import every provider once; no thread sees the registry before all are imported."""
    global _providers_loaded
    if _providers_loaded:
        return
    with _providers_lock:
        if _providers_loaded:
            return
        for module in PROVIDERS:
            importlib.import_module(module)
        _providers_loaded = True  # only now: a lookup never answers from a partial registry


_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*/[a-z][a-z0-9_]*$")

# The `type` a diagram writes on `spiffworkflow:parameter` (SpiffWorkflow ignores it; the
# modeler shows it and the documentation names it).
ParameterType = Literal["str", "int", "bool", "list", "dict"]
PARAMETER_TYPES: dict[str, str] = {
    "str": "texte", "int": "nombre entier", "bool": "oui/non", "list": "liste",
    "dict": "dictionnaire",
}


@dataclass(frozen=True)
class Parameter:
    """One documented parameter of a connector: its name, type and French explanation
    (shown by the modeler's properties panel and the catalogue)."""

    name: str
    type: ParameterType
    doc: str


@dataclass(frozen=True)
class Connector:
    """A service-task operator: its id, a French description and its parameters.

    `run` maps evaluated parameters (name → value) to a JSON-serializable result, outside
    any transaction (at least once). `run_in_transaction` instead runs inside the unit of
    work that resumes the instance, so its database effect happens exactly once.
    """

    id: str
    description: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    run: ConnectorRun | None = None
    run_in_transaction: TransactionalRun | None = None
    # The documentation of every parameter (required and optional), for the modeler.
    documented: tuple[Parameter, ...] = ()
    # Checked when a user task whose answers feed these parameters is completed, so a value
    # the connector would refuse is a field error on the form, not a later incident.
    validate: Validator | None = None

    def __post_init__(self) -> None:
        if not _ID_PATTERN.match(self.id):
            raise ValueError(f"connector id must look like 'vendor/name', got {self.id!r}")
        overlap = set(self.required) & set(self.optional)
        if overlap:
            raise ValueError(f"parameters both required and optional: {sorted(overlap)}")
        strays = {p.name for p in self.documented} - self.parameters
        if strays:
            raise ValueError(f"documented parameters not accepted: {sorted(strays)}")

    def documentation(self, name: str) -> Parameter | None:
        """The documentation of parameter `name`, if written."""
        return next((p for p in self.documented if p.name == name), None)

    @property
    def parameters(self) -> frozenset[str]:
        """Every parameter name the connector accepts."""
        return frozenset(self.required) | frozenset(self.optional)

    def parameter_problems(self, names: set[str] | frozenset[str]) -> list[str]:
        """French reasons why a service task giving `names` as parameters is wrong."""
        problems = []
        missing = [name for name in self.required if name not in names]
        if missing:
            problems.append(
                f"paramètre(s) obligatoire(s) manquant(s) pour « {self.id} » : "
                + ", ".join(missing)
            )
        unknown = sorted(names - self.parameters)
        if unknown:
            accepted = ", ".join(sorted(self.parameters)) or "aucun"
            problems.append(
                f"paramètre(s) inconnu(s) pour « {self.id} » : {', '.join(unknown)} "
                f"(paramètres acceptés : {accepted})"
            )
        return problems


_REGISTRY: dict[str, Connector] = {}


def register(connector: Connector) -> Connector:
    """Add `connector`; registering the same object twice is a no-op.

    Raises ValueError if another connector already uses this id (ids are stable names
    written into deployed diagrams: they are never silently replaced).
    """
    existing = _REGISTRY.get(connector.id)
    if existing is not None and existing is not connector:
        raise ValueError(f"a different connector is already registered as {connector.id!r}")
    _REGISTRY[connector.id] = connector
    return connector


def unregister(connector_id: str) -> None:
    """Remove a connector (for tests that register temporary ones)."""
    _REGISTRY.pop(connector_id, None)


def get(connector_id: str) -> Connector:
    """The connector registered as `connector_id`; raises UnknownConnector otherwise."""
    _load_providers()
    try:
        return _REGISTRY[connector_id]
    except KeyError:
        raise UnknownConnector(connector_id) from None


def is_registered(connector_id: str) -> bool:
    """True when a connector is registered under this id."""
    _load_providers()
    return connector_id in _REGISTRY


def all_connectors() -> list[Connector]:
    """Every registered connector, sorted by id."""
    _load_providers()
    return [_REGISTRY[key] for key in sorted(_REGISTRY)]
