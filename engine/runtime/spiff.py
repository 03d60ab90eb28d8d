"""SpiffWorkflow facade: our parser and task classes, spec storage, state (de)serialization.

- Service tasks never run inline: their first run asks the script engine's service hook to
  record an outbox request and leaves the task STARTED; an actor later runs the connector and
  `resume_service_task` completes the task with the result.
- A version's spec is serialized once (`spec_json`) and kept out of each instance's state;
  restored spec objects are cached per version, since specs are not changed by running.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import StandardLoopTask
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.util.task import TaskState

from engine.territory.slots import VARIABLE_PREFIX

SPEC_KEYS = ("spec", "subprocess_specs")
PARTNER_PREFIX = VARIABLE_PREFIX


class AsyncServiceTask(ServiceTask):
    """A service task whose connector runs outside the transaction, through the outbox.

    Its run records (task id, operator, evaluated parameters) on the script engine's
    `service_requests` list, which the runtime turns into outbox rows in the same transaction.
    """

    def _execute(self, task: Any) -> None:
        params = {name: value["value"] for name, value in self.evaluate_params(task).items()}
        task.workflow.script_engine.service_requests.append(
            (str(task.id), self.operation_name, params))
        return None  # STARTED: resumed when the connector's result arrives


# --- an injectable clock for SpiffWorkflow's timers -----------------------------------------
# SpiffWorkflow reads datetime.now() inside its timer module; during our engine calls that
# name answers from the unit of work's clock, so tests move time instead of sleeping.
_clock: ContextVar[Any] = ContextVar("relais_spiff_clock", default=None)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        clock = _clock.get()
        if clock is None:
            return datetime.now(tz)
        value = clock.now()
        return value.astimezone(tz) if tz is not None else value.replace(tzinfo=None)


timer_module.datetime = _ClockedDatetime  # type: ignore[attr-defined]


@contextmanager
def clock_context(clock: Any) -> Iterator[None]:
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)


class RelaisBpmnParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[type, type]]] = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, AsyncServiceTask),
    }


class _CachedSpecWorkflowConverter(BpmnWorkflowConverter):
    """Accepts already-restored spec objects, so a version's spec is restored only once."""

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        spec, subprocess_specs = dct.pop("spec"), dct.pop("subprocess_specs", {})
        if isinstance(spec, dict):
            spec = self.registry.restore(spec)
            subprocess_specs = self.mapping_from_dict(subprocess_specs)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[AsyncServiceTask] = ServiceTaskConverter
    config[BpmnWorkflow] = _CachedSpecWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _make_serializer()


def spec_json(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    """One version's spec, serialized once at deployment."""
    registry = SERIALIZER.registry
    return json.dumps({"spec": registry.convert(spec),
                       "subprocess_specs": {k: registry.convert(v)
                                            for k, v in subprocess_specs.items()}})


@lru_cache(maxsize=64)
def restored_spec(version_id: int, spec_text: str) -> tuple[Any, dict[str, Any]]:
    """The spec objects of a version (cached: specs are immutable once deployed)."""
    data = json.loads(spec_text)
    registry = SERIALIZER.registry
    return (registry.restore(data["spec"]),
            {k: registry.restore(v) for k, v in data["subprocess_specs"].items()})


def needed_partners(version_id: int, spec_text: str) -> list[str]:
    """The territory slots the process declares it reads: its data inputs named
    `organisation_<SLOT>` (docs/territories.md), in their order."""
    spec, _subs = restored_spec(version_id, spec_text)
    io_spec = getattr(spec, "io_specification", None)
    if io_spec is None:
        return []
    names = [getattr(ref, "bpmn_name", None) or getattr(ref, "name", None)
             for ref in io_spec.data_inputs]
    return [n[len(PARTNER_PREFIX):] for n in names if n and n.startswith(PARTNER_PREFIX)]


def new_workflow(version_id: int, spec_text: str, script_engine: Any) -> BpmnWorkflow:
    spec, subprocess_specs = restored_spec(version_id, spec_text)
    return BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)


def dump_state(workflow: BpmnWorkflow) -> str:
    """The instance state without its spec (stored once per version), and without the turns
    a standard loop has already merged (`prune_merged_turns`).

    In encoder mode the registry converts only what it is handed; objects nested in task
    internals (the events an event-based gateway has seen, as `BpmnEvent`s) reach the JSON
    encoder, which hands them back to the registry.
    """
    registry = SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = SERIALIZER.to_dict(workflow)
        for key in SPEC_KEYS:
            dct.pop(key, None)
        prune_merged_turns(workflow, dct)
        dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
        return json.dumps(dct, separators=(",", ":"), default=_encode)
    finally:
        registry._encoder_mode = False


def prune_merged_turns(workflow: BpmnWorkflow, dct: dict[str, Any]) -> int:
    """Drop from the serialized state the turns a standard loop has merged; the count dropped.

    A standard loop adds each turn as a child of the loop task; once a turn completes,
    SpiffWorkflow merges its data into the loop task and lists its id in the loop task's
    `internal_data["merged"]` (which stays: it counts the turns against `loopMaximum`).
    Nothing in the workflow reads a merged turn again, so keeping it only makes every later
    step load and rewrite it (~440 bytes per turn). The history of each turn lives outside
    the state: its `human_task` row (who completed it, when), its case record and its audit
    row. Only the serialized copy is pruned; the live workflow object is left as it is.
    """
    dropped: set[str] = set()
    for task in workflow.get_tasks():
        if isinstance(task.task_spec, StandardLoopTask):
            dropped.update(task.internal_data.get("merged") or ())
    if not dropped:
        return 0
    removed = 0
    for tasks, holder in _task_mappings(dct):
        gone = _with_descendants(tasks, dropped & tasks.keys())
        if not gone:
            continue
        last = holder.get("last_task")
        while last in gone:  # the turn just completed: SpiffWorkflow resumes from its loop
            last = tasks[last]["parent"]
        holder["last_task"] = last
        for guid in gone:
            del tasks[guid]
        for task in tasks.values():
            if any(child in gone for child in task["children"]):
                task["children"] = [c for c in task["children"] if c not in gone]
        removed += len(gone)
    return removed


def _task_mappings(dct: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(tasks by id, the dict holding them) for the workflow and each sub-workflow."""
    found = [(dct["tasks"], dct)]
    found += [(sub["tasks"], sub) for sub in (dct.get("subprocesses") or {}).values()]
    return found


def _with_descendants(tasks: dict[str, Any], roots: set[str]) -> set[str]:
    gone: set[str] = set()
    pending = list(roots)
    while pending:
        guid = pending.pop()
        if guid in gone or guid not in tasks:
            continue
        gone.add(guid)
        pending.extend(tasks[guid]["children"])
    return gone


def _encode(value: Any) -> Any:
    converted = SERIALIZER.registry.convert(value)
    if converted is value:
        raise TypeError(f"{type(value).__name__} cannot be stored in an instance's state")
    return converted


def load_state(version_id: int, spec_text: str, state: str, script_engine: Any) -> BpmnWorkflow:
    dct = json.loads(state)
    SERIALIZER.migrate(dct)
    spec, subprocess_specs = restored_spec(version_id, spec_text)
    dct["spec"], dct["subprocess_specs"] = spec, subprocess_specs
    workflow = SERIALIZER.from_dict(dct)
    workflow.script_engine = script_engine
    return workflow


def ready_human_tasks(workflow: BpmnWorkflow) -> list[Any]:
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def waiting_service_tasks(workflow: BpmnWorkflow) -> list[Any]:
    return [t for t in workflow.get_tasks(state=TaskState.STARTED)
            if isinstance(t.task_spec, AsyncServiceTask)]
