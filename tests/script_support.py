"""A one-script process (start → script → end), parsed without deploy checks, to exercise
the run-time defences of diagram code."""

from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.runtime.expressions import make_script_engine
from engine.runtime.loader import parse_specs


def one_script_workflow(script: str) -> BpmnWorkflow:
    escaped = script.replace("&", "&amp;").replace("<", "&lt;")
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="d" targetNamespace="http://relais.test/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="script"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{escaped}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script"/>
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()
    return BpmnWorkflow(parse_specs({"p.bpmn": bpmn})["p"], script_engine=make_script_engine())
