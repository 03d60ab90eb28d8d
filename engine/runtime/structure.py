"""Structural rules a diagram must meet before it is published from the modeler.

The modeler's linter (bpmnlint) flags these as errors in the browser; the server checks
them again so that publishing never depends on the browser: a blank or incomplete diagram
(no end event, an element not connected, a user task without form, a gateway whose
outgoing flows have no condition…) is refused, element by element, in French.

They complement `engine.runtime.rules` (roles, forms, connectors, expressions), which
`loader.load_model` applies to every deployment.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from lxml import etree

from engine.runtime.errors import Problem
from engine.runtime.problems import problem
from engine.runtime.vocabulary import CONDITIONAL_GATEWAYS, FLOW_NODES, NS

_SCOPES = frozenset({"process", "subProcess", "transaction"})
# Flow nodes that legitimately have no incoming flow / no outgoing flow.
_NO_INCOMING = frozenset({"startEvent", "boundaryEvent"})
_NO_OUTGOING = frozenset({"endEvent"})


def structural_problems(executable: Mapping[str, tuple[str, etree._Element]]) -> list[Problem]:
    """Every structural problem of the executable processes, in document order."""
    found: list[Problem] = []
    for file, process in executable.values():
        found.extend(_scope_problems(file, process))
        for scope in process.iterfind(".//bpmn:subProcess", NS):
            found.extend(_scope_problems(file, scope))
        for scope in process.iterfind(".//bpmn:transaction", NS):
            found.extend(_scope_problems(file, scope))
    return found


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _scope_problems(file: str, scope: etree._Element) -> Iterator[Problem]:
    """The rules inside one process or sub-process (its direct children only)."""
    nodes = [c for c in scope if isinstance(c.tag, str) and _local(c) in FLOW_NODES]
    flows = scope.findall("bpmn:sequenceFlow", NS)
    event_subprocess = scope.get("triggeredByEvent") == "true"
    kinds = {_local(n) for n in nodes}
    is_process = _local(scope) == "process"
    if "startEvent" not in kinds:
        yield problem(file, scope, ("ce processus" if is_process else "ce sous-processus")
                      + " n'a pas d'événement de début : ajoutez-en un pour qu'il puisse "
                        "démarrer")
    if "endEvent" not in kinds and not event_subprocess:
        yield problem(file, scope, ("ce processus" if is_process else "ce sous-processus")
                      + " n'a pas d'événement de fin : ajoutez-en un au bout du chemin")
    incoming = {f.get("targetRef") for f in flows}
    outgoing: dict[str, list[etree._Element]] = {}
    for flow in flows:
        outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
    for node in nodes:
        yield from _node_problems(file, node, node.get("id") in incoming,
                                  outgoing.get(node.get("id") or "", []), event_subprocess)


def _node_problems(file: str, node: etree._Element, has_incoming: bool,
                   out: list[etree._Element], in_event_subprocess: bool) -> Iterator[Problem]:
    kind = _local(node)
    compensation = node.get("isForCompensation") == "true"
    event_subprocess = kind == "subProcess" and node.get("triggeredByEvent") == "true"
    link = node.find("bpmn:linkEventDefinition", NS) is not None
    if event_subprocess or compensation:
        return
    if link:  # a link event continues the flow elsewhere on the page: no flow to draw
        has_incoming = has_incoming or kind == "intermediateCatchEvent"
        out = out or ([node] if kind == "intermediateThrowEvent" else [])
    if not has_incoming and kind not in _NO_INCOMING:
        yield problem(file, node, "cet élément n'est relié à aucun flux entrant : il ne serait "
                                  "jamais atteint ; reliez-le à l'étape qui le précède")
    if not out and kind not in _NO_OUTGOING and not in_event_subprocess:
        yield problem(file, node, "cet élément n'a pas de flux sortant : reliez-le à l'étape "
                                  "suivante ou à un événement de fin")
    if kind == "userTask" and not _has_form(node):
        yield problem(file, node, "cette tâche utilisateur n'a pas de formulaire : choisissez "
                                  "le formulaire que la personne remplira")
    if kind in CONDITIONAL_GATEWAYS and len(out) > 1:
        default = node.get("default")
        for flow in out:
            if flow.get("id") != default and flow.find("bpmn:conditionExpression", NS) is None:
                yield problem(file, flow, "ce flux sortant d'une passerelle n'a pas de "
                                          "condition : ajoutez-en une, ou faites-en le flux "
                                          "par défaut de la passerelle")


def _has_form(task: etree._Element) -> bool:
    path = "bpmn:extensionElements/spiffworkflow:properties//spiffworkflow:property"
    return any(p.get("name") == "formJsonSchemaFilename" and (p.get("value") or "").strip()
               for p in task.iterfind(path, NS))
