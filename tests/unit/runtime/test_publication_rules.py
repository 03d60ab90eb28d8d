"""The structural rules a diagram must meet to be published (engine/runtime/structure.py):
each rule refuses its broken case, element by element, and accepts the correct one."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.runtime import rules
from engine.runtime.reading import read_all
from engine.runtime.structure import structural_problems

WORKFLOWS = Path(__file__).parents[3] / "workflows"
HEAD = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" '
        'targetNamespace="t"><bpmn:process id="p" name="P" isExecutable="true">')
FORM = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
        'name="formJsonSchemaFilename" value="f.json"/></spiffworkflow:properties>'
        '</bpmn:extensionElements>')
START = '<bpmn:startEvent id="s" name="Début"/>'
END = '<bpmn:endEvent id="e" name="Fin"/>'
TASK = f'<bpmn:userTask id="t" name="Tâche">{FORM}</bpmn:userTask>'


def flow(fid: str, source: str, target: str, condition: str | None = None,
         name: str | None = None) -> str:
    label = f' name="{name}"' if name else ""
    if condition is None:
        return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"{label}/>'
    return (f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"{label}>'
            f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>"
            "</bpmn:sequenceFlow>")


def problems(*body: str) -> dict[str | None, list[str]]:
    xml = HEAD + "".join(body) + "</bpmn:process></bpmn:definitions>"
    documents = read_all({"p.bpmn": xml.encode()})
    found: dict[str | None, list[str]] = {}
    for p in structural_problems(rules.executable_processes(documents)):
        found.setdefault(p.element_id, []).append(p.reason)
    return found


VALID = (START, TASK, END, flow("f1", "s", "t"), flow("f2", "t", "e"))


def test_a_connected_diagram_with_forms_passes():
    assert problems(*VALID) == {}


def test_the_bundled_protocols_pass():
    for folder in sorted(p for p in WORKFLOWS.iterdir() if (p / f"{p.name}.bpmn").exists()):
        files = {f.name: f.read_bytes() for f in folder.iterdir() if f.suffix in (".bpmn", ".dmn")}
        documents = [d for d in read_all(files) if d.kind == "bpmn"]
        assert structural_problems(rules.executable_processes(documents)) == [], folder.name


def test_an_empty_process_lacks_its_start_and_end():
    found = problems()
    assert any("début" in r for r in found["p"]) and any("fin" in r for r in found["p"])


@pytest.mark.parametrize("body, element, words", [
    ((START, TASK, END, flow("f1", "s", "t")), "t", "flux sortant"),
    ((START, TASK, END, flow("f2", "t", "e")), "t", "flux entrant"),
    ((START, '<bpmn:userTask id="t" name="Tâche"/>', END, flow("f1", "s", "t"),
      flow("f2", "t", "e")), "t", "formulaire"),
    ((START, f'<bpmn:userTask id="t">{FORM}</bpmn:userTask>', END, flow("f1", "s", "t"),
      flow("f2", "t", "e")), "t", "pas de nom"),
    ((*VALID, '<bpmn:startEvent id="s2" name="Autre début"/>', flow("f3", "s2", "t")),
     "s2", "seul événement de début"),
    ((*VALID, flow("f1b", "s", "t")), "f1b", "double"),
    ((*VALID, '<bpmn:endEvent id="e2" name="Fin 2"/>', flow("f3", "t", "e2")),
     "t", "passerelle"),
])
def test_each_rule_names_its_element(body, element, words):
    found = problems(*body)
    assert any(words in reason for reason in found.get(element, [])), found


def test_gateway_flows_need_conditions_unless_default():
    gateway = ('<bpmn:exclusiveGateway id="g" name="Grave ?"{default}/>',
               '<bpmn:endEvent id="e2" name="Fin 2"/>')
    common = (START, TASK, END, flow("f1", "s", "t"), flow("f2", "t", "g"))
    missing = problems(*common, gateway[0].format(default=""), gateway[1],
                       flow("oui", "g", "e"), flow("non", "g", "e2"))
    assert set(missing) == {"oui", "non"}
    fine = problems(*common, gateway[0].format(default=' default="non"'), gateway[1],
                    flow("oui", "g", "e", "grave", name="Oui"), flow("non", "g", "e2"))
    assert fine == {}
    unnamed = problems(*common, gateway[0].format(default=' default="non"'), gateway[1],
                       flow("oui", "g", "e", "grave"), flow("non", "g", "e2"))
    assert list(unnamed) == ["oui"] and "nom" in unnamed["oui"][0]


def test_a_gateway_that_joins_and_forks_is_refused():
    found = problems(START, TASK, END, '<bpmn:endEvent id="e2" name="Fin 2"/>',
                     '<bpmn:task id="t2" name="Autre"/>',
                     '<bpmn:parallelGateway id="g"/>', '<bpmn:parallelGateway id="split"/>',
                     flow("f0", "s", "split"), flow("a", "split", "t"), flow("b", "split", "t2"),
                     flow("c", "t", "g"), flow("d", "t2", "g"), flow("x", "g", "e"),
                     flow("y", "g", "e2"))
    assert list(found) == ["g"] and "rassemble et sépare" in found["g"][0]
