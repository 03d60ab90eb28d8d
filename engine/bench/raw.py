"""SpiffWorkflow without Relais: the bare library, and our facade (`engine.runtime.spiff`) alone,
advancing the benchmark protocol one step at a time without a database."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.bench.common import (
    DIAGRAM,
    FORMS_DIR,
    PROCESS_ID,
    WARMUP_STEPS,
    routing_values,
    step_summary,
    windows,
)
from engine.runtime import loader, spiff
from engine.runtime.expressions import make_script_engine


class RawProtocol:
    """One workflow of the benchmark protocol, advanced one step at a time without a database.

    A step: deserialize, complete the ready user task with the routing values, run engine
    steps, serialize — SpiffWorkflow's own round trip.
    """

    def __init__(self, first: Any, load: Callable[[str], Any], dump: Callable[[Any], str]):
        self.load, self.dump = load, dump
        first.data.update({"case_id": 1, "instance_id": 1})
        first.do_engine_steps()
        self.state = dump(first)
        self.workflow = first

    def step(self, step: int, continuing: bool = True) -> float:
        began = time.perf_counter()
        workflow = self.load(self.state)
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data.update(routing_values(step, continuing))
        task.run()
        workflow.do_engine_steps()
        self.state = self.dump(workflow)
        elapsed = time.perf_counter() - began
        self.workflow = workflow
        return elapsed

    def depth(self) -> int:
        return max(t.depth for t in self.workflow.get_tasks())


def bare_factory() -> Callable[[], RawProtocol]:
    """Bare SpiffWorkflow: SpiffBpmnParser (parsed once), its serializer with the spec
    embedded, its default script engine."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(DIAGRAM))
    spec = parser.get_spec(PROCESS_ID)
    subprocess_specs = parser.get_subprocess_specs(PROCESS_ID)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    return lambda: RawProtocol(BpmnWorkflow(spec, subprocess_specs),
                                serializer.deserialize_json, serializer.serialize_json)


def _facade_factory() -> Callable[[], RawProtocol]:
    """Our facade (engine.runtime.spiff): hardened loading, spec stored apart, restricted
    script engine."""
    model = loader.load_model({DIAGRAM.name: DIAGRAM.read_bytes()}, FORMS_DIR)
    spec_text = spiff.spec_json(model.specs[PROCESS_ID],
                                model.subprocess_specs.get(PROCESS_ID, {}))
    version_id = -os.getpid()  # a key of its own in the facade's spec cache

    def script_engine() -> Any:
        engine = make_script_engine()
        engine.service_requests = []
        return engine

    def load(state: str) -> Any:
        return spiff.load_state(version_id, spec_text, state, script_engine())

    return lambda: RawProtocol(spiff.new_workflow(version_id, spec_text, script_engine()),
                                load, spiff.dump_state)


def _measure_sequential(factory: Callable[[], RawProtocol], steps: int) -> dict[str, Any]:
    warm = factory()
    for step in range(1, WARMUP_STEPS + 1):
        warm.step(step)
    _, half = windows(steps)
    total = steps + half + 1
    protocol = factory()
    times, sizes, depth = [], {}, 0
    for step in range(1, total + 1):
        times.append(protocol.step(step, continuing=step < total))
        sizes[step] = len(protocol.state)
        if step == total - 1:
            depth = protocol.depth()
    if not protocol.workflow.is_completed():
        raise RuntimeError("le protocole de banc d'essai ne s'est pas terminé (SpiffWorkflow)")
    return {**step_summary(times, steps), "state_bytes_3": sizes[3],
            f"state_bytes_{steps}": sizes[steps], "max_task_depth": depth}


def measure_raw(steps: int) -> dict[str, Any]:
    """Bare SpiffWorkflow, alone in the process (no database work interleaved)."""
    return {**_measure_sequential(bare_factory(), steps),
            "serializer": "BpmnWorkflowSerializer(DEFAULT_CONFIG), spec embedded"}


def measure_raw_facade(steps: int) -> dict[str, Any]:
    """The same loop through engine.runtime.spiff, alone in the process."""
    return _measure_sequential(_facade_factory(), steps)
