"""What a diagram will do after a user task: the next service task of one operator.

Another domain (routing, to preview the document a consent screen would let leave) asks the
runtime which parameters the next `operator` service task downstream of a ready user task
will receive. The runtime owns SpiffWorkflow; the caller only sees plain parameters.

Guarantees:
- only the diagram's structure is walked (outgoing flows, breadth first, at most
  `MAX_STEPS` elements away, never past another user task): nothing runs, nothing is saved;
- each parameter is evaluated on the user task's data, as SpiffWorkflow would when the
  service task runs; a parameter that cannot be evaluated yet is left out (None).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.db import UnitOfWork
from engine.runtime import connectors, spiff
from engine.runtime.errors import UnknownConnector
from engine.runtime.execution import load
from engine.runtime.models import HumanTask, Instance

MAX_STEPS = 8


def next_service_params(uow: UnitOfWork, row: HumanTask,
                        operator: str) -> dict[str, Any] | None:
    """The evaluated parameters of the first `operator` service task reachable from the user
    task `row` (None when there is none within `MAX_STEPS`)."""
    instance = uow.session.get(Instance, row.instance_id)
    if instance is None or not row.task_guid:
        return None
    loaded = load(uow, instance)
    task = loaded.workflow.get_task_from_id(UUID(row.task_guid))
    spec = _downstream(task.task_spec, operator) if task is not None else None
    if spec is None:
        return None
    engine = task.workflow.script_engine
    params: dict[str, Any] = {}
    with spiff.clock_context(uow.db.clock):
        for name, param in spec.operation_params.items():
            try:
                params[name] = engine.evaluate(task, param["value"])
            except SpiffWorkflowException:
                params[name] = None  # depends on data the diagram has not produced yet
    return params


def refusals_of_next_connector(uow: UnitOfWork, task: Any, fields: set[str],
                               context: connectors.ValidationContext) -> dict[str, str]:
    """{form field: French message} for the values the next validating connector
    downstream of `task` would refuse. `task.data` already holds the submitted routing
    values. A parameter given as a bare field name (`envoi`) is checked with its value; a
    validator may also judge an answered field it reads later (`expires_on`); either way
    each refusal is tied to the field the user typed."""
    spec = _downstream(task.task_spec, None)
    if spec is None:
        return {}
    try:
        connector = connectors.get(spec.operation_name)
    except UnknownConnector:
        return {}
    if connector.validate is None:
        return {}
    fed = {name: param["value"].strip() for name, param in spec.operation_params.items()
           if isinstance(param.get("value"), str) and param["value"].strip() in fields}
    values = {name: task.data.get(field) for name, field in fed.items()}
    problems = connector.validate(context, values)
    tied = {fed[name]: message for name, message in problems.items() if name in fed}
    return {**tied, **{name: message for name, message in problems.items()
                       if name in fields and name not in fed}}


def _downstream(start: Any, operator: str | None) -> Any | None:
    """The first service task of `operator` (None: of any operator that validates)."""
    seen = {id(start)}
    frontier = list(getattr(start, "outputs", []))
    for _ in range(MAX_STEPS):
        following: list[Any] = []
        for spec in frontier:
            if id(spec) in seen:
                continue
            seen.add(id(spec))
            name = getattr(spec, "operation_name", None)
            if name and (name == operator or (operator is None and _validates(name))):
                return spec
            if "UserTask" not in type(spec).__name__:  # a person's step ends the look-ahead
                following += list(getattr(spec, "outputs", []))
        frontier = following
    return None


def _validates(operator: str) -> bool:
    try:
        return connectors.get(operator).validate is not None
    except UnknownConnector:
        return False
