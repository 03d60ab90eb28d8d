"""The bundled protocol diagrams (`workflows/*/*.bpmn`): deployable, fully drawn (diagram
interchange for every participant, lane, flow node, sequence flow, message flow and
annotation, without overlapping shapes), in French, and consistent with their forms and
document templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

import forms
from engine.documents import render
from engine.identity.roles import is_known_role
from engine.runtime import loader

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
DIAGRAMS = sorted(WORKFLOWS.glob("*/*.bpmn"))
PROCESS_IDS = {"violence_conjugale", "cmp_binome", "itp_synthese", "convocation_mineurs",
               "fiche_liaison", "orientation_is", "requisition_judiciaire"}
NS = {"bpmn": loader.BPMN_NS, "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI", "spiffworkflow": loader.SPIFF_NS}
STANDARD_VALUES = {"reference", "date_document", "organisation_expediteur",
                   "organisation_destinataire", "finalite", "consentement_du", "fondement"}
EXPORT_VALUES = {"nombre_fiches", "premiere_fiche", "derniere_fiche", "sommaire"}


def _root(path: Path) -> etree._Element:
    return etree.fromstring(path.read_bytes())


def _ids(root: etree._Element, xpath: str) -> set[str]:
    return {e.get("id") for e in root.iterfind(xpath, NS)}


def _flow_nodes(root: etree._Element) -> dict[str, etree._Element]:
    return {e.get("id"): e for process in root.iterfind("bpmn:process", NS) for e in process
            if etree.QName(e).localname in loader.FLOW_NODES}


def _bounds(shape: etree._Element) -> tuple[float, float, float, float]:
    box = shape.find("dc:Bounds", NS)
    assert box is not None, shape.get("bpmnElement")
    return tuple(float(box.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def test_the_protocols_of_the_contract_are_bundled():
    found = {p.stem for p in DIAGRAMS}
    assert found == PROCESS_IDS
    for path in DIAGRAMS:
        assert path.parent.name == path.stem
        assert (path.parent / "README.md").is_file()


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_each_diagram_deploys(path: Path):
    model = loader.load_model({path.name: path.read_bytes()}, forms.FORMS_DIR)
    assert path.stem in model.process_ids
    for roles in model.roles.values():
        assert roles and all(is_known_role(r) for r in roles)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_element_has_its_diagram_interchange(path: Path):
    root = _root(path)
    shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    drawn = (set(_flow_nodes(root)) | _ids(root, ".//bpmn:lane") | _ids(root, ".//bpmn:participant")
             | _ids(root, ".//bpmn:textAnnotation"))
    assert drawn - set(shapes) == set(), "éléments sans forme (BPMNShape)"
    linked = (_ids(root, ".//bpmn:sequenceFlow") | _ids(root, ".//bpmn:messageFlow")
              | _ids(root, ".//bpmn:association"))
    assert linked - set(edges) == set(), "liens sans tracé (BPMNEdge)"
    for element_id in drawn:
        _x, _y, w, h = _bounds(shapes[element_id])
        assert w > 0 and h > 0
    for element_id in linked:
        assert len(edges[element_id].findall("di:waypoint", NS)) >= 2
    plane = root.find(".//bpmndi:BPMNPlane", NS)
    assert plane is not None and plane.get("bpmnElement") in _ids(root, "bpmn:collaboration")


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_shapes_sit_in_their_lane_without_overlapping(path: Path):
    root = _root(path)
    shapes = {s.get("bpmnElement"): _bounds(s) for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    nodes = _flow_nodes(root)
    boundary = {n for n, e in nodes.items() if etree.QName(e).localname == "boundaryEvent"}
    placed = sorted(n for n in nodes if n not in boundary)
    for i, first in enumerate(placed):
        ax, ay, aw, ah = shapes[first]
        for second in placed[i + 1:]:
            bx, by, bw, bh = shapes[second]
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, \
                f"{first} et {second} se chevauchent"
    for lane in root.iterfind(".//bpmn:lane", NS):
        lx, ly, lw, lh = shapes[lane.get("id")]
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text in boundary:
                continue
            x, y, w, h = shapes[ref.text]
            assert lx <= x and x + w <= lx + lw and ly <= y and y + h <= ly + lh, \
                f"{ref.text} déborde de son couloir {lane.get('name')}"


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_labels_are_french_and_lanes_name_roles(path: Path):
    root = _root(path)
    for node_id, element in _flow_nodes(root).items():
        name = element.get("name") or ""
        assert name.strip(), f"{node_id} sans libellé"
        assert not re.search(r"\b(task|gateway|start|end|event)\b", name, re.I), name
    for lane in root.iterfind(".//bpmn:lane", NS):
        assert is_known_role(lane.get("name") or "")
        assert (lane.findtext("bpmn:documentation", namespaces=NS) or "").strip()
    for participant in root.iterfind(".//bpmn:participant", NS):
        assert (participant.get("name") or "").strip()


def _parameters(task: etree._Element) -> dict[str, str]:
    operator = task.find(".//spiffworkflow:serviceTaskOperator", NS)
    return {p.get("id"): p.get("value") for p in
            operator.iterfind(".//spiffworkflow:parameter", NS)} if operator is not None else {}


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_documents_show_only_fields_their_protocol_fills(path: Path):
    root = _root(path)
    for process in root.iterfind("bpmn:process", NS):
        fields: set[str] = set()
        for prop in process.iterfind(".//spiffworkflow:property", NS):
            if prop.get("name") == "formJsonSchemaFilename":
                fields |= set(forms.load(prop.get("value")).properties)
        for task in process.iterfind("bpmn:serviceTask", NS):
            template = _parameters(task).get("template")
            if not template:
                continue
            content = render.load_template(template.strip("'")).content
            unknown = render.placeholders(content) - fields - STANDARD_VALUES - EXPORT_VALUES
            assert unknown == set(), f"{template} : {sorted(unknown)}"


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_the_readme_lists_every_transmission(path: Path):
    readme = (path.parent / "README.md").read_text(encoding="utf-8")
    root = _root(path)
    for task in root.iterfind(".//bpmn:serviceTask", NS):
        params = _parameters(task)
        if "purpose" in params:
            assert params["purpose"].strip("'") in readme, task.get("id")
            assert task.get("name") in readme, task.get("id")
