"""What the consent tests share: extra organisations and users covering every role, legal-basis
records, and diagrams that transmit on a legal basis.

`legal_diagram(...)` writes a one-lane diagram: the lane's professional fills the standard
legal-basis form (`forms/base_legale.json`, `prefill.legal_basis` fixed by the diagram), then
— optionally — `relais/invoke_legal_basis` checks it early, then `relais/transmit_document`
sends `fixtures/templates/note_base_legale.docx` with `legal_basis_record=record_base_legale`.
"""

from __future__ import annotations

from typing import Any

from routing_support import principal

from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.db import Database, transaction
from engine.identity import service as identity
from engine.identity.models import OrganisationKind
from engine.runtime import service as runtime

# username → (organisation slug, role) of every demo user, plus the test users below.
AUTHORS = {
    "demo-is": ("asso-iscg-demo", "IS"),
    "demo-asso": ("asso-victimes-demo", "ASSOCIATION"),
    "demo-itp": ("cd-demo", "CG_ITP"),
    "demo-cmp": ("cmp-demo", "CMP"),
    "demo-police": ("commissariat-demo", "POLICE"),
    "demo-dpp": ("commissariat-demo", "DPP"),
    "t-social": ("cd-demo", "CG_SOCIAL"),
    "t-psy": ("asso-iscg-demo", "PSYCHOLOGUE"),
    "t-gend": ("brigade-test", "GENDARMERIE"),
}
# A second professional per organisation, holding a reviewer role of `requisition_60_1`:
# a legal review is answered by another person than the one who invoked the basis.
REVIEWERS = {"asso-iscg-demo": "t-relecteur-iscg", "asso-victimes-demo": "t-relecteur-asso",
             "cd-demo": "t-relecteur-cd", "cmp-demo": "t-relecteur-cmp"}
REVIEWER_ROLES = {"asso-iscg-demo": "IS", "asso-victimes-demo": "ASSOCIATION",
                  "cd-demo": "CG_SOCIAL", "cmp-demo": "CMP"}
EXTRA_ORGANISATIONS = (("brigade-test", "Brigade de gendarmerie (essai)",
                        OrganisationKind.GENDARMERIE),
                       ("mairie-test", "Mairie (essai) — CDDF", OrganisationKind.COMMUNE),
                       ("ccas-test", "CCAS (essai)", OrganisationKind.CCAS),
                       ("asso-test", "Association sans agrément (essai)",
                        OrganisationKind.ASSOCIATION))
PASSWORD = "mot-de-passe-essai-2026"


def add_test_territory(db: Database) -> None:
    """Organisations and users of every kind and role, whatever the demo territory holds:
    a commune, a gendarmerie unit, a CCAS, an association with no flag; CG_SOCIAL,
    PSYCHOLOGUE and GENDARMERIE users; a second reviewer per organisation (`REVIEWERS`)."""
    with transaction(db) as uow:
        for slug, name, kind in EXTRA_ORGANISATIONS:
            if identity.find_organisation(uow, slug) is None:
                identity.create_organisation(uow, SYSTEM, slug=slug, name=name, kind=kind)
        for username, (slug, role) in AUTHORS.items():
            if not username.startswith("t-"):
                continue
            user = identity.find_user(uow, username) or identity.create_user(
                uow, SYSTEM, username=username, display_name=username, password=PASSWORD)
            identity.grant_role(uow, SYSTEM, user, identity.get_organisation(uow, slug), role)
        for slug, username in REVIEWERS.items():
            if identity.find_user(uow, username) is None:
                user = identity.create_user(uow, SYSTEM, username=username,
                                            display_name=username, password=PASSWORD)
                identity.grant_role(uow, SYSTEM, user, identity.get_organisation(uow, slug),
                                    REVIEWER_ROLES[slug])


def open_case(db: Database, username: str) -> int:
    """A new case held by `username`'s organisation."""
    with transaction(db) as uow:
        who = principal(uow, username)
        org = identity.get_organisation(uow, AUTHORS[username][0])
        return cases.open_case(uow, who, org.id).id


def invoke(db: Database, username: str, case_id: int, legal_basis: str, *,
           justification: str = "Danger immédiat constaté lors de l'entretien.",
           information: str = "informed", reason: str | None = None,
           organisation: str | None = None) -> int:
    """Store a `base_legale.json` submission by `username` (as a form task would): its id."""
    payload: dict[str, Any] = {"legal_basis": legal_basis, "justification": justification,
                               "information": information}
    if reason is not None:
        payload["information_reason"] = reason
    with transaction(db) as uow:
        who = principal(uow, username)
        org = identity.get_organisation(uow, organisation or AUTHORS[username][0])
        record = cases.store_record(uow, who.actor, cases.get_case(uow, case_id), kind="form",
                                    payload=payload, categories={"SOC"},
                                    organisation_id=org.id, form="base_legale.json")
        return record.id


def legal_diagram(process_id: str, lane: str, basis: str, recipient: str,
                  categories: list[str], purpose: str = "information_preoccupante", *,
                  invoke_first: bool = False) -> bytes:
    invoke_task = """
    <bpmn:serviceTask id="invoquer" name="Vérifier la base légale">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="relais/invoke_legal_basis"
            resultVariable="invocation">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="record" type="int" value="record_base_legale"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f2b</bpmn:outgoing>
    </bpmn:serviceTask>""" if invoke_first else ""
    second = "f2b" if invoke_first else "f2"
    flows = ('<bpmn:sequenceFlow id="f2" sourceRef="base_legale" targetRef="invoquer"/>'
             '<bpmn:sequenceFlow id="f2b" sourceRef="invoquer" targetRef="transmettre"/>'
             if invoke_first else
             '<bpmn:sequenceFlow id="f2" sourceRef="base_legale" targetRef="transmettre"/>')
    nodes = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in
                    ["start", "base_legale", *(["invoquer"] if invoke_first else []),
                     "transmettre", "end"])
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="Definitions_{process_id}" targetNamespace="http://relais.test/bpmn">
  <bpmn:process id="{process_id}" name="Transmission sur base légale (essai)" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_1" name="{lane}">{nodes}</bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="base_legale" name="Invoquer une base légale">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="base_legale.json"/>
        <spiffworkflow:property name="prefill.legal_basis" value="'{basis}'"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>{invoke_task}
    <bpmn:serviceTask id="transmettre" name="Transmettre">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="relais/transmit_document"
            resultVariable="transmission">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="template" type="str" value="'note_base_legale.docx'"/>
            <spiffworkflow:parameter id="recipient" type="str" value="'{recipient}'"/>
            <spiffworkflow:parameter id="purpose" type="str" value="'{purpose}'"/>
            <spiffworkflow:parameter id="categories" type="list" value="{categories!r}"/>
            <spiffworkflow:parameter id="legal_basis_record" type="int" value="record_base_legale"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>{second}</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="base_legale"/>
    {flows}
    <bpmn:sequenceFlow id="f3" sourceRef="transmettre" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def deploy_diagram(db: Database, name: str, content: bytes) -> None:
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {name: content}, source="cli")


def start_and_fill(db: Database, process_id: str, username: str,
                   data: dict[str, Any]) -> tuple[int, int]:
    """Start `process_id` as `username` and submit `data` in its first task: (instance, case)."""
    with transaction(db) as uow:
        who = principal(uow, username)
        instance = runtime.start_instance(uow, who, process_id)
        instance_id, case_id = instance.id, instance.case_id
    with transaction(db) as uow:
        who = principal(uow, username)
        [task] = [t for t in runtime.ready_tasks(uow, who) if t.instance_id == instance_id]
        runtime.complete_task(uow, who, task.id, data)
    return instance_id, case_id
