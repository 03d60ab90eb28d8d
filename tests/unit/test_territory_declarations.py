"""Diagrams read their territory's partners, they never name them: no bundled diagram keeps
a « Paramètres du territoire » script or a demo organisation; every partner a process reads
(`organisation_<SLOT>`) is declared as a data input of that process, or set by a script of
the process from declared ones; a declared partner unknown to Relais is refused at deploy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from engine.runtime import loader
from engine.runtime.errors import ModelRejected
from engine.territory.slots import SLOTS

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
FORMS = Path(__file__).resolve().parents[2] / "forms"
DIAGRAMS = sorted(WORKFLOWS.glob("*/*.bpmn"))
NS = {"bpmn": loader.BPMN_NS}
VARIABLE = re.compile(r"\borganisation_([A-Z][A-Z_]*)\b")
ASSIGNED = re.compile(r"^\s*organisation_([A-Z][A-Z_]*)\s*=", re.M)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_no_diagram_names_a_partner_organisation(path: Path):
    text = path.read_text(encoding="utf-8")
    assert "-demo'" not in text and "Paramètres du territoire" not in text


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_partner_a_process_reads_is_declared(path: Path):
    root = etree.fromstring(path.read_bytes())
    for process in root.iterfind("bpmn:process", NS):
        declared = {d.get("name")[len("organisation_"):]
                    for d in process.iterfind("bpmn:ioSpecification/bpmn:dataInput", NS)}
        assert declared <= set(SLOTS)
        text = etree.tostring(process, encoding="unicode")
        scripts = "\n".join(s.text or "" for s in process.iterfind(".//bpmn:script", NS))
        read = set(VARIABLE.findall(text)) - set(ASSIGNED.findall(scripts))
        assert read <= declared, (process.get("id"), sorted(read - declared))


BLANK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="http://relais.local/bpmn">
  <bpmn:process id="essai_partenaire" name="Essai" isExecutable="true">
    <bpmn:ioSpecification id="io">
      <bpmn:dataInput id="p1" name="organisation_{slot}"/>
      <bpmn:inputSet><bpmn:dataInputRefs>p1</bpmn:dataInputRefs></bpmn:inputSet>
      <bpmn:outputSet/>
    </bpmn:ioSpecification>
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="IS"><bpmn:flowNodeRef>debut</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>fin</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="debut" name="Début"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f" sourceRef="debut" targetRef="fin"/>
    <bpmn:endEvent id="fin" name="Fin"><bpmn:incoming>f</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_declared_partner_unknown_to_relais_is_refused_at_deploy():
    with pytest.raises(ModelRejected) as rejected:
        loader.load_model({"essai.bpmn": BLANK.format(slot="BANQUE").encode()}, FORMS)
    messages = " ".join(p.reason for p in rejected.value.problems)
    assert "« BANQUE » n'existe pas" in messages
    model = loader.load_model({"essai.bpmn": BLANK.format(slot="CRIP").encode()}, FORMS)
    [data_input] = model.specs["essai_partenaire"].io_specification.data_inputs
    assert data_input.bpmn_name == "organisation_CRIP"
