"""What a diagram will do after a user task: the next service task of one operator.

Another domain (routing, to preview the document a consent screen would let leave) asks the
runtime which parameters the next `operator` service task downstream of a ready user task
will receive. The runtime owns SpiffWorkflow; the caller only sees plain parameters.

Guarantees:
- only the diagram's structure is walked (outgoing flows, breadth first, at most
  `MAX_STEPS` elements away): nothing runs, nothing is saved;
- each parameter is evaluated on the user task's data, as SpiffWorkflow would when the
  service task runs; a parameter that cannot be evaluated yet is left out (None).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.db import UnitOfWork
from engine.runtime import spiff
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


def _downstream(start: Any, operator: str) -> Any | None:
    seen = {id(start)}
    frontier = list(getattr(start, "outputs", []))
    for _ in range(MAX_STEPS):
        following: list[Any] = []
        for spec in frontier:
            if id(spec) in seen:
                continue
            seen.add(id(spec))
            if getattr(spec, "operation_name", None) == operator:
                return spec
            following += list(getattr(spec, "outputs", []))
        frontier = following
    return None
