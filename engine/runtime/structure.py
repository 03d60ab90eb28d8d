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

# Flow nodes that legitimately have no incoming flow / no outgoing flow.
_NO_INCOMING = frozenset({"startEvent", "boundaryEvent"})
_NO_OUTGOING = frozenset({"endEvent"})
_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway",
                       "eventBasedGateway"})
_UNLABELLED = frozenset({"parallelGateway", "eventBasedGateway", "subProcess", "transaction"})


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
    blank_starts = [n for n in nodes if _local(n) == "startEvent" and not _definitions(n)]
    for extra in blank_starts[1:]:
        yield problem(file, extra, "un seul événement de début simple par processus : "
                                   "supprimez celui-ci ou donnez-lui un déclencheur")
    incoming: dict[str, int] = {}
    outgoing: dict[str, list[etree._Element]] = {}
    seen: set[tuple[str | None, str | None, str]] = set()
    for flow in flows:
        incoming[flow.get("targetRef") or ""] = incoming.get(flow.get("targetRef") or "", 0) + 1
        outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
        key = (flow.get("sourceRef"), flow.get("targetRef"), _condition(flow))
        if key in seen:
            yield problem(file, flow, "ce flux double un autre flux entre les mêmes éléments : "
                                      "supprimez-le")
        seen.add(key)
        if _condition(flow) and not (flow.get("name") or "").strip():
            yield problem(file, flow, "ce flux conditionnel n'a pas de nom : nommez-le d'après "
                                      "sa condition (par exemple « Oui », « Grave »)")
    for node in nodes:
        node_id = node.get("id") or ""
        yield from _node_problems(file, node, incoming.get(node_id, 0),
                                  outgoing.get(node_id, []), event_subprocess)


def _node_problems(file: str, node: etree._Element, incoming: int,
                   out: list[etree._Element], in_event_subprocess: bool) -> Iterator[Problem]:
    kind = _local(node)
    has_incoming = incoming > 0
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
    yield from _shape_problems(file, node, kind, incoming, out)
    if kind == "userTask" and not _has_form(node):
        yield problem(file, node, "cette tâche utilisateur n'a pas de formulaire : choisissez "
                                  "le formulaire que la personne remplira")
    if kind in CONDITIONAL_GATEWAYS and len(out) > 1:
        default = node.get("default")
        for flow in out:
            if flow.get("id") != default and not _condition(flow):
                yield problem(file, flow, "ce flux sortant d'une passerelle n'a pas de "
                                          "condition : ajoutez-en une, ou faites-en le flux "
                                          "par défaut de la passerelle")


def _shape_problems(file: str, node: etree._Element, kind: str, incoming: int,
                    out: list[etree._Element]) -> Iterator[Problem]:
    """Names, implicit splits, gateways that both join and fork (bpmnlint's errors)."""
    forking = len(out) > 1
    gateway = kind in _GATEWAYS
    if kind not in _UNLABELLED and (forking or not gateway) \
            and not (node.get("name") or "").strip():
        yield problem(file, node, "cet élément n'a pas de nom : donnez-lui un nom que les "
                                  "professionnels comprendront")
    if not gateway:
        default = node.get("default")
        plain = [f for f in out if not _condition(f) and f.get("id") != default]
        if len(plain) > 1:
            yield problem(file, node, "plusieurs flux sans condition partent de cet élément : "
                                      "placez une passerelle pour dire s'ils partent tous "
                                      "(parallèle) ou lequel choisir (exclusive)")
    elif incoming > 1 and forking:
        yield problem(file, node, "cette passerelle à la fois rassemble et sépare des flux : "
                                  "utilisez deux passerelles, l'une après l'autre")


def _definitions(event: etree._Element) -> list[etree._Element]:
    return [c for c in event if isinstance(c.tag, str)
            and _local(c).endswith("EventDefinition")]


def _condition(flow: etree._Element) -> str:
    condition = flow.find("bpmn:conditionExpression", NS)
    return "" if condition is None else (condition.text or "").strip() or " "


def _has_form(task: etree._Element) -> bool:
    path = "bpmn:extensionElements/spiffworkflow:properties//spiffworkflow:property"
    return any(p.get("name") == "formJsonSchemaFilename" and (p.get("value") or "").strip()
               for p in task.iterfind(path, NS))
